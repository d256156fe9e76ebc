# METADATA
# title: Placement decision (fixture)
package sovereign.placement

import data.sovereign.rules.restricted

decision := {
	"violations": restricted.placement_violations,
	"obligations": set(),
	"warnings": [],
	"exemptions": [],
} if input.kind == "placement"
