# Checks of the reference data (policies/reference/data.json): the shape every
# dated entry must have, and the properties lib.current relies on.
package sovereign.lib.reference_test

import data.reference
import data.sovereign.fixtures_test as fx
import data.sovereign.lib

# Every list of versions in the reference data.
version_lists[name] := group.versions if some name, group in reference.groups

version_lists["gdpr.adequacy"] := reference.gdpr.adequacy.versions

# Every dated entry, by a name for messages.
entries["gdpr.adequacy"] := reference.gdpr.adequacy

entries[name] := e if some name, e in reference.groups

entries[name] := e if {
	some g, group in reference.groups
	some i, e in group.versions
	name := sprintf("%s.versions[%d]", [g, i])
}

entries[name] := e if {
	some i, e in reference.gdpr.adequacy.versions
	name := sprintf("gdpr.adequacy.versions[%d]", [i])
}

entries[name] := e if {
	some k, e in reference.gdpr.data_categories
	name := sprintf("gdpr.data_categories.%s", [k])
}

# The transfer tools and derogation grounds of every period of the EU, UK and
# Swiss regimes.
entries[name] := e if {
	some r in ["gdpr", "uk_gdpr", "ch_fadp"]
	some i, v in reference[r].versions
	some table in ["transfer_tools", "derogations"]
	some k, e in object.get(v, table, {})
	name := sprintf("%s.versions[%d].%s.%s", [r, i, table, k])
}

date(s) if regex.match(`^\d{4}-\d{2}-\d{2}$`, s)

day_after(d) := time.format([time.add_date(time.parse_ns("2006-01-02", d), 0, 0, 1), "UTC", "2006-01-02"])

bad_entries contains name if {
	some name, e in entries
	not good_entry(e)
}

good_entry(e) if {
	count(e.source) > 0
	date(e.valid_from)
	e.valid_until == null
}

good_entry(e) if {
	count(e.source) > 0
	date(e.valid_from)
	date(e.valid_until)
	e.valid_from <= e.valid_until
}

test_entries_are_dated_and_sourced if {
	count(entries) > 40
	count(bad_entries) == 0
}

# Versions are sorted and contiguous, the last one may be open, and all lie within
# the dates of the list they belong to.
gaps contains [name, i] if {
	some name, vs in version_lists
	some i, v in vs
	i > 0
	v.valid_from != day_after(vs[i - 1].valid_until)
}

gaps contains [name, "open version before the last"] if {
	some name, vs in version_lists
	some i, v in vs
	i < count(vs) - 1
	v.valid_until == null
}

test_versions_are_contiguous if {
	count(version_lists) == 4
	count(gaps) == 0
}

test_versions_lie_within_their_list if {
	every _, group in reference.groups {
		group.versions[0].valid_from >= group.valid_from
		group.valid_until == null
	}
	reference.gdpr.adequacy.versions[0].valid_from >= reference.gdpr.adequacy.valid_from
	reference.gdpr.adequacy.valid_until == null
}

test_member_codes_are_iso_alpha2 if {
	every _, group in reference.groups {
		every v in group.versions {
			every c, _ in v.members {
				regex.match(`^[A-Z]{2}$`, c)
			}
		}
	}
	every v in reference.gdpr.adequacy.versions {
		every c, _ in v.countries {
			regex.match(`^[A-Z]{2}$`, c)
		}
	}
}

test_adequacy_list_today if {
	list := lib.current(reference.gdpr.adequacy.versions).countries with input as {"time": fx.now}
	object.keys(list) == {"AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY"}
	list.US.scope == {"recipient_certification": "EU-US-DPF"}
	list.CA.scope == {"recipient_sectors": ["commercial"]}
	list.CH.scope == {}
}

# on(d) is the set of countries on the EU adequacy list on date d.
on(d) := cs if {
	cs := object.keys(lib.current(reference.gdpr.adequacy.versions).countries) with input as {"time": sprintf("%sT12:00:00Z", [d])}
}

