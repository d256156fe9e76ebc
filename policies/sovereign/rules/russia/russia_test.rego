package sovereign.rules.russia_test

import data.sovereign.fixtures_test as fx

test_primary_store_only_in_russia if {
	fx.allowed("pii-ru", "ru-1")
	d := fx.placement(["pii-ru"], ["de-1"])
	fx.rules_at(d, "de-1") == {"ru.152fz.localisation"}
	some v in d.violations
	v.citation == "152-FZ Art. 18(5) (as amended by 23-FZ)"
}

test_wording_before_23_fz if {
	d := fx.placement_at(["pii-ru"], ["de-1"], "2025-06-30T12:00:00Z")
	some v in d.violations
	v.citation == "152-FZ Art. 18(5) (as introduced by 242-FZ)"
}

test_localisation_from_1_september_2015 if {
	fx.allowed_at("pii-ru", "de-1", "2015-08-31T23:59:59Z")
	not fx.allowed_at("pii-ru", "de-1", "2015-09-01T00:00:00Z")
}

test_processing_abroad_is_a_warning if {
	i := object.union(fx.placement_input(["pii-ru"], ["de-1"], fx.now), {"operation": "process"})
	d := data.sovereign.placement.decision with input as i with data.inventory as fx.inventory
	d.violations == []
	d.obligations == []
	{w.rule | some w in d.warnings} == {"ru.152fz.foreign_copy"}
}

test_copy_from_a_russian_primary_is_a_warning if {
	d := fx.transfer(["pii-ru"], "ru-1", "de-1", {"type": "backup"})
	d.violations == []
	{w.rule | some w in d.warnings} == {"ru.152fz.foreign_copy"}
}

test_moving_the_primary_abroad_is_refused if {
	fx.violation_rules(fx.transfer(["pii-ru"], "ru-1", "de-1", {"type": "migrate"})) == {"ru.152fz.localisation"}
	fx.violation_rules(fx.transfer(["pii-ru"], "no-1", "de-1", {})) == {"ru.152fz.localisation"}
}
