package sovereign.rules.turkey_test

import data.sovereign.fixtures_test as fx

test_turkish_data_abroad if {
	fx.allowed("pii-tr", "tr-1")
	fx.rules_at(fx.placement(["pii-tr"], ["de-1"]), "de-1") == {"tr.kvkk.transfer_basis"}
	fx.violation_rules(fx.transfer(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "scc"}})) == {"tr.kvkk.transfer_basis"}
}

test_standard_contract_is_an_obligation_not_a_deny if {
	d := fx.transfer(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "tr-standard-contract"}})
	d.violations == []
	fx.obligation_rules(d) == {"tr.kvkk.standard_contract_notification"}
	some o in d.obligations
	contains(o.message, "within 5 business days")
}

test_bcr_needs_board_approval if {
	fx.obligation_rules(fx.transfer(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "bcr"}})) == {"tr.kvkk.bcr_approval"}
}

test_derogation_incidental_only if {
	fx.clean(fx.transfer(["pii-tr"], "tr-1", "de-1", {"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}}))
	fx.violation_rules(fx.transfer(["pii-tr"], "tr-1", "de-1", {"frequency": "repeated", "mechanism": {"kind": "derogation", "derogation": "consent"}})) == {"tr.kvkk.derogation_not_incidental"}
}

test_kvkk_article_9_from_1_june_2024 if {
	fx.allowed_at("pii-tr", "de-1", "2024-05-31T23:59:59Z")
	not fx.allowed_at("pii-tr", "de-1", "2024-06-01T00:00:00Z")
}
