# METADATA
# title: Adequacy-style transfer regimes (EU, UK GDPR, Swiss FADP)
# description: >-
#   Shared evaluation of an exporting regime that has a home area (its own
#   countries, the groups it treats as adequate, jurisdictions treated as home for
#   a time), an adequacy list of dated versions with scope qualifiers, and periods
#   (Directive 95/46/EC then the GDPR; EU law then the UK GDPR; FADP 1992 then
#   FADP 2020), each with its transfer tools and derogation grounds. Data in scope
#   may reach a country only on an affirmative ground - inside the area, an
#   adequacy decision in force whose scope the recipient meets, a valid transfer
#   tool (transfers only), or the regime not being in force; every other country
#   it reaches is a gap, refused by the regime package with its own rule ids. The
#   regime packages (gdpr, ukgdpr, chfadp) name the regime's key in
#   data.reference; each function takes the key, so OPA computes it once per query.
package sovereign.lib.transfers

import data.sovereign.lib

cfg(r) := data.reference[r]

# period(r) is the regime's period on the decision date (undefined before the floor).
period(r) := lib.period(cfg(r).versions)

# ---------------------------------------------------------------------------
# The regime's area and its data subjects, on the decision date.

# treated(r, role) are the jurisdictions the regime treats as home for a role
# ("zone": data may go there; "subjects": their data subjects are in scope).
treated(r, role) := {e.country |
	some e in cfg(r).treated_as_home
	role in e.roles
	lib.in_force(e)
}

# zone(r) are the countries data may reach without a tool.
zone(r) := ({c | some c in cfg(r).home} | {c | some g in cfg(r).adequate_groups; some c, _ in lib.members(g)}) | treated(r, "zone")

# subjects(r) are the jurisdictions whose data subjects the regime protects.
subjects(r) := ({c | some c in cfg(r).home} | {c | some g in cfg(r).subject_groups; some c, _ in lib.members(g)}) | treated(r, "subjects")

# scoped(r): the datasets (by index) the regime governs, with why - personal data
# of its data subjects (named directly or through a group), or collected in its
# area (the origin counts even when subjects are named elsewhere: the data is
# held under the regime's law).
scoped(r) := {i: why |
	some i, d in input.datasets
	lib.personal(d)
	why := scope_reason(r, d)
}

scope_reason(r, d) := sprintf("personal data of data subjects in %s", [lib.join(js)]) if {
	js := {j | some j in d.subject_jurisdictions; touches(r, j)}
	count(js) > 0
} else := sprintf("personal data collected in %s", [d.origin_country]) if {
	subjects(r)[d.origin_country]
}

touches(r, j) if subjects(r)[j]

touches(r, j) if {
	not subjects(r)[j]
	lib.groups[j]
	count(object.keys(lib.members(j)) & subjects(r)) > 0
}

# ---------------------------------------------------------------------------
# Adequacy: the version of the regime's list in force, keyed by country.

adequacy(r) := lib.current(cfg(r).adequacy.versions).countries if {
	cfg(r).adequacy
} else := {}

# unmet(r, c, id, i): the scope qualifiers of c's adequacy entry that target site
# id and dataset index i do not meet; {"no decision"} when c is not listed. A
# qualifier without a clause here is never met, so a decision carrying it covers
# no one. (Sites and datasets are passed by id and index: OPA hashes a function's
# arguments for its cache, and scalars hash cheaply.)
unmet(r, c, id, i) := {q | some q, v in adequacy(r)[c].scope; not met(q, v, site, d)} if {
	adequacy(r)[c]
	site := lib.targets[id]
	d := input.datasets[i]
} else := {"no decision"}

met("recipient_certification", value, site, _) if lib.holds(site, value, [])

met("recipient_sectors", value, site, _) if lib.sector(site) in value

met("excluded_categories", value, _, d) if not lib.has_category(d, value)

# ---------------------------------------------------------------------------
# What each dataset in scope reaches at each target site, and on which ground.

# status(r) is the request's transfer-mechanism status in the regime's period
# (lib.mechanism_status); "placement" for a placement, which carries none.
status(r) := lib.mechanism_status(p.transfer_tools, p.derogations) if {
	input.kind == "transfer"
	p := period(r)
} else := "placement"

# tool(r) is the transfer tool relied on, when the mechanism status is ok.
tool(r) := lib.mechanism_tool(period(r).transfer_tools) if status(r) == "ok"

