# METADATA
# title: Unknown jurisdictions
# description: >-
#   A site whose country is not a jurisdiction the reference data knows (a
#   user-assigned ISO code such as XK or ZZ, or a territory without a legal order
#   of its own) is refused for every dataset: nothing is allowed by omission.
package sovereign.rules.jurisdiction

import data.sovereign.lib

# METADATA
# title: Site in a jurisdiction the library does not know
# custom:
#   id: jurisdiction.unknown
#   effect: deny
#   citation: Sovereign policy library (deny by omission)
#   source: https://www.iso.org/iso-3166-country-codes.html
#   example: any dataset at a site with country XK
violations contains v if {
	codes := data.reference.jurisdictions.codes
	targets := lib.targets
	some id, site in targets
	not codes[object.get(site, "country", "")] # no country is no known jurisdiction
	some d in input.datasets
	did := lib.dataset_id(d)
	v := lib.result(
		id,
		did,
		"jurisdiction.unknown",
		sprintf(
			"Site %s is in %s, which is not a jurisdiction the policy library knows; nothing is allowed there by omission.",
			[id, lib.country_label(site)],
		),
		"Sovereign policy library (deny by omission)",
	)
}

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()

in_scope[i] := "every site must be in a jurisdiction the library knows" if some i, _ in input.datasets

report := lib.report(
	"jurisdiction",
	"Known jurisdictions",
	"every dataset",
	lib.contractual("Jurisdictions the library can judge", data.reference.jurisdictions.source),
	in_scope,
	[],
)
