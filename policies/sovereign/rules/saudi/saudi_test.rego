package sovereign.rules.saudi_test

import data.sovereign.fixtures_test as fx

test_saudi_data_abroad_needs_safeguards if {
	fx.allowed("pii-sa", "sa-1")
	fx.rules_at(fx.placement(["pii-sa"], ["de-1"]), "de-1") == {"sa.pdpl.transfer_basis"}
	fx.violation_rules(fx.transfer(["pii-sa"], "sa-1", "de-1", {"mechanism": {"kind": "idta"}})) == {"sa.pdpl.transfer_basis"}
	d := fx.transfer(["pii-sa"], "sa-1", "de-1", {"mechanism": {"kind": "scc"}})
	d.violations == []
	fx.obligation_rules(d) == {"sa.pdpl.risk_assessment"}
}

test_pdpl_from_14_september_2024 if {
	fx.allowed_at("pii-sa", "de-1", "2024-09-13T12:00:00Z")
	not fx.allowed_at("pii-sa", "de-1", "2024-09-14T00:00:00Z")
}
