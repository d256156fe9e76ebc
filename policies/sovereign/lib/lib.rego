# METADATA
# title: Shared helpers of the Sovereign policy library
# description: >-
#   The decision date, the sites a query is about, jurisdiction groups and
#   certifications. Lookups are keyed (a group's members are an object keyed by
#   country code); nothing scans the inventory or the reference data per site.
#
#   Cost model (OPA topdown): a rule reference or a function call inside a per-site
#   loop costs several times more than a lookup in a local variable. Per-site
#   loops therefore bind what they need once (targets := lib.targets,
#   eea := lib.eea, ...) and then only index into local values.
package sovereign.lib

# The decision instant, parsed once per query. Undefined when input.time is absent
# or not RFC 3339: then neither decision is defined and the request fails.
now_ns := time.parse_rfc3339_ns(input.time)

# The decision date in UTC (YYYY-MM-DD). Dated reference entries and certificates
# are compared with it as strings, which orders ISO dates correctly. The contract
# gives input.time in UTC ("...Z"), so the date is its first ten characters;
# any other offset is converted.
today := substring(input.time, 0, 10) if {
	now_ns
	endswith(input.time, "Z")
} else := time.format([now_ns, "UTC", "2006-01-02"])

# The label a site carries to state its operator's sector ("commercial",
# "public", ...). An adequacy decision limited to a sector (Canada's and
# Japan's cover commercial recipients only) covers a site only when the label
# states that sector: an unstated sector is no basis ("unstated" below).
sector_label := "sovereign-engine.io/operator-sector"

# targets are the sites a query is about, keyed by site id: the candidates of a
# placement, the destination of a transfer. A candidate missing from the
# inventory, or without a country, is not a target: the decision packages
# refuse it (inventory.unknown_site / inventory.incomplete_site).
targets := {id: site |
	some id in input.candidates
	site := sites[id]
	is_string(site.country)
} if {
	input.kind == "placement"
	sites := data.inventory.sites
}

targets := {input.to: site |
	site := sites[input.to]
	is_string(site.country)
} if {
	input.kind == "transfer"
	sites := data.inventory.sites
}

# stores holds when the query puts the data at the target site: every placement,
# and every transfer except remote access (where the data stays at the origin).
stores if input.kind == "placement"

stores if {
	input.kind == "transfer"
	not remote_access
}

remote_access if input.type == "remote-access"

# in_force(entry): the dated reference entry applies on the decision date.
# valid_from and valid_until are inclusive dates; a null valid_until is
# open-ended (read as 9999-12-31, after every real date).
in_force(entry) if {
	entry.valid_from <= today
	today <= object.get({null: "9999-12-31"}, entry.valid_until, entry.valid_until)
}

# current(versions) is the entry in force on the decision date of a list of dated
# versions - versions of one list, sorted and contiguous (each starts the day after
# the previous ends; tested). Most queries ask about the present, so the last two
# versions are tried first (a list with a known future end - the UK decision
# ends on 27 Dec 2031 - has a version after the present one); otherwise the last
# one that has started. Undefined when none is in force.
current(versions) := v if {
	v := versions[count(versions) - 1]
	v.valid_from <= today
	v.valid_until == null
} else := v if {
	v := versions[count(versions) - 2]
	v.valid_from <= today
	today <= v.valid_until
} else := v if {
	started := [x | some x in versions; x.valid_from <= today]
	v := started[count(started) - 1]
	in_force(v)
}

# groups are the jurisdiction groups (EU, EEA, EFTA) of the reference data. A
# group's membership is a list of dated versions, one per period in which it did
# not change (each enlargement or withdrawal starts a new one).
groups := data.reference.groups

# members(g) is the membership of group g on the decision date: an object keyed by
# country code, empty when g is no group or no version is in force. (A group's
# versions lie within the group's own dates - tested - so the group entry needs
# no check of its own.) OPA caches a function's result per argument within a
# query, so each group is resolved once.
members(g) := current(groups[g].versions).members if {
	groups[g]
} else := {}

# eea is the EEA's membership on the decision date, keyed by country code.
eea := members("EEA")

# expand(js) is the set of countries a list of countries and group names denotes
# on the decision date. A name that is neither a group nor a country matches no
# site (deny by omission).
expand(js) := union({object.keys(members(j)) | some j in js}) | {j | some j in js; not groups[j]}

# within(c, js): country c is named in js, or belongs to a group named there.
within(c, js) if c in js

within(c, js) if {
	some g in js
	ms := members(g)
	ms[c]
}

# A note on negation, which this library relies on to deny by omission:
# "not x.y" is true when x.y is undefined, but "not f(x.y)" - a call whose
# argument is undefined - is false (OPA evaluates the argument first). Tests of
# a possibly missing field therefore use a plain reference or object.get.

# ---------------------------------------------------------------------------
# The modelled period. data.reference.modelled_from.date is the earliest decision
# date the library models at all: every regime's periods (the `versions` of its
# reference entry) begin on or before it and run without a gap to an open end
# (tested). Before it, nothing is allowed (library.before_modelled_period).

