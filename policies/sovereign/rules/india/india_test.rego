package sovereign.rules.india_test

import data.sovereign.fixtures_test as fx

test_payment_data_stored_only_in_india if {
	fx.allowed("pay-in", "in-1")
	d := fx.placement(["pay-in"], ["sg-1"])
	fx.rules_at(d, "sg-1") == {"in.rbi.payment_localisation"}
}

test_processing_abroad_owes_return_within_24h if {
	i := object.union(fx.placement_input(["pay-in"], ["sg-1"], fx.now), {"operation": "process"})
	d := data.sovereign.placement.decision with input as i with data.inventory as fx.inventory
	d.violations == []
	fx.obligation_rules(d) == {"in.rbi.return_24h"}
	some o in d.obligations
	contains(o.message, "24 hours")
}

test_rbi_deadline_15_october_2018 if {
	fx.allowed_at("pay-in", "sg-1", "2018-10-14T12:00:00Z")
	not fx.allowed_at("pay-in", "sg-1", "2018-10-15T00:00:00Z")
}

test_payment_transfers if {
	fx.violation_rules(fx.transfer(["pay-in"], "in-1", "sg-1", {})) == {"in.rbi.payment_localisation"}
	d := fx.transfer(["pay-in"], "in-1", "sg-1", {"type": "remote-access"})
	d.violations == []
	fx.obligation_rules(d) == {"in.rbi.return_24h"}
}

# Storing abroad is refused; it owes no return within 24 hours (that duty is
# processing's): the refusal is the whole answer.
test_storing_abroad_owes_no_return if {
	os := data.sovereign.rules.india.obligations with input as fx.placement_input(["pay-in"], ["sg-1"], fx.now)
		with data.inventory as fx.inventory
	count(os) == 0
	fx.rules_at(fx.placement(["pay-in"], ["sg-1"]), "sg-1") == {"in.rbi.payment_localisation"}
}

# Processing in India owes nothing: the 24-hour return is for data abroad.
test_processing_in_india_owes_no_return if {
	i := object.union(fx.placement_input(["pay-in"], ["in-1"], fx.now), {"operation": "process"})
	d := data.sovereign.placement.decision with input as i with data.inventory as fx.inventory
	d.violations == []
	d.obligations == []
}

# Before the circular's deadline (15 Oct 2018) no storage rule was in force, so
# processing abroad owed no return within 24 hours (the FAQ of 2019 read the
# circular, which imposed nothing earlier).
test_no_return_duty_before_15_october_2018 if {
	d := fx.placement_op(["pay-in"], ["sg-1"], "process", "2018-10-14T12:00:00Z")
	d.violations == []
	d.obligations == []
	t := fx.transfer_at(["pay-in"], "in-1", "sg-1", {"type": "remote-access"}, "2018-10-14T12:00:00Z")
	t.violations == []
	t.obligations == []
	fx.obligation_rules(fx.placement_op(["pay-in"], ["sg-1"], "process", "2018-10-15T00:00:00Z")) == {"in.rbi.return_24h"}
}
