# METADATA
# title: France - data requiring SecNumCloud
# description: >-
#   Sensitive State data (SREN law Art. 31, from 23 May 2024), and any dataset
#   that requires a SecNumCloud qualification by its required_certifications (on
#   every date: a contractual requirement), may be held only at sites with a current
#   SecNumCloud qualification whose operator and every parent company are
#   incorporated in the EU (immunity from non-European law, SecNumCloud 3.2 §19.6);
#   an operator that does not state its parents (operator.parent_countries) is
#   not shown immune.
#   Before 23 May 2024 the rules for sensitive State data (the 'cloud au centre'
#   circulars, II 901) are not modelled: such data is refused
#   (library.regime_not_modelled).
package sovereign.rules.secnumcloud

import data.sovereign.lib

key := "fr_secnumcloud"

scope := "sensitive State data (category fr-state-sensitive), or data requiring SecNumCloud"

reg := lib.regime(key)

v := lib.regime_period(key)

# by_law: the category the SREN law covers; by_contract: required_certifications.
by_law[i] := "sensitive State data (SREN Art. 31)" if {
	some i, d in input.datasets
	lib.has_category(d, reg.categories)
}

by_contract[i] := "requires a SecNumCloud qualification (required_certifications)" if {
	some i, d in input.datasets
	reg.scheme in object.get(d, "required_certifications", [])
}

in_scope := object.union(by_law, by_contract)

# held: the datasets the qualification rules apply to on the decision date.
held contains i if some i, _ in by_contract

held contains i if {
	v.status == "modelled"
	some i, _ in by_law
}

needs contains [i, id, req] if {
	some i in held
	some id, _ in lib.targets
	some req in ["qualification", "immunity"]
}

owners := lib.expand(reg.owners)

chain(site) := {object.get(site, ["operator", "country"], "unknown")} | {p | some p in object.get(site, ["operator", "parent_countries"], [])}

grounds contains [i, id, req, g] if {
	some [i, id, req] in needs
	g := ground(req, lib.targets[id])
}

ground("qualification", site) := "current SecNumCloud qualification" if {
	lib.holds(site, reg.scheme, [])
}

ground("immunity", site) := sprintf("operator and parents incorporated in the EU (%s)", [lib.join(chain(site))]) if {
	is_array(site.operator.parent_countries) # an unknown ownership chain is no basis
	count(chain(site) - owners) == 0
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id, req] | some [i, id, req, _] in grounds}

gaps contains [i, id, req] if {
	some [i, id, req] in needs
	not grounded[[i, id, req]]
}

# METADATA
# scope: rule
# title: SecNumCloud data at a site without a qualification, or under non-EU control
# custom:
#   rules:
#     - id: fr.secnumcloud.qualification
#       title: SecNumCloud data at a site without a current SecNumCloud qualification
#       effect: deny
#       citation: Loi n° 2024-449 (SREN) Art. 31; ANSSI SecNumCloud 3.2
#       source: https://cyber.gouv.fr/secnumcloud-pour-les-fournisseurs-de-services-cloud
#       example: a dataset with categories [fr-state-sensitive] at a site with no SecNumCloud certification
#     - id: fr.secnumcloud.immunity
#       title: SecNumCloud data at a site whose operator or a parent is outside the EU
#       effect: deny
#       citation: ANSSI SecNumCloud 3.2 §19.6 (immunity from non-European law)
#       source: https://cyber.gouv.fr/sites/default/files/document/secnumcloud-referentiel-exigences-v3.2.pdf
#       example: a dataset with categories [fr-state-sensitive] at a SecNumCloud site whose operator has parent_countries [US], or states none
violations contains r if {
	some [i, id, "qualification"] in gaps
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"fr.secnumcloud.qualification",
		sprintf(
			"Dataset %s requires a SecNumCloud-qualified offer; site %s holds no current SecNumCloud qualification on %s.",
			[did, id, lib.today],
		),
		"Loi n° 2024-449 (SREN) Art. 31; ANSSI SecNumCloud 3.2",
	)
}

violations contains r if {
	some [i, id, "immunity"] in gaps
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"fr.secnumcloud.immunity",
		sprintf(
			"Dataset %s requires a SecNumCloud-qualified offer immune from non-European law; site %s%s.",
			[did, id, immunity_gap(lib.targets[id])],
		),
		"ANSSI SecNumCloud 3.2 §19.6",
	)
}

# Sensitive State data in a period not modelled (datasets also required by
# contract are judged by the qualification rules as well).
violations contains r if some r in lib.not_modelled(key, reg.name, v, object.keys(by_law))

# immunity_gap(site) says why the site's operator is not shown immune.
immunity_gap(site) := sprintf("'s operator or a parent company is incorporated in %s, outside the EU", [lib.join(foreign)]) if {
	foreign := chain(site) - owners
	count(foreign) > 0
} else := "'s operator states no ownership chain (operator.parent_countries; [] for none), so no parent outside the EU is excluded"

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
