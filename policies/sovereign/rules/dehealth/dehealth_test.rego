package sovereign.rules.dehealth_test

import data.sovereign.fixtures_test as fx

test_health_data_at_a_german_c5_type2_site if {
	fx.allowed("health-de", "de-1")
	fx.allowed("health-de2", "de-est")
}

test_location_outside_permitted_states if {
	d := fx.placement(["health-de2"], ["in-c5"])
	fx.rules_at(d, "in-c5") == {"de.sgbv393.location"}
}

test_german_establishment_required if {
	d := fx.placement(["health-de2"], ["de-us"])
	fx.rules_at(d, "de-us") == {"de.sgbv393.establishment", "de.sgbv393.c5"}
	contains(fx.message_at(d, "de-us", "de.sgbv393.establishment"), "Hyperscaler EMEA Ltd (IE)")
}

test_c5_type2_from_1_july_2025 if {
	fx.allowed_at("health-de2", "de-c5t1", "2025-06-30T23:59:59Z")
	d := fx.placement_at(["health-de2"], ["de-c5t1"], "2025-07-01T00:00:00Z")
	fx.rules_at(d, "de-c5t1") == {"de.sgbv393.c5"}
	fx.message_at(
		d,
		"de-c5t1",
		"de.sgbv393.c5",
	) == "Dataset health-de2 holds health or social data; §393 SGB V requires a current BSI C5 attestation (type2) of the processing body on 2025-07-01, and site de-c5t1 holds none."
}

# Before §393 SGB V the law of such processing is not modelled: refused, not
# allowed by omission - even in Germany.
test_before_sgb_v_393_not_modelled if {
	d := fx.placement_at(["health-de2"], ["de-us", "de-1"], "2024-06-30T12:00:00Z")
	fx.rules_at(d, "de-us") == {"library.regime_not_modelled"}
	fx.rules_at(d, "de-1") == {"library.regime_not_modelled"}
	fx.regime(d, "de_sgbv393").period.status == "not_modelled"
	fx.allowed_at("health-de2", "de-1", "2024-07-01T00:00:00Z")
}

test_site_without_certifications_or_operator_labels if {
	site := {"de-bare": {"id": "de-bare", "kind": "on-prem", "country": "DE", "operator": {"name": "X", "country": "FR"}}}
	inv := object.union(fx.inventory, {"sites": object.union(fx.sites, site)})
	d := data.sovereign.placement.decision with input as fx.placement_input(
		["health-de2"],
		["de-bare"],
		fx.now,
	)
		with data.inventory as inv
	fx.rules_at(d, "de-bare") == {"de.sgbv393.establishment", "de.sgbv393.c5"}
}

# §393 SGB V governs where health and social data is processed, so a transfer
# to a site it does not allow is refused as the placement is (a transfer
# decision asks the same question of its destination).
test_transfers_to_a_site_393_does_not_allow if {
	fx.violation_rules(fx.transfer(["health-de2"], "de-1", "in-c5", {})) == {"de.sgbv393.location"}
	fx.violation_rules(fx.transfer(["health-de2"], "de-1", "de-us", {})) == {"de.sgbv393.establishment", "de.sgbv393.c5"}
	fx.clean(fx.transfer(["health-de2"], "de-1", "de-est", {}))
	fx.violation_rules(fx.transfer_at(["health-de2"], "de-1", "de-1", {}, "2024-06-30T12:00:00Z")) == {"library.regime_not_modelled"}
}
