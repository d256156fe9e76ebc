package sovereign.rules.secnumcloud_test

import data.sovereign.fixtures_test as fx

test_qualified_eu_owned_site if {
	fx.allowed("snc", "fr-snc")
	fx.allowed("snc-cert", "fr-snc")
}

test_qualification_required if {
	fx.rules_at(fx.placement(["snc"], ["de-1"]), "de-1") == {"fr.secnumcloud.qualification"}
}

test_non_eu_parent_refused if {
	d := fx.placement(["snc"], ["fr-snc-us"])
	fx.rules_at(d, "fr-snc-us") == {"fr.secnumcloud.immunity"}
	contains(fx.message_at(d, "fr-snc-us", "fr.secnumcloud.immunity"), "incorporated in US")
}

# Before the SREN law the rules for sensitive State data are not modelled:
# refused, even at a qualified site. A contractual SecNumCloud requirement binds
# on every date.
test_before_sren_not_modelled if {
	d := fx.placement_at(["snc", "snc-cert"], ["fr-snc", "de-1"], "2024-05-22T12:00:00Z")
	{[v.dataset, v.site, v.rule] | some v in d.violations} == {
		["snc", "fr-snc", "library.regime_not_modelled"],
		["snc", "de-1", "library.regime_not_modelled"],
		["snc-cert", "de-1", "fr.secnumcloud.qualification"],
		["snc-cert", "de-1", "dataset.required_certification"],
	}
	fx.allowed_at("snc", "fr-snc", "2024-05-23T00:00:00Z")
}

# Sensitive State data may be moved only to a qualified, EU-controlled cloud
# (SREN law Art. 31): a transfer is refused as the placement at its destination.
test_transfers_of_sensitive_state_data if {
	fx.violation_rules(fx.transfer(["snc"], "fr-snc", "de-1", {})) == {"fr.secnumcloud.qualification"}
	fx.violation_rules(fx.transfer(["snc"], "fr-snc", "fr-snc-us", {})) == {"fr.secnumcloud.immunity"}
	fx.clean(fx.transfer(["snc"], "fr-snc", "fr-snc", {}))
	fx.violation_rules(fx.transfer_at(["snc"], "fr-snc", "fr-snc", {}, "2024-05-22T12:00:00Z")) == {"library.regime_not_modelled"}
}
