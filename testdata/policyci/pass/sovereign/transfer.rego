# METADATA
# title: Transfer decision (fixture)
package sovereign.transfer

import data.sovereign.rules.residency

decision := {
	"violations": residency.transfer_violations,
	"obligations": residency.transfer_obligations,
	"warnings": [],
	"exemptions": [],
} if input.kind == "transfer"
