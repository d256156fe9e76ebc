package sovereign.lib.exemptions_test

import data.sovereign.fixtures_test as fx

ex(extra) := object.union(
	{
		"rules": ["gdpr.chapter5.no_basis"], "scope": {"datasets": ["pii-eu"], "sites": ["in-1"]},
		"reason": "DPO-approved pilot", "category": "mitigated", "expires": "2026-12-31",
	},
	extra,
)

decide(exs, at) := d if {
	d := data.sovereign.placement.decision with input as fx.placement_input(["pii-eu"], ["in-1", "us-1"], at)
		with data.inventory as object.union(fx.inventory, {"exemptions": exs})
}

test_exemption_waives_and_is_listed if {
	d := decide({"EX-1": ex({})}, fx.now)
	{v.site | some v in d.violations} == {"us-1"}
	d.exemptions == [{
		"exemption": "EX-1", "rule": "gdpr.chapter5.no_basis", "site": "in-1", "dataset": "pii-eu",
		"category": "mitigated", "reason": "DPO-approved pilot", "expires": "2026-12-31",
		"waived": "Dataset pii-eu holds personal data of EEA data subjects; site in-1 is in IN: IN is outside the EEA and not on the EU adequacy list in force on 2026-11-27.",
	}]
	d.warnings == []
}

test_exemption_valid_through_its_last_day if {
	count(decide({"EX-1": ex({})}, "2026-12-31T23:59:59Z").exemptions) == 1
	d := decide({"EX-1": ex({})}, "2027-01-01T00:00:00Z")
	d.exemptions == []
	{v.site | some v in d.violations} == {"in-1", "us-1"}
	[w.rule | some w in d.warnings] == ["exemption.not_in_force"]
}

test_exemption_not_yet_valid if {
	d := decide({"EX-1": ex({"valid_from": "2026-12-01"})}, fx.now)
	d.exemptions == []
	[w.rule | some w in d.warnings] == ["exemption.not_in_force"]
	count(decide({"EX-1": ex({"valid_from": "2026-11-27"})}, fx.now).exemptions) == 1
}

test_exemption_scope_by_tenant if {
	exs := {"EX-T": ex({"scope": {"tenants": ["acme"]}})}
	i := fx.placement_input(["pii-eu"], ["in-1"], fx.now)
	ds := [object.union(i.datasets[0], {"tenant": "acme"})]
	d := data.sovereign.placement.decision with input as object.union(i, {"datasets": ds})
		with data.inventory as object.union(fx.inventory, {"exemptions": exs})
	d.violations == []
	count(d.exemptions) == 1
	d2 := data.sovereign.placement.decision with input as i with data.inventory as object.union(
		fx.inventory,
		{"exemptions": exs},
	)
	count(d2.violations) == 1
}

test_exemption_out_of_scope_or_other_rule_waives_nothing if {
	every e in [
		ex({"scope": {"datasets": ["other"]}}),
		ex({"scope": {"sites": ["us-1"], "datasets": ["pii-eu"]}, "rules": ["dataset.residency"]}),
		object.union(object.remove(ex({}), ["scope"]), {"scope": {}}),
		object.remove(ex({}), ["expires"]),
		ex({"rules": ["jurisdiction.unknown"]}),
	] {
		d := decide({"EX-1": e}, fx.now)
		d.exemptions == []
		d.warnings == []
		count(d.violations) == 2
	}
}

test_exemption_waives_an_obligation_of_a_transfer if {
	i := fx.transfer_input(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "scc"}})
	exs := {"EX-2": ex({"rules": ["gdpr.chapter5.tia_required"]})}
	d := data.sovereign.transfer.decision with input as i with data.inventory as object.union(
		fx.inventory,
		{"exemptions": exs},
	)
	d.obligations == []
	[a.rule | some a in d.exemptions] == ["gdpr.chapter5.tia_required"]
}

# A decision before the modelled period cannot be waived into an allow.
test_before_modelled_period_cannot_be_waived if {
	ex := {"EX-9": {
		"id": "EX-9", "rules": ["library.before_modelled_period"], "scope": {"datasets": ["public"]},
		"reason": "test", "valid_from": "2000-01-01", "expires": "2030-12-31",
	}}
	inv := object.union(fx.inventory, {"exemptions": ex})
	d := data.sovereign.placement.decision with input as fx.placement_input(
		["public"],
		["de-1"],
		"2007-12-31T23:59:59Z",
	)
		with data.inventory as inv
	{v.rule | some v in d.violations} == {"library.before_modelled_period"}
	d.exemptions == []
}
