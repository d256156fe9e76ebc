# METADATA
# title: Transfer decision (fixture)
package sovereign.transfer

decision := {
	"violations": set(),
	"obligations": set(),
	"warnings": [],
	"exemptions": [],
} if input.kind == "transfer"
