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
	some id, held in held_by_site
	site := lib.targets[id]
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
	msg := sprintf(
		"site %s's %s certification was valid only until %s (decision date %s)",
		[id, scheme, max(ends), lib.today],
	)
} else := sprintf("site %s holds no %s certification", [id, scheme])

placement_violations contains v if some v in violations

transfer_violations contains v if {
	lib.stores
	some v in violations
}

placement_obligations := set()

transfer_obligations := set()

scope := "datasets with required certifications"

in_scope[i] := sprintf("requires %s", [concat(", ", d.required_certifications)]) if {
	some i, d in input.datasets
	count(d.required_certifications) > 0
}

# held_by_site: the schemes each target holds on the decision date (built once,
# and only when a dataset requires one).
held_by_site := {id: held |
	count(in_scope) > 0
	t := lib.today
	some id, site in lib.targets
	held := {cert.scheme | some cert in site.certifications; object.get(cert, "valid_until", t) >= t}
}

grounds contains [i, id, g] if {
	some i, _ in in_scope
	required := {s | some s in input.datasets[i].required_certifications}
	g := sprintf("holds current %s", [lib.join(required)])
	some id, held in held_by_site
	count(required - held) == 0
}

report := lib.report(
	"certification",
	"Required certifications (contractual)",
	scope,
	lib.contractual("Dataset certification requirements", "Dataset certification policy (contractual)"),
	in_scope,
	lib.ground_list(grounds),
)
