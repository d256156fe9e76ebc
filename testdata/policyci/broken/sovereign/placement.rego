# METADATA
# title: Placement decision (fixture)
package sovereign.placement

import data.sovereign.rules.residency

decision := {
	"violations": residency.placement_violations,
	"obligations": residency.placement_obligations,
	"warnings": [],
	"exemptions": [],
} if input.kind == "placement"
