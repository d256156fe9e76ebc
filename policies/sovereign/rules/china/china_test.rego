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
	{[o.dataset, o.rule] | some o in d.obligations} == {["cn-small", "cn.pipl.cumulative_volume"]}
	d.warnings == []
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
	fx.rules_at(
		d2,
		"sg-1",
	) == {"cn.pipl.standard_contract"} # exactly 100,000: not over the 2022 threshold, and no exempt tier then

	# Before the 2022 assessment measures PIPL Art. 38 already required a mechanism,
	# and none was yet available: refused, not allowed by omission.
	d3 := fx.placement_at(["cn-small"], ["sg-1"], "2022-08-31T12:00:00Z")
	fx.rules_at(d3, "sg-1") == {"cn.pipl.standard_contract"}
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
	fx.obligation_rules(d4) == {"cn.pipl.cumulative_volume"}
}

# The issue's case: a transfer naming no mechanism (or one without a kind) is
# refused in every tier, exactly like one naming a wrong mechanism.
test_no_mechanism_is_refused_in_every_tier if {
	every pair in [
		["cn-contract", "cn.pipl.standard_contract"],
		["cn-big", "cn.pipl.security_assessment"],
		["cn-sens-big", "cn.pipl.security_assessment"],
		["cn-nocount", "cn.pipl.security_assessment"],
		["cn-important", "cn.dsl.security_assessment"],
	] {
		[ds, rule] := pair
		every extra in [{}, {"mechanism": {}}, {"mechanism": {"reference": "x"}}, {"mechanism": {"kind": "scc"}}, {"mechanism": null}] {
			fx.violation_rules(fx.transfer([ds], "cn-1", "sg-1", extra)) == {rule}
		}
	}
	some v in fx.transfer(["cn-contract"], "cn-1", "sg-1", {}).violations
	contains(v.message, "no mechanism was given")
}

test_personal_information_collected_in_china_without_subjects if {
	fx.rules_at(fx.placement(["pii-origin-cn"], ["sg-1"]), "sg-1") == {"cn.pipl.standard_contract"}
}

test_no_general_export_rule_before_the_csl if {
	d := fx.placement_at(["cn-big", "cn-important"], ["sg-1"], "2017-05-31T12:00:00Z")
	d.violations == []
	fx.regime(d, "cn").period.status == "not_in_force"
	d2 := fx.placement_at(["cn-important"], ["sg-1"], "2017-06-01T00:00:00Z")
	d2.violations == [] # CSL Art. 37 binds CIIOs: important data of others only from the DSL
	ciio := {"id": "ciio", "classification": "restricted", "categories": ["cn-ciio"], "origin_country": "CN"}
	i := object.union(fx.placement_input([], ["sg-1"], "2017-06-01T00:00:00Z"), {"datasets": [ciio]})
	d3 := data.sovereign.placement.decision with input as i with data.inventory as fx.inventory
	fx.rules_at(d3, "sg-1") == {"cn.dsl.security_assessment"}
	fx.rules_at(
		fx.placement_at(["cn-important"], ["sg-1"], "2021-09-01T00:00:00Z"),
		"sg-1",
	) == {"cn.dsl.security_assessment"}
}

test_personal_information_from_the_pipl if {
	fx.placement_at(["cn-big"], ["sg-1"], "2021-10-31T12:00:00Z").violations == []
	fx.rules_at(fx.placement_at(["cn-big"], ["sg-1"], "2021-11-01T00:00:00Z"), "sg-1") == {"cn.pipl.standard_contract"}
}

# Each mechanism is accepted only once it existed.
test_mechanisms_accepted_from_their_dates if {
	sa := {"mechanism": {"kind": "cn-security-assessment"}}
	fx.violation_rules(fx.transfer_at(["cn-contract"], "cn-1", "sg-1", sa, "2022-08-31T12:00:00Z")) == {"cn.pipl.standard_contract"}
	fx.transfer_at(["cn-contract"], "cn-1", "sg-1", sa, "2022-09-01T00:00:00Z").violations == []
	cert := {"mechanism": {"kind": "cn-certification"}}
	fx.violation_rules(fx.transfer_at(["cn-contract"], "cn-1", "sg-1", cert, "2022-11-03T12:00:00Z")) == {"cn.pipl.standard_contract"}
	fx.transfer_at(["cn-contract"], "cn-1", "sg-1", cert, "2022-11-04T00:00:00Z").violations == []
	sc := {"mechanism": {"kind": "cn-standard-contract"}}
	fx.violation_rules(fx.transfer_at(["cn-contract"], "cn-1", "sg-1", sc, "2023-05-31T12:00:00Z")) == {"cn.pipl.standard_contract"}
	d := fx.transfer_at(["cn-contract"], "cn-1", "sg-1", sc, "2023-06-01T00:00:00Z")
	d.violations == []
	fx.obligation_rules(d) == {"cn.pipl.standard_contract_filing", "cn.pipl.impact_assessment"}
}

# Before the PIPL (1 Nov 2021) no personal information impact assessment was
# owed for an export, even a CIIO's on a security assessment.
test_no_impact_assessment_before_the_pipl if {
	ciio := {"id": "ciio", "classification": "restricted", "categories": ["cn-ciio", "personal"], "origin_country": "CN"}
	i := object.union(
		fx.transfer_input([], "cn-1", "sg-1", {"mechanism": {"kind": "cn-security-assessment"}, "time": "2020-06-01T00:00:00Z"}),
		{"datasets": [ciio]},
	)
	d := data.sovereign.transfer.decision with input as i with data.inventory as fx.inventory
	d.violations == []
	not "cn.pipl.impact_assessment" in fx.obligation_rules(d)
	d2 := data.sovereign.transfer.decision with input as object.union(i, {"time": fx.now}) with data.inventory as fx.inventory
	"cn.pipl.impact_assessment" in fx.obligation_rules(d2)
}

# Data staying in mainland China is not an export (PIPL Art. 38 governs
# providing personal information outside the PRC): the regimes list gives a
# site in China its location as the one ground - never an export mechanism or
# an exempt tier, which would explain an allow by a rule that does not apply.
test_a_site_in_china_is_grounded_by_its_location_alone if {
	d := fx.placement(["cn-small", "cn-big"], ["cn-1"])
	fx.regime(d, "cn").grounds == [
		{"dataset": "cn-small", "ground": "the site is in mainland China", "site": "cn-1"},
		{"dataset": "cn-big", "ground": "the site is in mainland China", "site": "cn-1"},
	]
	t := fx.transfer(["cn-contract"], "sg-1", "cn-1", {"mechanism": {"kind": "cn-standard-contract"}})
	fx.regime(t, "cn").grounds == [{"dataset": "cn-contract", "ground": "the site is in mainland China", "site": "cn-1"}]
	fx.clean(t)
}

# The filing duty is the standard contract's (Standard Contract Measures 2023
# Art. 7): an export in the same tier on a certification (PIPL Art. 38(1)(2))
# owes the impact assessment, not a filing.
test_certification_owes_no_contract_filing if {
	d := fx.transfer(["cn-contract"], "cn-1", "sg-1", {"mechanism": {"kind": "cn-certification"}})
	d.violations == []
	fx.obligation_rules(d) == {"cn.pipl.impact_assessment"}
	d2 := fx.transfer(["cn-contract"], "cn-1", "sg-1", {"mechanism": {"kind": "cn-security-assessment"}})
	d2.violations == []
	fx.obligation_rules(d2) == {"cn.pipl.impact_assessment"}
}
