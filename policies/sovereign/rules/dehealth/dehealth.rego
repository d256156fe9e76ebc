# METADATA
# title: Germany - health and social data in the cloud (§393 SGB V)
# description: >-
#   Health and social data of German data subjects may be processed in the cloud
#   only in Germany, the EU, the EEA, Switzerland or an EU adequacy country
#   (within its scope), by a body with an establishment in Germany, holding a
#   current BSI C5 attestation - Type 2 from 1 Jul 2025 (Type 1 before).
package sovereign.rules.dehealth

import data.sovereign.lib
import data.sovereign.rules.gdpr

establishments_label := "sovereign-engine.io/operator-establishments"

scoped contains d if {
	reg := lib.regime("de_sgbv393")
	some d in input.datasets
	lib.has_category(d, reg.categories)
	lib.concerns(d, "DE")
}

citation := "§393 SGB V"

# METADATA
# title: Health or social data outside DE, the EU/EEA, CH and EU adequacy
# custom:
#   id: de.sgbv393.location
#   effect: deny
#   citation: §393(2) SGB V
#   source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#   example: a dataset with categories [health] and subject_jurisdictions [DE] at a site in IN
violations contains v if {
	some d in scoped
	reg := lib.regime("de_sgbv393")
	places := lib.expand(reg.locations)
	list := gdpr.adequacy
	did := lib.dataset_id(d)
	some id, site in lib.targets
	not places[site.country]
	count(gdpr.unmet(list, site.country, site, d)) > 0
	v := lib.result(id, did, "de.sgbv393.location", sprintf("Dataset %s holds health or social data; §393 SGB V allows its cloud processing only in Germany, the EU, the EEA, Switzerland or an EU adequacy country, and site %s is in %s.", [did, id, site.country]), "§393(2) SGB V")
}

# METADATA
# title: Health or social data processed by a body without a German establishment
# custom:
#   id: de.sgbv393.establishment
#   effect: deny
#   citation: §393(2) SGB V
#   source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#   example: a dataset with categories [health] and subject_jurisdictions [DE] at a site run by an operator incorporated in IE without the label sovereign-engine.io/operator-establishments listing DE
violations contains v if {
	some d in scoped
	did := lib.dataset_id(d)
	some id, site in lib.targets
	not established_in_de(site)
	v := lib.result(id, did, "de.sgbv393.establishment", sprintf("Dataset %s holds health or social data; §393 SGB V requires the processing body to have an establishment in Germany, and site %s's operator %s (%s) declares none (label %s).", [did, id, object.get(site, ["operator", "name"], "(unnamed)"), object.get(site, ["operator", "country"], "unknown country"), establishments_label]), "§393(2) SGB V")
}

established_in_de(site) if site.operator.country == "DE"

established_in_de(site) if "DE" in split(lib.label(site, establishments_label), ",")

# METADATA
# title: Health or social data at a site without a current C5 attestation of the required type
# custom:
#   id: de.sgbv393.c5
#   effect: deny
#   citation: §393(3), (4) SGB V
#   source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#   example: a dataset with categories [health] and subject_jurisdictions [DE] at a site holding only a C5 type1 attestation, on or after 2025-07-01
violations contains v if {
	some d in scoped
	reg := lib.regime("de_sgbv393")
	levels := lib.current(reg.versions).levels
	did := lib.dataset_id(d)
	some id, site in lib.targets
	not lib.holds(site, reg.scheme, levels)
	v := lib.result(id, did, "de.sgbv393.c5", sprintf("Dataset %s holds health or social data; §393 SGB V requires a current BSI C5 attestation (%s) of the processing body on %s, and site %s holds none.", [did, concat(" or ", levels), lib.today, id]), "§393(3), (4) SGB V")
}

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()
