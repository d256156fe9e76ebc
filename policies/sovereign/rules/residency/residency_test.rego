package sovereign.rules.residency_test

import data.sovereign.fixtures_test as fx

test_residency_by_country_list if {
	fx.allowed("resid-list", "de-1")
	fx.allowed("resid-list", "fr-old")
	d := fx.placement(["resid-list"], ["no-1"])
	d.violations == [{
		"site": "no-1", "dataset": "resid-list", "rule": "dataset.residency",
		"message": "Dataset resid-list may reside only in DE, FR; site no-1 is in NO.",
		"citation": "Dataset residency policy (contractual)",
	}]
}

test_residency_by_group if {
	fx.allowed("resid-eea", "no-1")
	fx.allowed("resid-eu", "de-1")
	not fx.allowed("resid-eu", "no-1") # Norway is EEA, not EU
	not fx.allowed("resid-eea", "ch-1")
}

test_residency_groups_are_dated if {
	fx.allowed_at("resid-eu", "gb-1", "2019-06-01T00:00:00Z")
	not fx.allowed_at("resid-eu", "gb-1", "2020-02-01T00:00:00Z")
}

test_residency_with_unknown_names_allows_nothing if {
	d := fx.placement(["resid-bogus"], ["de-1", "zz-1"])
	fx.rules_at(d, "de-1") == {"dataset.residency"}
	fx.rules_at(d, "zz-1") == {"dataset.residency", "jurisdiction.unknown"}
}

test_empty_residency_allows_nothing if {
	d := fx.placement(["resid-empty"], ["de-1"])
	fx.message_at(
		d,
		"de-1",
		"dataset.residency",
	) == "Dataset resid-empty may reside only in no jurisdiction (its residency list is empty); site de-1 is in DE."
}

test_no_residency_no_constraint if {
	fx.allowed("public", "in-1")
}

test_residency_binds_stored_copies if {
	d := fx.transfer(["resid-list"], "de-1", "no-1", {"type": "backup"})
	fx.violation_rules(d) == {"dataset.residency"}
}

test_residency_does_not_bind_remote_access if {
	d := fx.transfer(["resid-list"], "de-1", "no-1", {"type": "remote-access"})
	d.violations == []
}

test_residency_deny_list if {
	d := {"id": "no-us", "classification": "internal", "categories": ["internal"], "residency_deny": ["US", "EFTA"]}
	decision := data.sovereign.placement.decision with input as {"kind": "placement", "time": fx.now, "datasets": [d], "candidates": ["de-1", "us-1", "no-1"]}
		with data.inventory as fx.inventory
	{[v.site, v.rule] | some v in decision.violations} == {["us-1", "dataset.residency_denied"], ["no-1", "dataset.residency_denied"]}
}

# The regimes list names the allow-list as the ground of the sites inside it,
# and of no other.
test_residency_grounds_in_the_regimes_list if {
	d := fx.placement(["resid-list"], ["de-1", "us-1"])
	fx.regime(d, "residency").grounds == [{"dataset": "resid-list", "ground": "DE is within the residency allow-list", "site": "de-1"}]
}
