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

# Art. 18(5) localises the databases of Russian citizens' data only: German
# subjects' data collected in Russia, copied abroad from a Russian primary,
# owes the Art. 12 duties of a cross-border transfer but no foreign-copy duty.
test_no_foreign_copy_duty_for_foreign_subjects_data if {
	d := fx.transfer(["pii-de-from-ru"], "ru-1", "in-1", {"type": "replicate"})
	{v.rule | some v in d.violations; startswith(v.rule, "ru.")} == set() # the GDPR refuses it: DE subjects
	{o.rule | some o in d.obligations; startswith(o.rule, "ru.")} == {"ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
	p := fx.placement_op(["pii-de-from-ru"], ["in-1"], "process", fx.now)
	{o.rule | some o in p.obligations; startswith(o.rule, "ru.")} == {"ru.152fz.cross_border_basis", "ru.152fz.transfer_notification"}
}

# Before 242-FZ (1 Sep 2015) there was no localisation duty, so no duty to keep
# a Russian primary current: a copy abroad owed the Art. 12 basis only.
test_no_foreign_copy_duty_before_1_september_2015 if {
	d := fx.transfer_at(["pii-ru"], "ru-1", "de-1", {"type": "replicate"}, "2015-08-31T12:00:00Z")
	d.violations == []
	fx.obligation_rules(d) == {"ru.152fz.cross_border_basis"}
	p := fx.placement_op(["pii-ru"], ["de-1"], "process", "2015-08-31T12:00:00Z")
	fx.obligation_rules(p) == {"ru.152fz.cross_border_basis"}
}

# A site in Russia holds the data on its location alone: the regimes list
# gives no ground of data abroad (a copy, processing, the citizens-only scope
# of Art. 18(5)) for it.
test_a_site_in_russia_is_grounded_by_its_location_alone if {
	d := fx.placement_op(["pii-ru", "pii-de-from-ru"], ["ru-1"], "process", fx.now)
	fx.regime(d, "ru").grounds == [
		{"dataset": "pii-ru", "ground": "the site is in Russia", "site": "ru-1"},
		{"dataset": "pii-de-from-ru", "ground": "the site is in Russia", "site": "ru-1"},
	]
	t := fx.transfer(["pii-ru", "pii-de-from-ru"], "de-1", "ru-1", {"type": "replicate"})
	fx.regime(t, "ru").grounds == [
		{"dataset": "pii-ru", "ground": "the site is in Russia", "site": "ru-1"},
		{"dataset": "pii-de-from-ru", "ground": "the site is in Russia", "site": "ru-1"},
	]
}
