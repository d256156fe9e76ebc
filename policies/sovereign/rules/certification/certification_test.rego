package sovereign.rules.certification_test

import data.sovereign.fixtures_test as fx

test_required_certification_held if {
	fx.allowed("c5-data", "de-1")
}

test_required_certification_missing if {
	d := fx.placement(["c5-data"], ["no-1"])
	d.violations == [{
		"site": "no-1", "dataset": "c5-data", "rule": "dataset.required_certification",
		"message": "Dataset c5-data requires a current C5 certification: site no-1 holds no C5 certification.",
		"citation": "Dataset certification policy (contractual)",
	}]
}

test_required_certification_expired if {
	d := fx.placement(["c5-data"], ["fr-old"])
	fx.message_at(
		d,
		"fr-old",
		"dataset.required_certification",
	) == "Dataset c5-data requires a current C5 certification: site fr-old's C5 certification was valid only until 2025-12-31 (decision date 2026-11-27)."
}

test_certificate_valid_through_its_last_day if {
	fx.allowed_at("c5-data", "de-1", "2027-06-30T23:59:59Z")
	not fx.allowed_at("c5-data", "de-1", "2027-07-01T00:00:00Z")
	fx.allowed_at("c5-data", "fr-old", "2025-12-31T12:00:00Z")
}

test_certificate_without_expiry_counts if {
	d := {"id": "iso", "classification": "internal", "required_certifications": ["ISO27001"]}
	decision := data.sovereign.placement.decision with input as {"kind": "placement", "time": fx.now, "datasets": [d], "candidates": ["de-1", "us-1", "no-1"]}
		with data.inventory as fx.inventory
	{v.site | some v in decision.violations} == {"no-1"}
}

test_each_missing_scheme_is_reported if {
	d := fx.placement(["two-certs"], ["de-1"])
	{v.message | some v in d.violations} == {"Dataset two-certs requires a current HDS certification: site de-1 holds no HDS certification."}
	d2 := fx.placement(["two-certs"], ["no-1"])
	count(d2.violations) == 2
}

test_certifications_bind_stored_copies_only if {
	fx.violation_rules(fx.transfer(["two-certs"], "de-1", "no-1", {"type": "migrate"})) == {"dataset.required_certification"}
	fx.transfer(["two-certs"], "de-1", "no-1", {"type": "remote-access"}).violations == []
}

# The regimes list names the current certifications as the ground of the
# sites holding them, and of no other.
test_certification_grounds_in_the_regimes_list if {
	d := fx.placement(["c5-data"], ["de-1", "fr-old"])
	fx.regime(d, "certification").grounds == [{"dataset": "c5-data", "ground": "holds current C5", "site": "de-1"}]
}
