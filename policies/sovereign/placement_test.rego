package sovereign.placement_test

import data.sovereign.fixtures_test as fx

test_decision_shape if {
	d := fx.placement(["pii-eu"], ["de-1", "in-1"])
	object.keys(d) == {"violations", "obligations", "warnings", "exemptions", "regimes"}
	is_array(d.violations)
	d.obligations == []
	every v in d.violations {
		object.keys(v) == {"site", "dataset", "rule", "message", "citation"}
	}
}

test_allowed_sites_have_no_violation if {
	d := fx.placement(["pii-eu"], ["de-1", "ch-1", "in-1"])
	{v.site | some v in d.violations} == {"in-1"}
}

test_a_workload_is_bound_by_every_dataset if {
	d := fx.placement(["pii-eu", "resid-list", "c5-data"], ["de-1", "fr-old", "ch-1"])
	fx.rules_at(d, "de-1") == set()
	fx.rules_at(d, "fr-old") == {"dataset.required_certification"}
	fx.rules_at(d, "ch-1") == {"dataset.residency", "dataset.required_certification"}
	{v.dataset | some v in d.violations; v.site == "ch-1"} == {"resid-list", "c5-data"}
}

test_unknown_candidate_is_refused if {
	d := fx.placement(["public"], ["de-1", "atlantis-1"])
	d.violations == [{
		"site": "atlantis-1", "dataset": "public", "rule": "inventory.unknown_site",
		"message": "Site atlantis-1 is not in the inventory, so nothing is known of its jurisdiction.",
		"citation": "Sovereign policy contract (docs/policy-contract.md)",
	}]
}

test_candidate_without_country_is_refused if {
	d := fx.placement(["public"], ["no-country"])
	fx.rules_at(d, "no-country") == {"inventory.incomplete_site"}
}

test_candidate_named_twice_is_judged_once if {
	d := fx.placement(["public"], ["de-1", "de-1"])
	d.violations == []
}

test_no_decision_for_malformed_input if {
	good := fx.placement_input(["public"], ["de-1"], fx.now)
	every bad in [
		object.remove(good, ["time"]),
		object.union(good, {"time": "yesterday"}),
		object.union(good, {"kind": "transfer"}),
		object.union(good, {"datasets": []}),
		object.remove(good, ["candidates"]),
	] {
		not data.sovereign.placement.decision with input as bad with data.inventory as fx.inventory
	}
}
