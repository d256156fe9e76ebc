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

# The PDPL is in force from 14 Sep 2023; its grace period deferred enforcement,
# not the law.
test_pdpl_from_14_september_2023 if {
	fx.allowed_at("pii-sa", "de-1", "2023-09-13T12:00:00Z")
	not fx.allowed_at("pii-sa", "de-1", "2023-09-14T00:00:00Z")
	not fx.allowed_at("pii-sa", "de-1", "2024-09-13T12:00:00Z")
}

test_saudi_absent_inputs_are_no_basis if {
	every extra in [{}, {"mechanism": {}}, {"mechanism": {"kind": "derogation", "derogation": "consent"}, "frequency": "one-off"}] {
		fx.violation_rules(fx.transfer(["pii-sa"], "sa-1", "de-1", extra)) == {"sa.pdpl.transfer_basis"}
	}
	fx.rules_at(fx.placement(["pii-origin-sa"], ["de-1"]), "de-1") == {"sa.pdpl.transfer_basis"}
}

# Before the PDPL was in force (14 Sep 2023) a transfer on SCCs owes no risk
# assessment.
test_no_risk_assessment_before_the_pdpl if {
	d := fx.transfer_at(["pii-sa"], "sa-1", "de-1", {"mechanism": {"kind": "scc"}}, "2023-09-13T12:00:00Z")
	d.violations == []
	not "sa.pdpl.risk_assessment" in fx.obligation_rules(d)
	"sa.pdpl.risk_assessment" in fx.obligation_rules(fx.transfer(["pii-sa"], "sa-1", "de-1", {"mechanism": {"kind": "scc"}}))
}

# The risk assessment is owed for a transfer that relies on a safeguard
# (Transfer Regulation Art. 5, 7): a transfer refused for want of one relies on
# none and owes none.
test_no_risk_assessment_without_a_safeguard if {
	every extra in [{}, {"mechanism": {}}, {"mechanism": {"kind": "idta"}}] {
		d := fx.transfer(["pii-sa"], "sa-1", "de-1", extra)
		fx.violation_rules(d) == {"sa.pdpl.transfer_basis"}
		not "sa.pdpl.risk_assessment" in fx.obligation_rules(d)
	}
}

# A transfer to a country SDAIA has found adequate (PDPL Art. 29(1); Transfer
# Regulation Art. 2-3) needs no safeguard and owes no risk assessment, even if
# the parties also sign SCCs. SDAIA has published no list yet: the test gives
# one.
test_no_risk_assessment_to_an_adequate_country if {
	d := fx.transfer(["pii-sa"], "sa-1", "de-1", {"mechanism": {"kind": "scc"}}) with data.reference.regimes.sa_pdpl.adequacy as ["DE"]
	d.violations == []
	not "sa.pdpl.risk_assessment" in fx.obligation_rules(d)
	fx.regime(d, "sa_pdpl").grounds == [{"dataset": "pii-sa", "ground": "adequacy decision for DE", "site": "de-1"}]
}
