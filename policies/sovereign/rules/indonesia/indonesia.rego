# METADATA
# title: Indonesia - public electronic systems
# description: >-
#   Operators of electronic systems for public services must place their data
#   centre in Indonesia from 15 Oct 2012 (GR 82/2012 Art. 17(2)); from 10 Oct 2019
#   public electronic system operators (government bodies and their appointees)
#   must manage, process and store their systems and data in Indonesia (GR 71/2019
#   Art. 20(2)). Before 15 Oct 2012 no such duty was in force. Private operators'
#   personal data (PDP Law 27/2022 Art. 56) is not modelled.
package sovereign.rules.indonesia

import data.sovereign.lib

key := "id_gr71"

scope := "data of Indonesian public electronic systems (categories government, public-sector)"

gr := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := "data of an Indonesian public electronic system" if {
	some i, d in input.datasets
	lib.has_category(d, gr.categories)
	lib.concerns(d, "ID")
}

needs contains [i, id] if {
	some i, _ in in_scope
	some id, _ in lib.targets
}

grounds contains [i, id, g] if {
	some [i, id] in needs
	g := ground(lib.targets[id].country)
}

ground(c) := sprintf("no localisation duty in force on %s (%s)", [lib.today, v.source]) if {
	v.status == "not_in_force"
} else := "the site is in Indonesia" if {
	c == "ID"
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

rule_of := {"gr82": "id.gr82.public_service_localisation", "gr71": "id.gr71.public_sector_localisation"}

# METADATA
# scope: rule
# title: Indonesian public-sector data outside Indonesia
# custom:
#   rules:
#     - id: id.gr71.public_sector_localisation
#       title: Indonesian public-sector data outside Indonesia
#       effect: deny
#       citation: GR 71/2019 Art. 20(2)
#       source: https://peraturan.bpk.go.id/Details/122030/pp-no-71-tahun-2019
#       example: a dataset with categories [government] and origin_country ID at a site in SG
#     - id: id.gr82.public_service_localisation
#       title: Indonesian public-service data outside Indonesia before GR 71/2019
#       effect: deny
#       citation: GR 82/2012 Art. 17(2)
#       source: https://peraturan.bpk.go.id/Details/5295/pp-no-82-tahun-2012
#       example: on 2015-06-01, a dataset with categories [government] and origin_country ID at a site in SG
violations contains r if {
	some [i, id] in needs
	not grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		rule_of[v.id],
		sprintf(
			"Dataset %s is data of an Indonesian public electronic system, which must be processed and stored in Indonesia (%s); site %s is in %s.",
			[did, v.citation, id, lib.country_label(lib.targets[id])],
		),
		v.citation,
	)
}

violations contains r if some r in lib.not_modelled(key, gr.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

placement_obligations := set()

transfer_obligations := set()

report := lib.report(key, gr.name, scope, lib.period_or_null(gr.versions), in_scope, lib.ground_list(grounds))
