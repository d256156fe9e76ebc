package sovereign.rules.ukgdpr_test

import data.sovereign.fixtures_test as fx

test_uk_data_in_uk_eea_and_uk_adequacy if {
	fx.allowed("pii-gb", "gb-1")
	fx.allowed("pii-gb", "de-1")
	fx.allowed("pii-gb", "no-1")
	fx.allowed("pii-gb", "ch-1")
	fx.allowed("pii-gb", "jp-1")
	fx.allowed("pii-gb", "us-ukdpf")
}

test_uk_list_is_not_the_eu_list if {
	# Brazil is on the EU list from 2026, not on the UK's; EU-US DPF is not the UK Extension.
	d := fx.placement(["pii-gb"], ["br-1", "us-dpf", "in-1"])
	fx.rules_at(d, "br-1") == {"ukgdpr.chapter5.no_basis"}
	fx.rules_at(d, "us-dpf") == {"ukgdpr.chapter5.no_basis"}
	contains(fx.message_at(d, "us-dpf", "ukgdpr.chapter5.no_basis"), "recipient_certification")
	contains(fx.message_at(d, "in-1", "ukgdpr.chapter5.no_basis"), "no decision")
}

test_uk_korea_from_19_december_2022 if {
	not fx.allowed_at("pii-gb", "kr-1", "2022-12-18T23:59:59Z")
	fx.allowed_at("pii-gb", "kr-1", "2022-12-19T00:00:00Z")
}

# Until 31 Dec 2020 EU law governed UK data (the gdpr regime): refused there under
# the GDPR, from 1 Jan 2021 under the UK GDPR - never allowed in between.
test_uk_gdpr_applies_from_2021 if {
	d1 := fx.placement_at(["pii-gb"], ["in-1"], "2020-12-31T23:59:59Z")
	fx.rules_at(d1, "in-1") == {"gdpr.chapter5.no_basis"}
	r1 := fx.regime(d1, "uk_gdpr")
	r1.period.status == "not_in_force"
	d2 := fx.placement_at(["pii-gb"], ["in-1"], "2021-01-01T00:00:00Z")
	fx.rules_at(d2, "in-1") == {"ukgdpr.chapter5.no_basis"}
}

test_uk_data_before_brexit_is_eea_data if {
	d := fx.placement_at(["pii-gb"], ["in-1"], "2015-06-01T00:00:00Z")
	fx.rules_at(d, "in-1") == {"eu.dir95.no_basis"}
	fx.allowed_at("pii-gb", "de-1", "2015-06-01T00:00:00Z")
}

test_uk_idta_from_21_march_2022 if {
	d1 := fx.transfer_at(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "idta"}}, "2022-03-20T12:00:00Z")
	fx.violation_rules(d1) == {"ukgdpr.chapter5.no_basis"}
	d2 := fx.transfer_at(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "idta"}}, "2022-03-21T00:00:00Z")
	d2.violations == []
}

test_uk_absent_inputs_are_no_basis if {
	every extra in [{}, {"mechanism": {}}, {"mechanism": {"kind": "derogation"}, "frequency": "one-off"}, {"mechanism": {"kind": "derogation", "derogation": "consent"}}] {
		count(fx.transfer(["pii-gb"], "gb-1", "in-1", extra).violations) > 0
	}
	d := fx.transfer(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "derogation"}, "frequency": "one-off"})
	some v in d.violations
	contains(v.message, `exception "" is not one of the grounds of UK GDPR Art. 49(1)`)
}

test_uk_data_collected_in_the_uk_without_subjects if {
	d := fx.placement(["pii-origin-gb"], ["in-1", "gb-1"])
	fx.rules_at(d, "in-1") == {"ukgdpr.chapter5.no_basis"}
	fx.rules_at(d, "gb-1") == set()
}

test_uk_compelling_legitimate_interests_owe_informing_the_ico if {
	d := fx.transfer(
		["pii-gb"],
		"gb-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "compelling-legitimate-interests"}},
	)
	d.violations == []
	fx.obligation_rules(d) == {"ukgdpr.chapter5.inform_ico"}
}

test_uk_remote_access if {
	d := fx.placement(["pii-gb"], ["gb-in"])
	fx.rules_at(d, "gb-in") == {"ukgdpr.chapter5.remote_access"}
	contains(fx.message_at(d, "gb-in", "ukgdpr.chapter5.remote_access"), "personnel in IN")
}

test_uk_transfer_without_mechanism if {
	fx.violation_rules(fx.transfer(["pii-gb"], "gb-1", "in-1", {})) == {"ukgdpr.chapter5.no_basis"}
}

test_uk_transfer_with_idta_owes_a_tra if {
	d := fx.transfer(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "idta", "reference": "IDTA-9"}})
	d.violations == []
	fx.obligation_rules(d) == {"ukgdpr.chapter5.tra_required"}
}

test_uk_transfer_with_eu_scc_only_until_21_march_2024 if {
	t := fx.transfer_input(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "scc"}})
	d1 := data.sovereign.transfer.decision with input as object.union(
		t,
		{"time": "2024-03-21T12:00:00Z"},
	)
		with data.inventory as fx.inventory
	d1.violations == []
	d2 := data.sovereign.transfer.decision with input as object.union(
		t,
		{"time": "2024-03-22T00:00:00Z"},
	)
		with data.inventory as fx.inventory
	fx.violation_rules(d2) == {"ukgdpr.chapter5.no_basis"}
}

test_uk_derogation_occasional_only if {
	fx.transfer(
		["pii-gb"],
		"gb-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}},
	).violations == []
	fx.violation_rules(fx.transfer(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})) == {"ukgdpr.chapter5.derogation_not_occasional"}
}
