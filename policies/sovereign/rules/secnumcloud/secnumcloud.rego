# METADATA
# title: France - data requiring SecNumCloud
# description: >-
#   Sensitive State data (SREN law Art. 31), and any dataset that requires a
#   SecNumCloud qualification, may be held only at sites with a current
#   SecNumCloud qualification whose operator and every parent company are
#   incorporated in the EU (immunity from non-European law, SecNumCloud 3.2 §19.6).
package sovereign.rules.secnumcloud

import data.sovereign.lib

scoped contains d if {
	reg := lib.regime("fr_secnumcloud")
	some d in input.datasets
	lib.has_category(d, reg.categories)
}

scoped contains d if {
	reg := lib.regime("fr_secnumcloud")
	some d in input.datasets
	reg.scheme in d.required_certifications
}

# METADATA
# title: SecNumCloud data at a site without a current SecNumCloud qualification
# custom:
#   id: fr.secnumcloud.qualification
#   effect: deny
#   citation: Loi n° 2024-449 (SREN) Art. 31; ANSSI SecNumCloud 3.2
#   source: https://cyber.gouv.fr/secnumcloud-pour-les-fournisseurs-de-services-cloud
#   example: a dataset with categories [fr-state-sensitive] at a site with no SecNumCloud certification
violations contains v if {
	some d in scoped
	reg := lib.regime("fr_secnumcloud")
	did := lib.dataset_id(d)
	some id, site in lib.targets
	not lib.holds(site, reg.scheme, [])
	v := lib.result(id, did, "fr.secnumcloud.qualification", sprintf("Dataset %s requires a SecNumCloud-qualified offer; site %s holds no current SecNumCloud qualification on %s.", [did, id, lib.today]), "Loi n° 2024-449 (SREN) Art. 31; ANSSI SecNumCloud 3.2")
}

# METADATA
# title: SecNumCloud data at a site whose operator or a parent is outside the EU
# custom:
#   id: fr.secnumcloud.immunity
#   effect: deny
#   citation: ANSSI SecNumCloud 3.2 §19.6 (immunity from non-European law)
#   source: https://cyber.gouv.fr/sites/default/files/document/secnumcloud-referentiel-exigences-v3.2.pdf
#   example: a dataset with categories [fr-state-sensitive] at a SecNumCloud site whose operator has parent_countries [US]
violations contains v if {
	some d in scoped
	reg := lib.regime("fr_secnumcloud")
	owners := lib.expand(reg.owners)
	did := lib.dataset_id(d)
	some id, site in lib.targets
	chain := {object.get(site, ["operator", "country"], "unknown")} | {p | some p in site.operator.parent_countries}
	foreign := {c | some c in chain; not owners[c]}
	count(foreign) > 0
	v := lib.result(id, did, "fr.secnumcloud.immunity", sprintf("Dataset %s requires a SecNumCloud-qualified offer immune from non-European law; site %s's operator or a parent company is incorporated in %s, outside the EU.", [did, id, lib.join(foreign)]), "ANSSI SecNumCloud 3.2 §19.6")
}

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()
