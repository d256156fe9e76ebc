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
	fx.regime(d, "sovereignty").grounds == []
}

test_foreign_operator_and_location if {
	d := fx.placement(["sov"], ["us-1", "no-1"])
	fx.rules_at(d, "us-1") == {"sovereign.foreign_control", "sovereign.foreign_personnel", "sovereign.location"}
	fx.rules_at(d, "no-1") == {"sovereign.foreign_control", "sovereign.foreign_personnel", "sovereign.location"}
	fx.message_at(
		d,
		"no-1",
		"sovereign.location",
	) == "Dataset sov is classified sovereign and may be held or accessed only in EU; site no-1 is in NO."
	contains(
		fx.message_at(d, "us-1", "sovereign.foreign_control"),
		"run by Operator of us-1, incorporated in US, so the law of US",
	)
}

test_allowed_jurisdictions_of_the_dataset if {
	fx.allowed("sov-eea", "no-1")
	not fx.allowed("sov-eea", "ch-1")
	not fx.allowed("sov-eea", "de-us")
}

test_operator_without_country_is_foreign if {
	sites := object.union(fx.sites, {"x-1": {
		"id": "x-1", "kind": "edge", "country": "DE", "operator": {"name": "X"},
		"personnel_countries": ["DE"],
	}})
	d := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": sites}
	contains(fx.message_at(d, "x-1", "sovereign.foreign_control"), "incorporated in an unknown country")
	d2 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": {"x-1": {"id": "x-1", "kind": "edge", "country": "DE"}}}
	fx.message_at(
		d2,
		"x-1",
		"sovereign.foreign_control",
	) == "Dataset sov is classified sovereign and may be controlled only from EU; site x-1 is run by an unnamed operator, incorporated in an unknown country, so the law of an unknown jurisdiction can compel access to it."
}

test_other_classifications_are_not_bound if {
	fx.allowed("public", "us-1")
}

test_sovereign_data_is_not_accessed_from_abroad if {
	fx.violation_rules(fx.transfer(["sov"], "de-1", "us-1", {"type": "remote-access"})) == {
		"sovereign.foreign_control",
		"sovereign.foreign_personnel", "sovereign.location",
	}
	fx.transfer(["sov"], "de-us", "de-1", {}).violations == []
}

# Unknown ownership or personnel is no basis: a site that does not state its
# operator's parents, or from where it is administered, is refused sovereign
# data; one that states none ([]) is not.
test_unknown_ownership_and_personnel_are_no_basis if {
	base := {"id": "x-1", "kind": "edge", "country": "DE", "operator": {"name": "X GmbH", "country": "DE"}}
	unknown := object.union(fx.sites, {"x-1": base})
	d := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": unknown}
	fx.rules_at(d, "x-1") == {"sovereign.foreign_control", "sovereign.foreign_personnel"}
	fx.message_at(d, "x-1", "sovereign.foreign_control") == concat("", [
		"Dataset sov is classified sovereign and may be controlled only from EU; site x-1 is run by X GmbH, incorporated in DE, ",
		"and its ownership chain is not stated (operator.parent_countries; [] for none), so no foreign parent is excluded.",
	])
	fx.message_at(d, "x-1", "sovereign.foreign_personnel") == concat("", [
		"Dataset sov is classified sovereign and may be administered only from EU; site x-1 does not state from where ",
		"its personnel administer it (personnel_countries; [] for nowhere else).",
	])

	stated := {"x-1": object.union(base, {"operator": {"parent_countries": []}, "personnel_countries": []})}
	d2 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": stated}
	d2.violations == []
	some r in d2.regimes
	r.regime == "sovereignty"
	[g] := r.grounds
	g.ground == "in DE, operator and parents in DE, personnel in no other country"
}

test_personnel_outside_the_allowed_jurisdictions if {
	site := {"x-1": {
		"id": "x-1", "kind": "edge", "country": "FR",
		"operator": {"name": "X SAS", "country": "FR", "parent_countries": ["FR"]},
		"personnel_countries": ["FR", "US", "IN"],
	}}
	d := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": site}
	fx.rules_at(d, "x-1") == {"sovereign.foreign_personnel"}
	fx.message_at(
		d,
		"x-1",
		"sovereign.foreign_personnel",
	) == "Dataset sov is classified sovereign and may be administered only from EU; site x-1 can be administered by personnel in IN, US."
	fx.regime(d, "sovereignty").grounds == []
	fx.allowed("sov-eea", "no-1")
}

# A site outside the allowed jurisdictions has no ground, even run and
# administered from inside them.
test_no_ground_outside_the_allowed_jurisdictions if {
	site := {"x-1": {
		"id": "x-1", "kind": "edge", "country": "CH",
		"operator": {"name": "X GmbH", "country": "DE", "parent_countries": []},
		"personnel_countries": ["DE"],
	}}
	d := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": site}
	fx.rules_at(d, "x-1") == {"sovereign.location"}
	fx.regime(d, "sovereignty").grounds == []
}

# A site that does not state its parents, or from where it is administered,
# has no ground, even inside the allowed jurisdictions: an unstated fact is
# never a basis (the refusal alone would hide a ground granted on it).
test_no_ground_without_a_stated_chain_or_personnel if {
	unstated_chain := {"x-1": {
		"id": "x-1", "kind": "edge", "country": "FR",
		"operator": {"name": "X SAS", "country": "FR"},
		"personnel_countries": ["FR"],
	}}
	d1 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": unstated_chain}
	count(fx.rules_at(d1, "x-1")) > 0
	fx.regime(d1, "sovereignty").grounds == []

	unstated_personnel := {"x-1": {
		"id": "x-1", "kind": "edge", "country": "FR",
		"operator": {"name": "X SAS", "country": "FR", "parent_countries": []},
	}}
	d2 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": unstated_personnel}
	count(fx.rules_at(d2, "x-1")) > 0
	fx.regime(d2, "sovereignty").grounds == []

	# null states no personnel either: no ground "personnel in no other country".
	null_personnel := {"x-1": object.union(unstated_personnel["x-1"], {"personnel_countries": null})}
	d3 := data.sovereign.placement.decision with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.inventory as {"sites": null_personnel}
	fx.rules_at(d3, "x-1") == {"sovereign.foreign_personnel"}
	fx.regime(d3, "sovereignty").grounds == []
}
