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

test_fadp_applies_from_1_september_2023 if {
	fx.allowed_at("pii-ch", "in-1", "2023-08-31T12:00:00Z")
	not fx.allowed_at("pii-ch", "in-1", "2023-09-01T00:00:00Z")
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
