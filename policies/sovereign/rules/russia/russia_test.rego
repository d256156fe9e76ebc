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
	d1 := fx.placement_at(["pii-ru"], ["de-1"], "2015-08-31T23:59:59Z")
	d1.violations == []
	fx.obligation_rules(d1) == {"ru.152fz.cross_border_basis"} # Art. 12 applied before 242-FZ
	not fx.allowed_at("pii-ru", "de-1", "2015-09-01T00:00:00Z")
}

# Processing abroad and copies of a Russian primary are allowed only with the
# duties the law imposes: obligations, not warnings.
test_processing_abroad_owes_obligations if {
	d := fx.placement_op(["pii-ru"], ["de-1"], "process", fx.now)
	d.violations == []
	d.warnings == []
	fx.obligation_rules(d) == {"ru.152fz.foreign_copy", "ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
}

test_copy_from_a_russian_primary_owes_obligations if {
	d := fx.transfer(["pii-ru"], "ru-1", "de-1", {"type": "backup"})
	d.violations == []
	d.warnings == []
	fx.obligation_rules(d) == {"ru.152fz.foreign_copy", "ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
	some o in d.obligations
	o.rule == "ru.152fz.transfer_notification"
	contains(o.message, "notify Roskomnadzor")
}

# 266-FZ: prior notification of Roskomnadzor from 1 Mar 2023.
test_notification_from_1_march_2023 if {
	d1 := fx.transfer_at(["pii-ru"], "ru-1", "de-1", {}, "2023-02-28T23:59:59Z")
	fx.obligation_rules(d1) == {"ru.152fz.foreign_copy", "ru.152fz.cross_border_basis"}
	d2 := fx.transfer_at(["pii-ru"], "ru-1", "de-1", {}, "2023-03-01T00:00:00Z")
	fx.obligation_rules(d2) == {"ru.152fz.foreign_copy", "ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
}

test_moving_the_primary_abroad_is_refused if {
	fx.violation_rules(fx.transfer(["pii-ru"], "ru-1", "de-1", {"type": "migrate"})) == {"ru.152fz.localisation"}
	fx.violation_rules(fx.transfer(["pii-ru"], "no-1", "de-1", {})) == {"ru.152fz.localisation"}
}

# A transfer of unstated type is no copy: refused, not allowed by omission.
test_transfer_of_unstated_type_is_refused if {
	d := fx.transfer(["pii-ru"], "ru-1", "de-1", {"type": null})
	fx.violation_rules(d) == {"ru.152fz.localisation"}
	i := object.remove(fx.transfer_input(["pii-ru"], "ru-1", "de-1", {}), ["type"])
	d2 := data.sovereign.transfer.decision with input as i with data.inventory as fx.inventory
	fx.violation_rules(d2) == {"ru.152fz.localisation"}
}

# Collected in Russia, subjects unnamed: taken for Russian citizens' data.
test_collected_in_russia_without_subjects if {
	fx.rules_at(fx.placement(["pii-origin-ru"], ["de-1"]), "de-1") == {"ru.152fz.localisation"}
	fx.allowed("pii-origin-ru", "ru-1")
}

# German subjects' data collected in Russia: no localisation, but leaving Russia
# is a cross-border transfer.
test_foreign_subjects_data_collected_in_russia if {
	d := fx.placement(["pii-de-from-ru"], ["in-1"])
	not "ru.152fz.localisation" in fx.rules_at(d, "in-1")
	{o.rule | some o in d.obligations; startswith(
		o.rule,
		"ru.",
	)} == {"ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
}

test_remote_access_to_a_russian_primary if {
	site := {"de-ru": fx.site("de-ru", "DE", {"personnel_countries": ["DE"]})}
	inv := object.union(fx.inventory, {"sites": object.union(fx.sites, site)})
	i := fx.transfer_input(["pii-ru"], "ru-1", "de-ru", {"type": "remote-access"})
	d := data.sovereign.transfer.decision with input as i with data.inventory as inv
	d.violations == []
	"ru.152fz.foreign_copy" in fx.obligation_rules(d)
}

test_regimes_list if {
	d := fx.placement(["pii-ru", "public"], ["ru-1"])
	fx.applies(d, "ru", "pii-ru")
	not fx.applies(d, "ru", "public")
	fx.regime(d, "ru").period.id == "23fz"
}
