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
	fx.clean(fx.transfer(
		["pii-tr"],
		"tr-1",
		"de-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}},
	))
	fx.violation_rules(fx.transfer(
		["pii-tr"],
		"tr-1",
		"de-1",
		{"frequency": "repeated", "mechanism": {"kind": "derogation", "derogation": "consent"}},
	)) == {"tr.kvkk.derogation_not_incidental"}
}

# Before Law 7499, KVKK Art. 9 (2016) barred the same transfers: explicit consent
# or a Board-permitted undertaking; no standard contract existed.
test_kvkk_2016_before_1_june_2024 if {
	t := "2024-05-31T23:59:59Z"
	fx.rules_at(fx.placement_at(["pii-tr"], ["de-1"], t), "de-1") == {"tr.kvkk.transfer_basis"}
	fx.violation_rules(fx.transfer_at(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "tr-standard-contract"}}, t)) == {"tr.kvkk.transfer_basis"}
	consent := fx.transfer_at(
		["pii-tr"],
		"tr-1",
		"de-1",
		{"frequency": "repeated", "mechanism": {"kind": "derogation", "derogation": "consent"}},
		t,
	)
	fx.clean(consent) # explicit consent was not limited to incidental transfers
	fx.obligation_rules(fx.transfer_at(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "bcr"}}, t)) == {"tr.kvkk.bcr_approval"}
	fx.violation_rules(fx.transfer_at(
		["pii-tr"],
		"tr-1",
		"de-1",
		{"mechanism": {"kind": "tr-standard-contract"}},
		"2024-06-01T00:00:00Z",
	)) == set()
}

test_no_transfer_rule_before_7_october_2016 if {
	fx.allowed_at("pii-tr", "de-1", "2016-10-06T12:00:00Z")
	not fx.allowed_at("pii-tr", "de-1", "2016-10-07T00:00:00Z")
}

test_explicit_consent_of_the_former_article_until_1_september_2024 if {
	m := {"frequency": "repeated", "mechanism": {"kind": "derogation", "derogation": "consent"}}
	fx.transfer_at(["pii-tr"], "tr-1", "de-1", m, "2024-08-31T12:00:00Z").violations == []
	fx.violation_rules(fx.transfer_at(["pii-tr"], "tr-1", "de-1", m, "2024-09-01T00:00:00Z")) == {"tr.kvkk.derogation_not_incidental"}
}

test_turkish_absent_inputs_are_no_basis if {
	every extra in [{}, {"mechanism": {}}, {"mechanism": {"kind": "derogation"}, "frequency": "one-off"}, {"mechanism": {"kind": "derogation", "derogation": "convenience"}, "frequency": "one-off"}] {
		fx.violation_rules(fx.transfer(["pii-tr"], "tr-1", "de-1", extra)) == {"tr.kvkk.transfer_basis"}
	}
	fx.violation_rules(fx.transfer(["pii-tr"], "tr-1", "de-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})) == {"tr.kvkk.derogation_not_incidental"}
	fx.rules_at(fx.placement(["pii-origin-tr"], ["de-1"]), "de-1") == {"tr.kvkk.transfer_basis"}
}

# KVKK Art. 9(1) (2016) and Art. 9(1) as amended: a transfer to a country the
# Board has found adequate needs no safeguard and no derogation, whatever its
# frequency. The Board has declared none yet: the test gives one.
test_an_adequate_country_needs_no_safeguard if {
	d := fx.placement(["pii-tr"], ["de-1"]) with data.reference.regimes.tr_kvkk.adequacy as ["DE"]
	d.violations == []
	fx.regime(d, "tr_kvkk").grounds == [{"dataset": "pii-tr", "ground": "adequacy decision for DE", "site": "de-1"}]
	every extra in [{}, {"mechanism": {"kind": "derogation", "derogation": "consent"}, "frequency": "repeated"}] {
		t := fx.transfer(["pii-tr"], "tr-1", "de-1", extra) with data.reference.regimes.tr_kvkk.adequacy as ["DE"]
		fx.clean(t)
	}
}
