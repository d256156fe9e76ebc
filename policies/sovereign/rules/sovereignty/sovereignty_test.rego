package sovereign.rules.sovereignty_test

import data.sovereign.fixtures_test as fx

test_eu_operator_with_eu_owners if {
	fx.allowed("sov", "de-1")
}

test_eu_subsidiary_of_a_us_parent if {
	d := fx.placement(["sov"], ["de-us"])
	d.violations == [{
		"site": "de-us", "dataset": "sov", "rule": "sovereign.foreign_control",
		"message": "Dataset sov is classified sovereign and may be controlled only from EU; site de-us is run by Hyperscaler EMEA Ltd, incorporated in IE with parent companies in US, so the law of US can compel access to it.",
		"citation": "CLOUD Act 18 U.S.C. §2713 exposure; GDPR Art. 48",
	}]
}

test_foreign_operator_and_location if {
	d := fx.placement(["sov"], ["us-1", "no-1"])
	fx.rules_at(d, "us-1") == {"sovereign.foreign_control", "sovereign.location"}
	fx.rules_at(d, "no-1") == {"sovereign.foreign_control", "sovereign.location"}
	fx.message_at(d, "no-1", "sovereign.location") == "Dataset sov is classified sovereign and may be held or accessed only in EU; site no-1 is in NO."
	contains(fx.message_at(d, "us-1", "sovereign.foreign_control"), "run by Operator of us-1, incorporated in US, so the law of US")
}

test_allowed_jurisdictions_of_the_dataset if {
	fx.allowed("sov-eea", "no-1")
	not fx.allowed("sov-eea", "ch-1")
	not fx.allowed("sov-eea", "de-us")
}

test_operator_without_country_is_foreign if {
	sites := object.union(fx.sites, {"x-1": {"id": "x-1", "kind": "edge", "country": "DE", "operator": {"name": "X"}}})
	d := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": sites}
	contains(fx.message_at(d, "x-1", "sovereign.foreign_control"), "incorporated in an unknown country")
	d2 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": {"x-1": {"id": "x-1", "kind": "edge", "country": "DE"}}}
	fx.message_at(d2, "x-1", "sovereign.foreign_control") == "Dataset sov is classified sovereign and may be controlled only from EU; site x-1 is run by an unnamed operator, incorporated in an unknown country, so the law of an unknown jurisdiction can compel access to it."
}

test_other_classifications_are_not_bound if {
	fx.allowed("public", "us-1")
}

test_sovereign_data_is_not_accessed_from_abroad if {
	fx.violation_rules(fx.transfer(["sov"], "de-1", "us-1", {"type": "remote-access"})) == {"sovereign.foreign_control", "sovereign.location"}
	fx.transfer(["sov"], "de-us", "de-1", {}).violations == []
}
