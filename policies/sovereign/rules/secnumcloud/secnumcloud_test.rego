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

test_sren_from_23_may_2024 if {
	fx.allowed_at("snc", "de-1", "2024-05-22T12:00:00Z")
}
