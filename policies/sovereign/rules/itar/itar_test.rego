package sovereign.rules.itar_test

import data.sovereign.fixtures_test as fx

test_plaintext_only_at_us_persons_sites if {
	fx.allowed("itar-plain", "us-itar")
	fx.rules_at(fx.placement(["itar-plain"], ["us-1"]), "us-1") == {"itar.plaintext_foreign_persons"}
	fx.rules_at(
		fx.placement(["itar-plain"], ["de-1"]),
		"de-1",
	) == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
}

test_encrypted_anywhere_but_126_1_and_russia if {
	fx.allowed("itar-e2e", "de-1")
	fx.allowed("itar-e2e", "in-1")
	d := fx.placement(["itar-e2e"], ["cn-1", "ru-1", "sg-1"])
	fx.rules_at(d, "cn-1") == {"itar.encrypted_proscribed_country"}
	fx.rules_at(d, "ru-1") == {"itar.encrypted_proscribed_country"}
	fx.rules_at(d, "sg-1") == set()
}

# Before 25 Mar 2020 encryption took nothing out of export: encrypted data is
# held to the plaintext rules (refused outside the US, and in the US without
# US-persons-only personnel).
test_no_encryption_carve_out_before_25_march_2020 if {
	d := fx.placement_at(["itar-e2e"], ["cn-1", "de-1", "us-itar", "us-1"], "2020-03-24T12:00:00Z")
	fx.rules_at(d, "cn-1") == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
	fx.rules_at(d, "de-1") == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
	fx.rules_at(d, "us-itar") == set()
	fx.rules_at(d, "us-1") == {"itar.plaintext_foreign_persons"}
	fx.allowed_at("itar-e2e", "de-1", "2020-03-25T00:00:00Z")
}

test_absent_encryption_is_plaintext if {
	fx.rules_at(
		fx.placement(["itar-noenc"], ["de-1"]),
		"de-1",
	) == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
	fx.rules_at(
		fx.placement(["itar-plain"], ["de-1"]),
		"de-1",
	) == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
}

# Sending technical data abroad is an export (22 CFR 120.50): a transfer is
# refused exactly as a placement at its destination would be.
test_transfers_of_technical_data if {
	fx.violation_rules(fx.transfer(["itar-plain"], "us-itar", "de-1", {})) == {"itar.plaintext_export", "itar.plaintext_foreign_persons"}
	fx.violation_rules(fx.transfer(["itar-e2e"], "us-itar", "cn-1", {})) == {"itar.encrypted_proscribed_country"}
	fx.transfer(["itar-e2e"], "us-itar", "de-1", {}).violations == []
}
