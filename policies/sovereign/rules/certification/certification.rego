# METADATA
# title: Required certifications
# description: >-
#   Every scheme in a dataset's required_certifications must be held by each site
#   storing it, with valid_until absent or on or after the decision date
#   (valid_until is the last day the certificate is valid).
package sovereign.rules.certification

import data.sovereign.lib

# METADATA
# title: Required certification missing or expired at the site
# custom:
#   id: dataset.required_certification
#   effect: deny
#   citation: Dataset certification policy (contractual)
#   source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policies.md
#   example: patient-records-de (required_certifications [C5]) at fra-2, whose C5 expired on 2025-12-31
violations contains v if {
	some d in input.datasets
	required := d.required_certifications
	count(required) > 0
	did := lib.dataset_id(d)
	t := lib.today
	targets := lib.targets
	some id, site in targets
	held := {cert.scheme | some cert in site.certifications; object.get(cert, "valid_until", t) >= t}
	some scheme in required
	not held[scheme]
	v := {
		"site": id, "dataset": did, "rule": "dataset.required_certification",
		"message": sprintf("Dataset %s requires a current %s certification: %s.", [did, scheme, gap(id, site, scheme)]),
		"citation": "Dataset certification policy (contractual)",
	}
}

# gap says why the site does not hold the scheme: expired, or never listed.
gap(id, site, scheme) := msg if {
	ends := [cert.valid_until | some cert in site.certifications; cert.scheme == scheme]
	count(ends) > 0
	msg := sprintf("site %s's %s certification was valid only until %s (decision date %s)", [id, scheme, max(ends), lib.today])
} else := sprintf("site %s holds no %s certification", [id, scheme])

placement_violations contains v if some v in violations

transfer_violations contains v if {
	lib.stores
	some v in violations
}

placement_obligations := set()

transfer_obligations := set()
