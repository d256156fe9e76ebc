package sovereign.rules.indonesia_test

import data.sovereign.fixtures_test as fx

test_public_sector_data_stays_in_indonesia if {
	fx.allowed("gov-id", "id-1")
	fx.rules_at(fx.placement(["gov-id"], ["sg-1"]), "sg-1") == {"id.gr71.public_sector_localisation"}
	fx.violation_rules(fx.transfer(["gov-id"], "id-1", "sg-1", {"type": "remote-access"})) == {"id.gr71.public_sector_localisation"}
}

# Before GR 71/2019, GR 82/2012 Art. 17(2) already required public-service data
# centres in Indonesia; before 15 Oct 2012 no such duty was in force.
test_gr82_before_gr71 if {
	fx.rules_at(
		fx.placement_at(["gov-id"], ["sg-1"], "2019-10-09T12:00:00Z"),
		"sg-1",
	) == {"id.gr82.public_service_localisation"}
	fx.rules_at(
		fx.placement_at(["gov-id"], ["sg-1"], "2019-10-10T00:00:00Z"),
		"sg-1",
	) == {"id.gr71.public_sector_localisation"}
	fx.rules_at(
		fx.placement_at(["gov-id"], ["sg-1"], "2012-10-15T00:00:00Z"),
		"sg-1",
	) == {"id.gr82.public_service_localisation"}
	fx.allowed_at("gov-id", "sg-1", "2012-10-14T12:00:00Z")
}
