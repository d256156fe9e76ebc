# METADATA
# title: The library's own bounds - the modelled period
# description: >-
#   The library models every regime from data.reference.modelled_from.date on (1
#   Jan 2008). A decision dated before it is refused for every candidate and
#   dataset: no regime of the library can say what the law was then, so nothing is
#   allowed by omission (the engine refuses such a request with 422 before
#   asking the policy; this rule is the defence in depth). A regime whose law in a
#   period after the floor the library does not model refuses the data it governs
#   in that period (library.regime_not_modelled, raised by the regime packages).
package sovereign.rules.library

import data.sovereign.lib

# The sites a query is about, known to the inventory or not (every candidate of a
# placement, the destination of a transfer).
sites := {id | some id in input.candidates} if input.kind == "placement"

sites := {input.to} if input.kind == "transfer"

# METADATA
# title: Decisions before the modelled period, and periods a regime does not model
# custom:
#   rules:
#     - id: library.before_modelled_period
#       title: Decision date before the earliest date the library models
#       effect: deny
#       citation: Sovereign policy library (data.reference.modelled_from)
#       source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policy-contract.md
#       example: any placement or transfer with at 2007-12-31T23:59:59Z
#     - id: library.regime_not_modelled
#       title: Data in scope of a regime whose law on the decision date the library does not model
#       effect: deny
#       citation: Sovereign policy library (nothing allowed by omission)
#       source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policy-contract.md
#       example: a dataset with categories [health] and subject_jurisdictions [DE] at any site on 2024-06-30 (before §393 SGB V; §80 SGB X and the Länder hospital laws are not modelled)
violations contains v if {
	not lib.modelled
	some id in sites
	some d in input.datasets
	did := lib.dataset_id(d)
	v := lib.result(
		id,
		did,
		"library.before_modelled_period",
		sprintf(
			"The decision date %s is before %s, the earliest date the policy library models (data.reference.modelled_from); nothing is allowed by omission.",
			[lib.today, floor_label],
		),
		"Sovereign policy library (data.reference.modelled_from)",
	)
}

default floor_label := "(no floor in the reference data)"

floor_label := lib.floor_date

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()

report := {
	"regime": "library", "name": "Modelled period of the policy library",
	"period": {"status": status, "valid_from": floor_label, "source": object.get(
		data.reference,
		["modelled_from", "source"],
		"",
	)},
	"datasets": [{"dataset": lib.dataset_id(d), "applies": true, "why": "every decision is bounded by the modelled period"} | some d in input.datasets],
	"grounds": [],
}

default status := "before_modelled_period"

status := "modelled" if lib.modelled
