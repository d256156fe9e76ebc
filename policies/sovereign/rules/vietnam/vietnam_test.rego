package sovereign.rules.vietnam_test

import data.sovereign.fixtures_test as fx

test_vietnamese_data_abroad_owes_obligations if {
	d := fx.placement(["pii-vn"], ["sg-1", "vn-1"])
	d.violations == []
	{[o.site, o.rule] | some o in d.obligations} == {["sg-1", "vn.decree53.local_copy"], ["sg-1", "vn.pdpl.transfer_dossier"]}
}

# The dossier is owed from Decree 13/2023 (1 Jul 2023), before the PDP Law.
test_dossier_from_decree_13_2023 if {
	d := fx.placement_at(["pii-vn"], ["sg-1"], "2025-12-31T23:59:59Z")
	fx.obligation_rules(d) == {"vn.decree53.local_copy", "vn.pdpl.transfer_dossier"}
	fx.obligation_rules(fx.placement_at(["pii-vn"], ["sg-1"], "2023-06-30T12:00:00Z")) == {"vn.decree53.local_copy"}
	fx.obligation_rules(fx.placement_at(["pii-vn"], ["sg-1"], "2023-07-01T00:00:00Z")) == {"vn.decree53.local_copy", "vn.pdpl.transfer_dossier"}
	fx.placement_at(["pii-vn"], ["sg-1"], "2022-09-30T12:00:00Z").obligations == []
	{o.citation | some o in d.obligations; o.rule == "vn.pdpl.transfer_dossier"} == {"Decree 13/2023/ND-CP Art. 25"}
}

test_data_collected_abroad_needs_no_local_copy if {
	fx.obligation_rules(fx.placement(["pii-vn-abroad"], ["sg-1"])) == {"vn.pdpl.transfer_dossier"}
}

test_remote_access_is_a_transfer_not_a_copy if {
	fx.obligation_rules(fx.transfer(["pii-vn"], "vn-1", "sg-1", {"type": "remote-access"})) == {"vn.pdpl.transfer_dossier"}
}

# The dossier is owed only in a modelled period, whatever a period not in force
# carries: its status decides, not the absence of its fields.
test_no_dossier_before_the_rule_is_in_force if {
	before := [{
		"id": "none", "status": "not_in_force", "valid_from": "2008-01-01", "valid_until": null,
		"source": "before Decree 13/2023", "dossier": "a dossier", "citation": "a citation",
	}]
	d := fx.placement(["pii-vn"], ["sg-1"]) with data.reference.regimes.vn_pdpl.versions as before
	fx.obligation_rules(d) == {"vn.decree53.local_copy"}
}

# The regimes list gives the ground of each site: the duties apply, none refuses.
test_vietnam_grounds_in_the_regimes_list if {
	d := fx.placement(["pii-vn"], ["sg-1"])
	fx.regime(d, "vn").grounds == [{"dataset": "pii-vn", "ground": "the obligations of Decree 53/2022 and the PDP rules apply", "site": "sg-1"}]
}
