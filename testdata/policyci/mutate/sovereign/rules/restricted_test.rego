package sovereign.rules.restricted_test

import data.sovereign.rules.restricted

sites := {"fra-1": {"country": "DE"}, "iad-1": {"country": "US"}}

decide(class, site) := vs if {
	vs := restricted.placement_violations with input as {"kind": "placement", "datasets": [{"id": "d", "classification": class}], "candidates": [site]}
		with data.inventory.sites as sites
}

test_restricted_outside_germany_refused if {
	some v in decide("restricted", "iad-1")
	v.site == "iad-1"
}

test_restricted_in_germany_allowed if count(decide("restricted", "fra-1")) == 0

test_internal_anywhere if count(decide("internal", "iad-1")) == 0
