# METADATA
# title: Indonesia - public-sector electronic systems
# description: >-
#   Public electronic system operators (government bodies and their appointees)
#   must manage, process and store their electronic systems and data in Indonesia
#   (GR 71/2019 Art. 20(2)). Private operators may go offshore (not modelled
#   beyond GDPR-style rules of other regimes).
package sovereign.rules.indonesia

import data.sovereign.lib

# METADATA
# title: Indonesian public-sector data outside Indonesia
# custom:
#   id: id.gr71.public_sector_localisation
#   effect: deny
#   citation: GR 71/2019 Art. 20(2)
#   source: https://peraturan.bpk.go.id/Details/122030/pp-no-71-tahun-2019
#   example: a dataset with categories [government] and origin_country ID at a site in SG
violations contains v if {
	gr := lib.regime("id_gr71")
	some d in input.datasets
	lib.has_category(d, gr.categories)
	lib.concerns(d, "ID")
	did := lib.dataset_id(d)
	some id, site in lib.targets
	site.country != "ID"
	v := lib.result(id, did, "id.gr71.public_sector_localisation", sprintf("Dataset %s is Indonesian public-sector data, which a public electronic system operator must process and store in Indonesia; site %s is in %s.", [did, id, site.country]), "GR 71/2019 Art. 20(2)")
}

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()
