package sovereign.transfer_test

import data.sovereign.fixtures_test as fx

test_decision_shape if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "scc"}})
	object.keys(d) == {"violations", "obligations", "warnings", "exemptions", "regimes"}
	d.violations == []
	every o in d.obligations {
		object.keys(o) == {"site", "dataset", "rule", "message", "citation"}
	}
}

test_unknown_end_is_refused if {
	d := fx.transfer(["public"], "atlantis-1", "de-1", {})
	fx.violation_rules(d) == {"inventory.unknown_site"}
	d2 := fx.transfer(["public"], "de-1", "atlantis-1", {})
	fx.violation_rules(d2) == {"inventory.unknown_site"}
}

test_end_without_country_is_refused if {
	d := fx.transfer(["public"], "de-1", "no-country", {})
	fx.violation_rules(d) == {"inventory.incomplete_site"}
}

test_destination_placement_rules_apply if {
	d := fx.transfer(["pii-eu", "c5-data", "sov"], "de-1", "us-1", {})
	fx.violation_rules(d) == {
		"gdpr.chapter5.no_basis", "dataset.required_certification",
		"sovereign.foreign_control", "sovereign.foreign_personnel", "sovereign.location",
	}
}

test_no_decision_for_malformed_input if {
	good := fx.transfer_input(["public"], "de-1", "no-1", {})
	every bad in [
		object.remove(good, ["time"]),
		object.union(good, {"kind": "placement"}),
		object.union(good, {"datasets": []}),
		object.remove(good, ["from"]),
		object.remove(good, ["to"]),
	] {
		not data.sovereign.transfer.decision with input as bad with data.inventory as fx.inventory
	}
}
