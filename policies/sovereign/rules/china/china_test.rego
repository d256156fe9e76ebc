package sovereign.rules.china_test

import data.sovereign.fixtures_test as fx

test_inside_mainland_china_nothing_applies if {
	every ds in ["cn-big", "cn-important", "cn-nocount"] {
		fx.allowed(ds, "cn-1")
	}
}

test_hong_kong_is_cross_border if {
	fx.rules_at(fx.placement(["cn-contract"], ["hk-1"]), "hk-1") == {"cn.pipl.standard_contract"}
}

test_volume_thresholds if {
	d := fx.placement(["cn-small", "cn-contract", "cn-million", "cn-big"], ["sg-1"])
	{[v.dataset, v.rule] | some v in d.violations} == {
		["cn-contract", "cn.pipl.standard_contract"],
		["cn-million", "cn.pipl.standard_contract"],
		["cn-big", "cn.pipl.security_assessment"],
	}
	{[w.dataset, w.rule] | some w in d.warnings} == {["cn-small", "cn.pipl.cumulative_volume"]}
}

test_sensitive_thresholds if {
	d := fx.placement(["cn-sens", "cn-sens-big"], ["sg-1"])
	{[v.dataset, v.rule] | some v in d.violations} == {
		["cn-sens", "cn.pipl.standard_contract"],
		["cn-sens-big", "cn.pipl.security_assessment"],
	}
}

test_unknown_volume_needs_assessment if {
	d := fx.placement(["cn-nocount"], ["sg-1"])
	contains(fx.message_at(d, "sg-1", "cn.pipl.security_assessment"), "an unknown number of individuals")
}

test_important_data_needs_assessment if {
	fx.rules_at(fx.placement(["cn-important"], ["sg-1"]), "sg-1") == {"cn.dsl.security_assessment"}
}

test_2022_thresholds_before_22_march_2024 if {
	d := fx.placement_at(["cn-small"], ["sg-1"], "2024-03-21T12:00:00Z")
	fx.rules_at(d, "sg-1") == {"cn.pipl.standard_contract"}
	d2 := fx.placement_at(["cn-contract"], ["sg-1"], "2024-03-21T12:00:00Z")
	fx.rules_at(d2, "sg-1") == {"cn.pipl.standard_contract"} # exactly 100,000: not over the 2022 threshold, and no exempt tier then
	d3 := fx.placement_at(["cn-small"], ["sg-1"], "2022-08-31T12:00:00Z")
	d3.violations == []
}

test_transfers_with_cn_mechanisms if {
	d := fx.transfer(["cn-contract"], "cn-1", "sg-1", {"mechanism": {"kind": "cn-standard-contract"}})
	d.violations == []
	fx.obligation_rules(d) == {"cn.pipl.standard_contract_filing", "cn.pipl.impact_assessment"}
	d2 := fx.transfer(["cn-big"], "cn-1", "sg-1", {"mechanism": {"kind": "cn-standard-contract"}})
	fx.violation_rules(d2) == {"cn.pipl.security_assessment"}
	d3 := fx.transfer(["cn-big"], "cn-1", "sg-1", {"mechanism": {"kind": "cn-security-assessment"}})
	d3.violations == []
	fx.obligation_rules(d3) == {"cn.pipl.impact_assessment"}
	d4 := fx.transfer(["cn-small"], "cn-1", "sg-1", {})
	d4.violations == []
	{w.rule | some w in d4.warnings} == {"cn.pipl.cumulative_volume"}
}