test_adequacy_list_dates if {
	not "BR" in on("2026-01-25")
	"BR" in on("2026-01-26")
	"GB" in on("2031-12-27")
	not "GB" in on("2031-12-28")
	"US" in on("2020-07-15") # Privacy Shield
	not "US" in on("2020-07-16") # Schrems II
	not "US" in on("2023-07-09")
	"US" in on("2023-07-10") # Data Privacy Framework
}

# The GDPR scope test treats "EU" as a group with EEA members without resolving
# it. It is, at every change of either list - and since Croatia joined the EEA
# on 12 April 2014 every EU member is an EEA member.
change_dates := {v.valid_from |
	some g in ["EU", "EEA"]
	some v in reference.groups[g].versions
	v.valid_from >= "1994-01-01"
}

members_on(g, d) := object.keys(ms) if {
	ms := lib.members(g) with input as {"time": sprintf("%sT00:00:00Z", [d])}
}

test_eu_members_are_eea_members if {
	count(change_dates) > 10
	every d in change_dates {
		count(members_on("EU", d) & members_on("EEA", d)) > 0
	}
	every d in {d | some d in change_dates; d >= "2014-04-12"} {
		count(members_on("EU", d) - members_on("EEA", d)) == 0
	}
}

# --- the modelled period ----------------------------------------------------------

test_floor_is_dated_and_sourced if {
	f := reference.modelled_from
	date(f.date)
	f.valid_from == f.date
	f.valid_until == null
	count(f.source) > 0
	count(f.note) > 0
}

# Every regime: its reference entry and the key its periods are under.
regime_periods[name] := reference[name].versions if some name in ["gdpr", "uk_gdpr", "ch_fadp"]

regime_periods[name] := r.versions if some name, r in reference.regimes

statuses := {"modelled", "not_in_force", "not_modelled"}

# period_problems: a regime whose periods do not start on or before the floor,
# leave a gap, end before an open last period, or lack a status or a source.
period_problems contains [name, "starts after the floor"] if {
	some name, vs in regime_periods
	vs[0].valid_from > reference.modelled_from.date
}

period_problems contains [name, i] if {
	some name, vs in regime_periods
	some i, v in vs
	i > 0
	v.valid_from != day_after(vs[i - 1].valid_until)
}

period_problems contains [name, "last period not open"] if {
	some name, vs in regime_periods
	vs[count(vs) - 1].valid_until != null
}

period_problems contains [name, i] if {
	some name, vs in regime_periods
	some i, v in vs
	not good_period(v)
}

good_period(v) if {
	v.status in statuses
	good_entry(v)
}

test_every_regime_is_covered_from_the_floor_without_a_gap if {
	count(regime_periods) == 14
	count(period_problems) == 0
}

# A modelled period of the adequacy-style regimes names its rule set and tools.
test_adequacy_regime_periods_name_their_tools if {
	every name in ["gdpr", "uk_gdpr", "ch_fadp"] {
		every v in reference[name].versions {
			tooled(v)
		}
	}
}

tooled(v) if v.status == "not_in_force"

tooled(v) if {
	is_object(v.transfer_tools)
	is_object(v.derogations)
	count(v.id) > 0
}

test_treated_as_home_entries_are_dated_and_sourced if {
	count(reference.gdpr.treated_as_home) == 2
	every e in reference.gdpr.treated_as_home {
		good_entry(e)
		regex.match(`^[A-Z]{2}$`, e.country)
		count(e.roles) > 0
	}
}

test_predecessor_dates if {
	[v.id | some v in reference.gdpr.versions] == ["dir95", "gdpr"]
	reference.gdpr.versions[0].valid_until == "2018-05-24"
	[v.id | some v in reference.ch_fadp.versions] == ["fadp1992", "fadp"]
	reference.ch_fadp.versions[0].valid_until == "2023-08-31"
	reference.uk_gdpr.versions[0].status == "not_in_force"
	reference.uk_gdpr.versions[1].valid_from == "2021-01-01"
}
