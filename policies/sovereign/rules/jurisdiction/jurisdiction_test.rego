package sovereign.rules.jurisdiction_test

import data.sovereign.fixtures_test as fx

test_unknown_jurisdiction_is_refused if {
	d := fx.placement(["public"], ["xk-1", "de-1"])
	d.violations == [{
		"site": "xk-1", "dataset": "public", "rule": "jurisdiction.unknown",
		"message": "Site xk-1 is in XK, which is not a jurisdiction the policy library knows; nothing is allowed there by omission.",
		"citation": "Sovereign policy library (deny by omission)",
	}]
	fx.violation_rules(fx.transfer(["public"], "de-1", "xk-1", {})) == {"jurisdiction.unknown"}
}
