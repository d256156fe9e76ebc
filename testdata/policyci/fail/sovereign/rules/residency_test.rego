package sovereign.rules.residency_test

import data.sovereign.rules.residency

sites := {"fra-1": {"country": "DE"}, "iad-1": {"country": "US"}}

test_eea_member_allowed if {
	count(residency.placement_violations) == 0 with input as {"kind": "placement", "datasets": [{"id": "d", "residency": ["EEA"]}], "candidates": ["fra-1"]}
		with data.inventory.sites as sites
}

test_outside_refused if {
	some v in residency.placement_violations with input as {"kind": "placement", "datasets": [{"id": "d", "residency": ["EEA"]}], "candidates": ["iad-1"]}
		with data.inventory.sites as sites
	v.rule == "dataset.residency"
	v.site == "iad-1"
}

test_us_allowed_wrongly if {
	count(residency.placement_violations) == 0 with input as {"kind": "placement", "datasets": [{"id": "d", "residency": ["EEA"]}], "candidates": ["iad-1"]}
		with data.inventory.sites as sites
}
