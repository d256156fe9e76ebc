# METADATA
# title: Dataset residency
# description: >-
#   A dataset's residency list (countries and jurisdiction groups) bounds where it
#   may be stored: every site holding it must be in a listed country or a member of
#   a listed group on the decision date. Remote access does not move the data.
# custom:
#   rules:
#     - dataset.residency
package sovereign.rules.residency

import data.sovereign.lib

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
