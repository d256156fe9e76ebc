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

test_uk_gdpr_applies_from_2021 if {
	fx.allowed_at("pii-gb", "in-1", "2020-12-31T23:59:59Z")
	not fx.allowed_at("pii-gb", "in-1", "2021-01-01T00:00:00Z")
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
	d1 := data.sovereign.transfer.decision with input as object.union(t, {"time": "2024-03-21T12:00:00Z"}) with data.inventory as fx.inventory
	d1.violations == []
	d2 := data.sovereign.transfer.decision with input as object.union(t, {"time": "2024-03-22T00:00:00Z"}) with data.inventory as fx.inventory
	fx.violation_rules(d2) == {"ukgdpr.chapter5.no_basis"}
}

test_uk_derogation_occasional_only if {
	fx.transfer(["pii-gb"], "gb-1", "in-1", {"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}}).violations == []
	fx.violation_rules(fx.transfer(["pii-gb"], "gb-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})) == {"ukgdpr.chapter5.derogation_not_occasional"}
}