floor_date := data.reference.modelled_from.date

# modelled: the decision date is on or after the floor. Undefined (so "not
# modelled") when the reference data names no floor: nothing is then allowed.
modelled if today >= floor_date

# period(versions) is a regime's period on the decision date: a dated entry with
# a status - modelled (its rules apply), not_in_force (the rule did not exist yet,
# an affirmative fact with its source) or not_modelled (the library does not model
# that period: data in scope is refused). Undefined before the floor, even for a
# regime whose periods reach further back: no regime decides there.
period(versions) := current(versions) if modelled

# period_or_null(versions) is period(versions), or null before the floor (for
# the regimes list, which reports every regime on every date).
period_or_null(versions) := v if {
	v := period(versions)
} else := null

# period_info summarises a period for the decision's regimes list.
period_info(v) := {
	"id": object.get(v, "id", ""), "name": object.get(v, "name", ""), "status": v.status,
	"source": v.source, "valid_from": v.valid_from, "valid_until": v.valid_until,
}

# ---------------------------------------------------------------------------
# The transfer mechanism a request names. Every test of it goes through
# mechanism_status, which is always defined: an absent mechanism, a mechanism
# without a kind, an unknown kind, a derogation without a ground and a derogation
# of unstated frequency are each a status of their own, never a basis.

# mechanism_tool(tools) is the entry of tools (a period's transfer tools) the
# request's mechanism names, when it is in force.
mechanism_tool(tools) := t if {
	t := tools[input.mechanism.kind]
	in_force(t)
}

# mechanism_ground(derogations) is the derogation ground the mechanism names, when
# it is one of derogations and in force.
mechanism_ground(derogations) := g if {
	g := derogations[input.mechanism.derogation]
	in_force(g)
}

one_off if input.frequency == "one-off"

# mechanism_status(tools, derogations): "none" (no mechanism given), "unknown"
# (no kind, or not a tool in force), "unknown_ground" (a derogation naming no
# ground of the period), "not_occasional" (a ground for occasional transfers
# relied on for a transfer not stated one-off) or "ok".
mechanism_status(tools, derogations) := "none" if {
	not input.mechanism
} else := "unknown" if {
	not mechanism_tool(tools)
} else := "ok" if {
	not mechanism_tool(tools).derogation
} else := "unknown_ground" if {
	not mechanism_ground(derogations)
} else := "not_occasional" if {
	mechanism_ground(derogations).occasional
	not one_off
} else := "ok"

mechanism_label := sprintf("%s (%s)", [input.mechanism.kind, input.mechanism.reference]) if {
	input.mechanism.reference
} else := object.get(input, ["mechanism", "kind"], "(no kind)")

default frequency_label := "of unstated frequency (state frequency one-off)"

frequency_label := input.frequency

# ---------------------------------------------------------------------------
# The decision's regimes list: for each regime, the period in force and, for
# each dataset, whether the regime applies and why (or why not), with the
# affirmative grounds that let in-scope data stay at each allowed site.

# report(key, name, scope, v, applies, grounds): applies maps dataset indexes in
# scope to why; scope says what the regime governs, for the others.
report(key, name, scope, v, applies, grounds) := {
	"regime": key, "name": name, "period": period_summary(v),
	"datasets": [e |
		some i, d in input.datasets
		e := applies_entry(dataset_id(d), object.get(applies, i, null), scope)
	],
	"grounds": grounds,
}

period_summary(v) := period_info(v) if is_object(v)

else := {"status": "before_modelled_period", "valid_until": floor_date}

applies_entry(did, null, scope) := {"dataset": did, "applies": false, "why": sprintf("not in scope: the regime governs %s", [scope])}

applies_entry(did, why, _) := {"dataset": did, "applies": true, "why": why} if why != null

# contractual(name, source) is the period of a rule that is not law but the
# dataset's own terms: in force on every date the library models.
contractual(name, source) := {
	"id": "contract", "name": name, "status": "modelled", "source": source,
	"valid_from": floor_date, "valid_until": null,
}

# ground_list turns a set of [dataset index, site, ground] into the regimes
# list's grounds: one entry per ground (sorted by site, dataset, ground).
ground_list(gs) := [e |
	some [i, id, g] in gs
	e := {"site": id, "dataset": dataset_ids[i], "ground": g}
]

# dataset_ids are the ids of the query's datasets, by index.
dataset_ids := [dataset_id(d) | some d in input.datasets]

# not_modelled(key, name, v, scoped) refuses every target for each dataset index in
# scoped: the regime's law of the period v is not modelled.
not_modelled(key, name, v, scoped) := {r |
	v.status == "not_modelled"
	some i in scoped
	did := dataset_id(input.datasets[i])
	some id, _ in targets
	r := result(
		id,
		did,
		"library.regime_not_modelled",
		sprintf(
			"Dataset %s is in the scope of %s (%s), whose law on %s the library does not model: %s. Nothing is allowed by omission.",
			[did, key, name, today, v.source],
		),
		"Sovereign policy library (nothing allowed by omission)",
	)
}