# ground(r, c, id, i) is the affirmative ground on which dataset index i may reach
# country c at target site id, as [by, text]; undefined when there is none.
ground(r, c, id, i) := not_in_force_ground(r) if {
	period(r).status == "not_in_force"
} else := zone_ground(c) if {
	zone(r)[c]
} else := adequacy_ground(r, c) if {
	count(unmet(r, c, id, i)) == 0
} else := tool_ground if {
	status(r) == "ok"
}

# The grounds' texts, built once per regime and country (OPA caches a function's
# result per argument within a query).
not_in_force_ground(r) := ["not_in_force", sprintf("%s not in force on %s (%s)", [cfg(r).name, lib.today, period(r).source])]

zone_ground(c) := ["zone", sprintf("%s is within the regime's area", [c])]

adequacy_ground(r, c) := ["adequacy", sprintf("%s: %s", [c, adequacy(r)[c].decision])]

tool_ground := ["tool", sprintf("transfer tool %s", [lib.mechanism_label])]

# assessments(r): per in-scope dataset index and target site, the grounds of the
# site's own country (location: a list of at most one) and of each other country
# its personnel administer it from (remote access is a transfer; an absent
# personnel list adds none). Every country reached needs a ground.
assessments(r) := {[i, id, a] |
	some i, _ in scoped(r)
	some id, site in lib.targets
	country := lib.country_label(site) # no stated country: no code, so no ground
	a := {
		"country": country,
		"location": [g | g := ground(r, country, id, i)],
		"remote": {p: [g | g := ground(r, p, id, i)] |
			some p in object.get(site, "personnel_countries", [])
			p != country
		},
	}
}

# grounds(r): [dataset index, site, country, [by, text]] for each country reached
# on a ground.
grounds(r) := {[i, id, a.country, a.location[0]] | some [i, id, a] in assessments(r); count(a.location) > 0} | {[i, id, p, gs[0]] |
	some [i, id, a] in assessments(r)
	some p, gs in a.remote
	count(gs) > 0
}

# findings(r): the countries reached without a ground, per dataset and site - one
# finding by location, one listing the remote countries. Each is refused by the
# regime package.
findings(r) := {f |
	some [i, id, a] in assessments(r)
	count(a.location) == 0
	f := {"index": i, "site": id, "dataset": lib.dataset_ids[i], "kind": "location", "countries": [a.country], "gaps": unmet(
		r,
		a.country,
		id,
		i,
	)}
} | {f |
	some [i, id, a] in assessments(r)
	remote := {p | some p, gs in a.remote; count(gs) == 0}
	count(remote) > 0
	f := {"index": i, "site": id, "dataset": lib.dataset_ids[i], "kind": "remote", "countries": sort(remote), "gaps": set()}
}

# exposed(r): per dataset index, the countries outside the area and adequacy it
# reaches - without a ground, or on the transfer tool.
exposed(r) := {i: cs |
	some i, _ in scoped(r)
	cs := {c | some f in findings(r); f.index == i; some c in f.countries} | relied_countries(r, i)
	count(cs) > 0
}

relied_countries(r, i) := {c | some [j, _, c, g] in grounds(r); j == i; g[0] == "tool"}

# relied(r): per dataset index, the countries reached on the transfer tool: the
# tool's obligations are owed for them.
relied(r) := {i: cs |
	some i, _ in scoped(r)
	cs := relied_countries(r, i)
	count(cs) > 0
}

# owed(r): [dataset index, duty] for each duty the tool relied on carries: flags
# of the tool (tia, tra, sa_authorisation, authorisation, safeguards,
# inform_fdpic) and of the derogation ground (inform_sa).
duty_flags := ["tia", "tra", "sa_authorisation", "authorisation", "safeguards", "inform_fdpic"]

owed(r) := {[i, f] |
	t := tool(r)
	some i, _ in relied(r)
	some f in duty_flags
	t[f] == true
} | {[i, "inform_sa"] |
	tool(r).derogation
	lib.mechanism_ground(period(r).derogations).inform_sa
	some i, _ in relied(r)
}

# ground_list(r): the regimes list's grounds of the regime.
ground_list(r) := lib.ground_list({[i, id, g[1]] | some [i, id, _, g] in grounds(r)})

# report(r, scope) is the regime's entry in the decision's regimes list.
report(r, scope) := lib.report(r, cfg(r).name, scope, lib.period_or_null(cfg(r).versions), scoped(r), ground_list(r))
