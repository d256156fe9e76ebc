package sovereign.rules.indonesia_test

import data.sovereign.fixtures_test as fx

test_public_sector_data_stays_in_indonesia if {
	fx.allowed("gov-id", "id-1")
	fx.rules_at(fx.placement(["gov-id"], ["sg-1"]), "sg-1") == {"id.gr71.public_sector_localisation"}
	fx.violation_rules(fx.transfer(["gov-id"], "id-1", "sg-1", {"type": "remote-access"})) == {"id.gr71.public_sector_localisation"}
}

test_gr71_from_10_october_2019 if {
	fx.allowed_at("gov-id", "sg-1", "2019-10-09T12:00:00Z")
}