# sector is the site operator's sector (see sector_label).
sector(site) := object.get(site, ["labels", sector_label], "unstated")

# dataset_id names a dataset in results; an inline dataset without id still
# yields a result rather than none.
dataset_id(d) := object.get(d, "id", "(unnamed dataset)")

# country_label(site) is the site's country for a message; a site that states
# none is named so, and is in no jurisdiction a rule allows.
country_label(site) := object.get(site, "country", "no stated country")

# join lists a set or array of codes for messages: "DE, FR".
join(xs) := concat(", ", sort(xs))

# inventory_violation is the result refusing a site a query names that is missing
# from the inventory, or has no country.

# METADATA
# title: Candidate or transfer end missing from the inventory, or without a country
# custom:
#   rules:
#     - id: inventory.unknown_site
#       title: Site not in the inventory
#       effect: deny
#       citation: Sovereign policy contract (docs/policy-contract.md)
#       source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policy-contract.md
#       example: a placement whose candidates name atlantis-1, absent from data.inventory.sites
#     - id: inventory.incomplete_site
#       title: Site without a country
#       effect: deny
#       citation: Sovereign policy contract (docs/policy-contract.md)
#       source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policy-contract.md
#       example: a site in data.inventory.sites with no country field
inventory_violation(id, sites, d) := {
	"site": id, "dataset": dataset_id(d), "rule": "inventory.unknown_site",
	"message": sprintf("Site %s is not in the inventory, so nothing is known of its jurisdiction.", [id]),
	"citation": "Sovereign policy contract (docs/policy-contract.md)",
} if {
	not sites[id]
} else := {
	"site": id, "dataset": dataset_id(d), "rule": "inventory.incomplete_site",
	"message": sprintf("Site %s has no country, so its jurisdiction cannot be judged.", [id]),
	"citation": "Sovereign policy contract (docs/policy-contract.md)",
}

# personal(d): dataset d holds a category of personal data, per the category
# table of the reference data (only the categories are read: each regime has
# its own dates). A dataset without categories that names data subjects
# (subject_jurisdictions or subject_count) is taken for personal data: absent
# categories are no evidence that it holds none.
personal(d) if {
	categories := data.reference.gdpr.data_categories
	some cat in d.categories
	categories[cat]
}

personal(d) if {
	count(object.get(d, "categories", [])) == 0
	names_subjects(d)
}

names_subjects(d) if count(object.get(d, "subject_jurisdictions", [])) > 0

names_subjects(d) if object.get(d, "subject_count", 0) > 0

# has_category(d, cats): dataset d carries one of the categories cats.
has_category(d, cats) if {
	some cat in d.categories
	cat in cats
}

# subject_of(d, c): dataset d concerns data subjects of country c, named or in a
# named group.
subject_of(d, c) if c in d.subject_jurisdictions

subject_of(d, c) if {
	some j in d.subject_jurisdictions
	j != c
	members(j)[c]
}

# subjects_unknown(d): dataset d names no data subjects' jurisdiction.
subjects_unknown(d) if count(object.get(d, "subject_jurisdictions", [])) == 0

# citizens_of(d, c): dataset d holds data of country c's subjects, or names none
# and was collected in c (then its subjects are taken to be c's).
citizens_of(d, c) if subject_of(d, c)

citizens_of(d, c) if {
	subjects_unknown(d)
	d.origin_country == c
}

# concerns(d, c): dataset d was collected in country c, or its subjects are there.
concerns(d, c) if d.origin_country == c

concerns(d, c) if subject_of(d, c)

# regime(name) is the localisation or transfer regime of the reference data
# (data.reference.regimes); its period on the decision date is
# period(regime(name).versions).
regime(name) := data.reference.regimes[name]

# regime_period(name) is the period of regime name on the decision date.
regime_period(name) := period(data.reference.regimes[name].versions)

# dated(from, until): the decision date lies within [from, until] (null: open).
# Regime entries hold whole tables, so their dates are checked through scalars:
# a function's arguments are hashed for OPA's per-query cache.
dated(from, until) if {
	from <= today
	today <= object.get({null: "9999-12-31"}, until, until)
}

# holds(site, scheme, levels): site holds a current certification of the scheme,
# at one of the levels when levels is not empty.
holds(site, scheme, levels) if {
	some cert in site.certifications
	cert.scheme == scheme
	object.get(cert, "valid_until", today) >= today
	level_ok(cert, levels)
}

level_ok(_, levels) if count(levels) == 0

level_ok(cert, levels) if cert.level in levels

# label(site, key) is a site label's value, "" when absent.
label(site, key) := object.get(site, ["labels", key], "")

# result builds one result element of the contract.
result(site, did, rule, message, citation) := {
	"site": site, "dataset": did, "rule": rule,
	"message": message, "citation": citation,
}
