# METADATA
# title: Dataset residency
# description: >-
#   A dataset's residency list (countries and jurisdiction groups) bounds where it
#   may be stored: every site holding it must be in a listed country or a member of
#   a listed group on the decision date. Remote access does not move the data.
package sovereign.rules.residency

import data.sovereign.lib

# METADATA
# title: Site outside the dataset's residency allow-list
# custom:
#   id: dataset.residency
#   effect: deny
#   citation: Dataset residency policy (contractual)
#   source: https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations
#   example: payments-in (residency [IN]) at sin-1 or any site outside India
violations contains v if {
	targets := lib.targets
	some d in input.datasets
	listed := d.residency
	allowed := lib.expand(listed)
	did := lib.dataset_id(d)
	label := listed_label(listed)
	some id, site in targets
	not allowed[object.get(site, "country", "")] # a site in no stated country is in none allowed
	v := {
		"site": id, "dataset": did, "rule": "dataset.residency",
		"message": sprintf("Dataset %s may reside only in %s; site %s is in %s.", [did, label, id, lib.country_label(site)]),
		"citation": "Dataset residency policy (contractual)",
	}
}

# METADATA
# title: Site in a jurisdiction on the dataset's residency deny-list
# custom:
#   id: dataset.residency_denied
#   effect: deny
#   citation: Dataset residency policy (contractual)
#   source: https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations
#   example: a dataset with residency_deny [US] at us-east-1 (residency_deny is proposed as a Dataset field; inline datasets in Rego can carry it today)
violations contains v if {
	targets := lib.targets
	some d in input.datasets
	denied := lib.expand(d.residency_deny)
	did := lib.dataset_id(d)
	some id, site in targets
	denied_at(denied, site)
	v := {
		"site": id, "dataset": did, "rule": "dataset.residency_denied",
		"message": sprintf(
			"Dataset %s may not reside in %s; site %s is in %s.",
			[did, concat(", ", d.residency_deny), id, lib.country_label(site)],
		),
		"citation": "Dataset residency policy (contractual)",
	}
}

# denied_at(denied, site): the site is in a denied jurisdiction, or states no
# country and so is not shown outside them.
denied_at(denied, site) if denied[site.country]

denied_at(_, site) if object.get(site, "country", null) == null

listed_label(listed) := concat(", ", listed) if {
	count(listed) > 0
} else := "no jurisdiction (its residency list is empty)"

placement_violations contains v if some v in violations

transfer_violations contains v if {
	lib.stores
	some v in violations
}

placement_obligations := set()

transfer_obligations := set()

scope := "datasets with a residency allow-list or deny-list"

in_scope[i] := why if {
	some i, d in input.datasets
	why := why_listed(d)
}

why_listed(d) := "the dataset's residency allow-list is empty: it may reside nowhere" if {
	d.residency == []
} else := "the dataset has a residency allow-list or deny-list" if {
	count(object.get(d, "residency", [])) + count(object.get(d, "residency_deny", [])) > 0
}

grounds contains [i, id, sprintf("%s is within the residency allow-list", [site.country])] if {
	some i, d in input.datasets
	allowed := lib.expand(d.residency)
	some id, site in lib.targets
	allowed[site.country]
}

report := lib.report(
	"residency",
	"Dataset residency (contractual)",
	scope,
	lib.contractual("Dataset residency lists", "Dataset residency policy (contractual)"),
	in_scope,
	lib.ground_list(grounds),
)
