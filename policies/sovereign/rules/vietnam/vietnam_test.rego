package sovereign.rules.vietnam_test

import data.sovereign.fixtures_test as fx

test_vietnamese_data_abroad_owes_obligations if {
	d := fx.placement(["pii-vn"], ["sg-1", "vn-1"])
	d.violations == []
	{[o.site, o.rule] | some o in d.obligations} == {["sg-1", "vn.decree53.local_copy"], ["sg-1", "vn.pdpl.transfer_dossier"]}
}

test_pdpl_dossier_from_1_january_2026 if {
	d := fx.placement_at(["pii-vn"], ["sg-1"], "2025-12-31T23:59:59Z")
	fx.obligation_rules(d) == {"vn.decree53.local_copy"}
}

test_data_collected_abroad_needs_no_local_copy if {
	fx.obligation_rules(fx.placement(["pii-vn-abroad"], ["sg-1"])) == {"vn.pdpl.transfer_dossier"}
}

test_remote_access_is_a_transfer_not_a_copy if {
	fx.obligation_rules(fx.transfer(["pii-vn"], "vn-1", "sg-1", {"type": "remote-access"})) == {"vn.pdpl.transfer_dossier"}
}
