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

# The label a site may carry to state its operator's sector. Absent means a
# commercial operator (the usual case for a cloud or data-centre provider).
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

targets := {id: site |
	id := input.to
	site := sites[id]
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
	t := today
	entry.valid_from <= t
	t <= object.get({null: "9999-12-31"}, entry.valid_until, entry.valid_until)
}

# current(versions) is the entry in force on the decision date of a list of dated
# versions - versions of one list, sorted and contiguous (each starts the day after
# the previous ends; tested). Most queries ask about the present, so the last two
# versions are tried first (a list with a known future end - the UK decision
# ends on 27 Dec 2031 - has a version after the present one); otherwise the last
# one that has started. Undefined when none is in force.
current(versions) := v if {
	t := today
	v := versions[count(versions) - 1]
	v.valid_from <= t
	v.valid_until == null
} else := v if {
	t := today
	v := versions[count(versions) - 2]
	v.valid_from <= t
	t <= v.valid_until
} else := v if {
	t := today
	started := [x | some x in versions; x.valid_from <= t]
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

# sector is the site operator's sector (see sector_label).
sector(site) := object.get(site, ["labels", sector_label], "commercial")

# dataset_id names a dataset in results; an inline dataset without id still
# yields a result rather than none.
dataset_id(d) := object.get(d, "id", "(unnamed dataset)")

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
# table of the reference data. The table's dates are the GDPR's; other regimes
# have their own, so only the categories are read here.
personal(d) if {
	categories := data.reference.gdpr.data_categories
	some cat in d.categories
	categories[cat]
}

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

# concerns(d, c): dataset d was collected in country c, or its subjects are there.
concerns(d, c) if d.origin_country == c

concerns(d, c) if subject_of(d, c)

# regime(name) is the localisation or transfer regime of the reference data
# (data.reference.regimes) when it is in force on the decision date.
regime(name) := r if {
	r := data.reference.regimes[name]
	dated(r.valid_from, r.valid_until)
}

# dated(from, until): the decision date lies within [from, until] (null: open).
# Regime entries hold whole tables, so their dates are checked through scalars:
# a function's arguments are hashed for OPA's per-query cache.
dated(from, until) if {
	t := today
	from <= t
	t <= object.get({null: "9999-12-31"}, until, until)
}

# holds(site, scheme, levels): site holds a current certification of the scheme,
# at one of the levels when levels is not empty.
holds(site, scheme, levels) if {
	t := today
	some cert in site.certifications
	cert.scheme == scheme
	object.get(cert, "valid_until", t) >= t
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
