package sovereign.rules.library_test

import data.sovereign.fixtures_test as fx

# Every regime package reports in every decision, before the floor too.
regime_keys := {
	"certification", "ch_fadp", "cn", "de_sgbv393", "gdpr", "in_rbi", "id_gr71", "itar", "jurisdiction",
	"library", "residency", "ru", "sa_pdpl", "fr_secnumcloud", "sovereignty", "tr_kvkk", "uk_gdpr", "vn",
}

test_every_regime_reports if {
	every t in [fx.now, "2007-12-31T23:59:59Z", "2008-01-01T00:00:00Z"] {
		d := fx.placement_at(["pii-eu"], ["de-1"], t)
		{r.regime | some r in d.regimes} == regime_keys
		tr := fx.transfer_at(["pii-eu"], "de-1", "in-1", {}, t)
		{r.regime | some r in tr.regimes} == regime_keys
	}
}

test_every_regime_lists_every_dataset if {
	d := fx.placement(["pii-eu", "public", "pii-ru"], ["de-1"])
	every r in d.regimes {
		{e.dataset | some e in r.datasets} == {"pii-eu", "public", "pii-ru"}
		every e in r.datasets {
			count(e.why) > 0
		}
	}
}

# --- the floor -------------------------------------------------------------------

test_before_the_floor_nothing_is_allowed if {
	d := fx.placement_at(["public"], ["de-1", "atlantis-1"], "2007-12-31T23:59:59Z")
	fx.rules_at(d, "de-1") == {"library.before_modelled_period"}
	"library.before_modelled_period" in fx.rules_at(d, "atlantis-1")
	fx.violation_rules(fx.transfer_at(["public"], "de-1", "no-1", {}, "1999-01-01T00:00:00Z")) == {"library.before_modelled_period"}
	fx.regime(d, "gdpr").period.status == "before_modelled_period"
	some v in d.violations
	contains(v.message, "before 2008-01-01, the earliest date the policy library models")
}

test_the_floor_itself_is_modelled if {
	fx.allowed_at("public", "de-1", "2008-01-01T00:00:00Z")
	fx.placement_at(["public"], ["de-1"], "2008-01-01T00:00:00Z").violations == []
}

test_without_a_floor_nothing_is_allowed if {
	d := fx.placement(["public"], ["de-1"]) with data.reference.modelled_from as null
	fx.rules_at(d, "de-1") == {"library.before_modelled_period"}
	some v in d.violations
	contains(v.message, "(no floor in the reference data)")
}

# --- absent or undefined inputs never allow, regime by regime -----------------------

# Each regime: a dataset in its scope, an origin and a destination the regime
# restricts, and the rule refusing it. A transfer naming no mechanism, a mechanism
# without a kind, a derogation without a ground, or no frequency is refused.
cases := [
	["pii-eu", "de-1", "in-1", "gdpr.chapter5.no_basis"],
	["pii-origin-de", "de-1", "in-1", "gdpr.chapter5.no_basis"],
	["subjects-eu", "de-1", "in-1", "gdpr.chapter5.no_basis"],
	["pii-gb", "gb-1", "in-1", "ukgdpr.chapter5.no_basis"],
	["pii-origin-gb", "gb-1", "in-1", "ukgdpr.chapter5.no_basis"],
	["pii-ch", "ch-1", "in-1", "chfadp.art16.no_basis"],
	["pii-origin-ch", "ch-1", "in-1", "chfadp.art16.no_basis"],
	["cn-contract", "cn-1", "sg-1", "cn.pipl.standard_contract"],
	["cn-nocount", "cn-1", "sg-1", "cn.pipl.security_assessment"],
	["pii-origin-cn", "cn-1", "sg-1", "cn.pipl.standard_contract"],
	["cn-important", "cn-1", "sg-1", "cn.dsl.security_assessment"],
	["pii-tr", "tr-1", "de-1", "tr.kvkk.transfer_basis"],
	["pii-origin-tr", "tr-1", "de-1", "tr.kvkk.transfer_basis"],
	["pii-sa", "sa-1", "de-1", "sa.pdpl.transfer_basis"],
	["pii-origin-sa", "sa-1", "de-1", "sa.pdpl.transfer_basis"],
]

absent := [
	{},
	{"mechanism": {}},
	{"mechanism": {"reference": "R-1", "tia_reference": "T-1"}},
	{"mechanism": {"kind": ""}},
	{"mechanism": null},
	{"mechanism": {"kind": "derogation"}},
	{"mechanism": {"kind": "derogation"}, "frequency": "one-off"},
]

test_absent_mechanism_never_allows if {
	every c in cases {
		[ds, from, to, rule] := c
		every extra in absent {
			d := fx.transfer([ds], from, to, extra)
			rule in fx.violation_rules(d)
		}
	}
}

# A placement carries no mechanism: the same datasets are refused there.
test_placement_never_allows_without_a_ground if {
	every c in cases {
		c[3] in fx.rules_at(fx.placement([c[0]], [c[2]]), c[2])
	}
}

# Localisation regimes: absent operation, type or encryption is the strict case.
test_localisation_absent_fields if {
	i := object.remove(fx.placement_input(["pay-in"], ["sg-1"], fx.now), ["operation"])
	d := data.sovereign.placement.decision with input as i with data.inventory as fx.inventory
	fx.rules_at(d, "sg-1") == {"in.rbi.payment_localisation"}
	t := object.remove(fx.transfer_input(["pay-in"], "in-1", "sg-1", {}), ["type"])
	d2 := data.sovereign.transfer.decision with input as t with data.inventory as fx.inventory
	fx.violation_rules(d2) == {"in.rbi.payment_localisation"}
	fx.violation_rules(fx.transfer(["gov-id"], "id-1", "sg-1", {"type": "remote-access"})) == {"id.gr71.public_sector_localisation"}
	fx.rules_at(fx.placement(["itar-noenc"], ["us-1"]), "us-1") == {"itar.plaintext_foreign_persons"}
}

# Sites with absent facts: no certifications, no establishment label, no parents.
test_site_absent_fields if {
	site := {"fr-bare": {"id": "fr-bare", "kind": "edge", "country": "FR", "operator": {"name": "X", "country": "FR"}}}
	inv := object.union(fx.inventory, {"sites": object.union(fx.sites, site)})
	d := data.sovereign.placement.decision with input as fx.placement_input(
		["two-certs", "snc", "health-de2", "sov"],
		["fr-bare"],
		fx.now,
	)
		with data.inventory as inv
	fx.rules_at(d, "fr-bare") == {
		"dataset.required_certification", "fr.secnumcloud.qualification",
		"fr.secnumcloud.immunity", # no parent_countries stated: not shown immune
		"de.sgbv393.establishment", "de.sgbv393.c5",
		"sovereign.foreign_control", # nor free of foreign control
		"sovereign.foreign_personnel", # no personnel_countries stated
	}
}

# A period a regime does not model refuses the data it governs, with the source
# of what is not modelled.
test_regime_not_modelled_names_the_period if {
	d := fx.placement_at(["health-de2"], ["de-1"], "2020-01-01T00:00:00Z")
	[v] := d.violations
	v.rule == "library.regime_not_modelled"
	contains(v.message, "§80 SGB X")
}
