# METADATA
# title: Exemptions - named rules waived as data
# description: >-
#   An exemption (data.inventory.exemptions, keyed by id) waives the results of
#   the rules it names for the sites, datasets and tenants of its scope, between
#   valid_from (optional) and expires (required, inclusive). A waived result
#   leaves the decision's violations, obligations or warnings and is listed under
#   exemptions instead. An exemption without a scope, without expires, or naming
#   a rule that cannot be waived waives nothing; one that matches but is not in
#   force yields the warning exemption.not_in_force.
package sovereign.lib.exemptions

import data.sovereign.lib

# Rules no exemption waives: they say the policy cannot judge the site (or the
# date) at all.
unwaivable := {"inventory.unknown_site", "inventory.incomplete_site", "jurisdiction.unknown", "library.before_modelled_period"}

# (A reference, not object.get(data.inventory, ...): that would read the whole
# inventory document on every query.)
default declared := {}

declared := data.inventory.exemptions

# by_rule[rule]: the well-formed exemptions naming the rule, in force or not.
by_rule[rule] contains [id, ex] if {
	some id, ex in declared
	count(object.get(ex, "scope", {})) > 0
	is_string(ex.expires)
	some rule in ex.rules
	not unwaivable[rule]
}

none if count(by_rule) == 0

in_force(ex) if {
	t := lib.today
	object.get(ex, "valid_from", "0000-01-01") <= t
	t <= ex.expires
}

# tenant_of[dataset id]: the tenants of the query's datasets.
tenant_of[did] contains t if {
	some d in input.datasets
	did := lib.dataset_id(d)
	t := d.tenant
}

# matches(ex, r): result r lies within the exemption's scope.
matches(ex, r) if {
	scope := ex.scope
	in_scope(scope, "sites", r.site)
	in_scope(scope, "datasets", r.dataset)
	tenant_in_scope(scope, r.dataset)
}

in_scope(scope, key, _) if not scope[key]

in_scope(scope, key, value) if value in scope[key]

tenant_in_scope(scope, _) if not scope.tenants

tenant_in_scope(scope, did) if {
	some t in tenant_of[did]
	t in scope.tenants
}

# waived(r): an exemption in force waives result r.
waived(r) if {
	some [_, ex] in by_rule[r.rule]
	matches(ex, r)
	in_force(ex)
}

# keep(results) are the results no exemption waives.
keep(results) := [r | some r in results] if {
	none
} else := [r | some r in results; not waived(r)]

# applied(results) lists each exemption applied, with the result it waived.
applied(results) := [] if {
	none
} else := sort([a |
	some r in results
	some [id, ex] in by_rule[r.rule]
	matches(ex, r)
	in_force(ex)
	a := {
		"exemption": id, "rule": r.rule, "site": r.site, "dataset": r.dataset,
		"category": object.get(ex, "category", "waiver"), "reason": object.get(ex, "reason", ""),
		"expires": ex.expires, "waived": r.message,
	}
])

# METADATA
# title: An exemption matches a result but is not in force
# custom:
#   id: exemption.not_in_force
#   effect: warn
#   citation: Sovereign exemptions (docs/policy-contract.md)
#   source: https://learn.microsoft.com/azure/governance/policy/concepts/exemption-structure
#   example: an exemption of gdpr.chapter5.no_basis for dataset customer-pii-eu at us-east-1 that expired on 2026-06-30, decided on 2026-07-01
stale(results) := set() if {
	none
} else := {w |
	some r in results
	some [id, ex] in by_rule[r.rule]
	matches(ex, r)
	not in_force(ex)
	w := lib.result(
		r.site,
		r.dataset,
		"exemption.not_in_force",
		sprintf(
			"Exemption %s would waive %s for %s at %s, but it is in force only from %s until %s (decision date %s).",
			[id, r.rule, r.dataset, r.site, object.get(ex, "valid_from", "its creation"), ex.expires, lib.today],
		),
		"Sovereign exemptions (docs/policy-contract.md)",
	)
}
