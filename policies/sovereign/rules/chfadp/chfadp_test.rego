package sovereign.rules.chfadp_test

import data.sovereign.fixtures_test as fx

test_swiss_data_in_ch_eea_and_annex_1 if {
	fx.allowed("pii-ch", "ch-1")
	fx.allowed("pii-ch", "de-1")
	fx.allowed("pii-ch", "gb-1")
	fx.allowed("pii-ch", "mc-1")
	fx.allowed("pii-ch", "ca-1")
	fx.allowed("pii-ch", "us-chdpf")
}

test_japan_and_korea_not_in_annex_1 if {
	d := fx.placement(["pii-ch"], ["jp-1", "kr-1", "ca-gov", "us-dpf"])
	every s in ["jp-1", "kr-1", "ca-gov", "us-dpf"] {
		fx.rules_at(d, s) == {"chfadp.art16.no_basis"}
	}
}

test_swiss_us_dpf_from_15_september_2024 if {
	not fx.allowed_at("pii-ch", "us-chdpf", "2024-09-14T23:59:59Z")
	fx.allowed_at("pii-ch", "us-chdpf", "2024-09-15T00:00:00Z")
}

# Before the FADP 2020, the FADP 1992 Art. 6 barred disclosure abroad to states
# without adequate legislation unless a safeguard or an exception applied.
test_fadp_1992_before_1_september_2023 if {
	d1 := fx.placement_at(["pii-ch"], ["in-1"], "2023-08-31T12:00:00Z")
	fx.rules_at(d1, "in-1") == {"chfadp.art6.no_basis"}
	d2 := fx.placement_at(["pii-ch"], ["in-1"], "2023-09-01T00:00:00Z")
	fx.rules_at(d2, "in-1") == {"chfadp.art16.no_basis"}
}

test_fadp_1992_adequate_legislation_is_the_eea_only if {
	t := "2020-06-01T00:00:00Z"
	fx.allowed_at("pii-ch", "de-1", t)
	fx.allowed_at("pii-ch", "no-1", t)

	# Annex 1 DPO does not exist yet; the FDPIC's state list is not modelled.
	fx.rules_at(fx.placement_at(["pii-ch"], ["ca-1"], t), "ca-1") == {"chfadp.art6.no_basis"}
	fx.rules_at(fx.placement_at(["pii-ch"], ["ch-in"], t), "ch-in") == {"chfadp.art6.remote_access"}
}

test_fadp_1992_transfers if {
	t := "2020-06-01T00:00:00Z"
	fx.violation_rules(fx.transfer_at(["pii-ch"], "ch-1", "in-1", {}, t)) == {"chfadp.art6.no_basis"}
	scc := fx.transfer_at(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "scc"}}, t)
	scc.violations == []
	fx.obligation_rules(scc) == {"chfadp.art6.inform_fdpic"}
	bcr := fx.transfer_at(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "bcr"}}, t)
	fx.obligation_rules(bcr) == {"chfadp.art6.inform_fdpic"}
	fx.violation_rules(fx.transfer_at(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "certification"}}, t)) == {"chfadp.art6.no_basis"}
	fx.violation_rules(fx.transfer_at(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}}, t)) == {"chfadp.art6.derogation_not_occasional"}
	fx.clean(fx.transfer_at(
		["pii-ch"],
		"ch-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}},
		t,
	))
	fx.clean(fx.transfer_at(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "contract"}}, t))
}

test_swiss_absent_inputs_are_no_basis if {
	every extra in [{}, {"mechanism": {}}, {"mechanism": {"kind": "derogation"}}, {"mechanism": {"kind": "derogation", "derogation": "convenience"}}] {
		fx.violation_rules(fx.transfer(["pii-ch"], "ch-1", "in-1", extra)) == {"chfadp.art16.no_basis"}
	}
	d := fx.placement(["pii-origin-ch"], ["in-1", "ch-1"])
	fx.rules_at(d, "in-1") == {"chfadp.art16.no_basis"}
	fx.rules_at(d, "ch-1") == set()
}

test_swiss_remote_access if {
	d := fx.placement(["pii-ch"], ["ch-in"])
	fx.rules_at(d, "ch-in") == {"chfadp.art16.remote_access"}
}

test_swiss_transfers if {
	fx.violation_rules(fx.transfer(["pii-ch"], "ch-1", "in-1", {})) == {"chfadp.art16.no_basis"}
	d := fx.transfer(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "scc", "reference": "S-1"}})
	d.violations == []
	fx.obligation_rules(d) == {"chfadp.art16.safeguards"}
	d2 := fx.transfer(["pii-ch"], "ch-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})
	d2.violations == []
	d2.obligations == []
}
