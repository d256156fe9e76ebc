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
	some d in input.datasets
	listed := d.residency
	allowed := lib.expand(listed)
	did := lib.dataset_id(d)
	label := residency_label(listed)
	targets := lib.targets
	some id, site in targets
	not allowed[site.country]
	v := {
		"site": id, "dataset": did, "rule": "dataset.residency",
		"message": sprintf("Dataset %s may reside only in %s; site %s is in %s.", [did, label, id, site.country]),
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
	some d in input.datasets
	denied := lib.expand(d.residency_deny)
	did := lib.dataset_id(d)
	targets := lib.targets
	some id, site in targets
	denied[site.country]
	v := {
		"site": id, "dataset": did, "rule": "dataset.residency_denied",
		"message": sprintf("Dataset %s may not reside in %s; site %s is in %s.", [did, concat(", ", d.residency_deny), id, site.country]),
		"citation": "Dataset residency policy (contractual)",
	}
}

residency_label(listed) := concat(", ", listed) if {
	count(listed) > 0
} else := "no jurisdiction (its residency list is empty)"

placement_violations contains v if some v in violations

transfer_violations contains v if {
	lib.stores
	some v in violations
}

placement_obligations := set()

transfer_obligations := set()
