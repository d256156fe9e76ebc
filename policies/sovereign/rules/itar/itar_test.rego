package sovereign.rules.itar_test

import data.sovereign.fixtures_test as fx

test_plaintext_only_at_us_persons_sites if {
	fx.allowed("itar-plain", "us-itar")
	fx.rules_at(fx.placement(["itar-plain"], ["us-1"]), "us-1") == {"itar.plaintext_foreign_persons"}
	fx.rules_at(fx.placement(["itar-plain"], ["de-1"]), "de-1") == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
}

test_encrypted_anywhere_but_126_1_and_russia if {
	fx.allowed("itar-e2e", "de-1")
	fx.allowed("itar-e2e", "in-1")
	d := fx.placement(["itar-e2e"], ["cn-1", "ru-1", "sg-1"])
	fx.rules_at(d, "cn-1") == {"itar.encrypted_proscribed_country"}
	fx.rules_at(d, "ru-1") == {"itar.encrypted_proscribed_country"}
	fx.rules_at(d, "sg-1") == set()
}

test_itar_120_54_from_25_march_2020 if {
	fx.allowed_at("itar-e2e", "cn-1", "2020-03-24T12:00:00Z")
}
