# METADATA
# title: Germany - health and social data in the cloud (§393 SGB V)
# description: >-
#   From 1 Jul 2024 health and social data of German data subjects, or collected
#   in Germany, may be processed in the cloud only in Germany, the EU, the EEA,
#   Switzerland or an EU adequacy country (within its scope), by a body with an
#   establishment in Germany, holding a current BSI C5 attestation - Type 2 from 1
#   Jul 2025 (Type 1 before). Each of the three needs an affirmative ground at
#   every site. Before 1 Jul 2024 the law of such processing (§80 SGB X, the
#   Länder hospital laws) is not modelled: the data is refused
#   (library.regime_not_modelled).
package sovereign.rules.dehealth

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

key := "de_sgbv393"

scope := "health or social data of data subjects in Germany, or collected there"

establishments_label := "sovereign-engine.io/operator-establishments"

reg := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := "health or social data concerning Germany" if {
	some i, d in input.datasets
	lib.has_category(d, reg.categories)
	lib.concerns(d, "DE")
}

needs contains [i, id, req] if {
	v.status == "modelled"
	some i, _ in in_scope
	some id, _ in lib.targets
	some req in ["location", "establishment", "c5"]
}

places := lib.expand(reg.locations)

grounds contains [i, id, req, g] if {
	some [i, id, req] in needs
	g := ground(req, id, i)
}

ground("location", id, i) := place_ground(c) if {
	c := lib.targets[id].country
	places[c]
} else := adequacy_ground(lib.targets[id].country) if {
	count(tx.unmet("gdpr", lib.targets[id].country, id, i)) == 0
}

ground("establishment", id, _) := "the operator is incorporated in Germany" if {
	lib.targets[id].operator.country == "DE"
} else := sprintf("the operator declares an establishment in Germany (label %s)", [establishments_label]) if {
	"DE" in split(lib.label(lib.targets[id], establishments_label), ",")
}

ground("c5", id, _) := c5_ground if {
	lib.holds(lib.targets[id], reg.scheme, v.levels)
}

place_ground(c) := sprintf("%s is one of DE, the EU, the EEA and CH", [c])

adequacy_ground(c) := sprintf("EU adequacy decision for %s", [c])

c5_ground := sprintf("current BSI C5 attestation (%s)", [concat(" or ", v.levels)])

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id, req] | some [i, id, req, _] in grounds}

gaps contains [i, id, req] if {
	some [i, id, req] in needs
	not grounded[[i, id, req]]
}

# METADATA
# scope: rule
# title: Health or social data at a site §393 SGB V does not allow
# custom:
#   rules:
#     - id: de.sgbv393.location
#       title: Health or social data outside DE, the EU/EEA, CH and EU adequacy
#       effect: deny
#       citation: §393(2) SGB V
#       source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#       example: a dataset with categories [health] and subject_jurisdictions [DE] at a site in IN
#     - id: de.sgbv393.establishment
#       title: Health or social data processed by a body without a German establishment
#       effect: deny
#       citation: §393(2) SGB V
#       source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#       example: a dataset with categories [health] and subject_jurisdictions [DE] at a site run by an operator incorporated in IE without the label sovereign-engine.io/operator-establishments listing DE
#     - id: de.sgbv393.c5
#       title: Health or social data at a site without a current C5 attestation of the required type
#       effect: deny
#       citation: §393(3), (4) SGB V
#       source: https://www.gesetze-im-internet.de/sgb_5/__393.html
#       example: a dataset with categories [health] and subject_jurisdictions [DE] at a site holding only a C5 type1 attestation, on or after 2025-07-01, or none at all
violations contains r if {
	some [i, id, "location"] in gaps
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"de.sgbv393.location",
		sprintf(
			"Dataset %s holds health or social data; §393 SGB V allows its cloud processing only in Germany, the EU, the EEA, Switzerland or an EU adequacy country, and site %s is in %s.",
			[did, id, lib.country_label(lib.targets[id])],
		),
		"§393(2) SGB V",
	)
}

violations contains r if {
	some [i, id, "establishment"] in gaps
	did := lib.dataset_id(input.datasets[i])
	site := lib.targets[id]
	r := lib.result(
		id,
		did,
		"de.sgbv393.establishment",
		sprintf(
			"Dataset %s holds health or social data; §393 SGB V requires the processing body to have an establishment in Germany, and site %s's operator %s (%s) declares none (label %s).",
			[
				did, id, object.get(
					site,
					["operator", "name"],
					"(unnamed)",
				),
				object.get(site, ["operator", "country"], "unknown country"), establishments_label,
			],
		),
		"§393(2) SGB V",
	)
}

violations contains r if {
	some [i, id, "c5"] in gaps
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"de.sgbv393.c5",
		sprintf(
			"Dataset %s holds health or social data; §393 SGB V requires a current BSI C5 attestation (%s) of the processing body on %s, and site %s holds none.",
			[did, concat(" or ", v.levels), lib.today, id],
		),
		"§393(3), (4) SGB V",
	)
}

violations contains r if some r in lib.not_modelled(key, reg.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

placement_obligations := set()

transfer_obligations := set()

report := lib.report(
	key,
	reg.name,
	scope,
	lib.period_or_null(reg.versions),
	in_scope,
	lib.ground_list({[i, id, g] | some [i, id, _, g] in grounds}),
)
