# METADATA
# title: Saudi Arabia - transfers of personal data outside the Kingdom
# description: >-
#   From 14 Sep 2023 (PDPL Art. 29; the one-year compliance grace period deferred
#   enforcement, not the law) personal data of Saudi data subjects, or collected in
#   the Kingdom, may leave it only to an adequate jurisdiction (none published yet)
#   or under appropriate safeguards (SDAIA standard contractual clauses, binding
#   common rules, certification), which owe a transfer risk assessment. No
#   mechanism, a mechanism without a kind or one the regulation does not accept is
#   no basis. Before 14 Sep 2023 no transfer rule was in force.
package sovereign.rules.saudi

import data.sovereign.lib

key := "sa_pdpl"

scope := "personal data of data subjects in Saudi Arabia, or collected there"

sa := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := why if {
	some i, d in input.datasets
	lib.personal(d)
	lib.concerns(d, "SA")
	why := sprintf("personal data %s", [concern(d)])
}

concern(d) := "of data subjects in Saudi Arabia" if lib.subject_of(d, "SA")

else := "collected in Saudi Arabia"

needs contains [i, id] if {
	some i, _ in in_scope
	some id, _ in lib.targets
}

default status := "placement"

status := lib.mechanism_status(v.transfer_tools, v.derogations) if input.kind == "transfer"

grounds contains [i, id, g] if {
	some [i, id] in needs
	g := ground(lib.targets[id].country)
}

ground(c) := sprintf("no transfer rule in force on %s (%s)", [lib.today, v.source]) if {
	v.status == "not_in_force"
} else := "the site is in Saudi Arabia" if {
	c == "SA"
} else := sprintf("adequacy decision for %s", [c]) if {
	c in sa.adequacy
} else := sprintf("safeguard %s", [lib.mechanism_label]) if {
	v.status == "modelled"
	status == "ok"
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

abroad contains [i, id] if {
	some [i, id] in needs
	object.get(lib.targets[id], "country", "") != "SA" # a site in no stated country is outside
}

why_refused := "no transfer mechanism is given" if {
	status in {"none", "placement"}
} else := sprintf("mechanism %s is not a safeguard the regulation accepts", [lib.mechanism_label])

# METADATA
# scope: rule
# title: Saudi personal data outside the Kingdom without a transfer basis
# custom:
#   id: sa.pdpl.transfer_basis
#   effect: deny
#   citation: PDPL Art. 29; Transfer Regulation (2023, amended 2024)
#   source: https://sdaia.gov.sa/en/SDAIA/about/Documents/Regulation%20on%20Personal%20Data%20Transfer.pdf
#   example: a dataset with categories [personal] and subject_jurisdictions [SA] at a site in DE, with no mechanism or a mechanism without a kind
violations contains r if {
	some [i, id] in abroad
	not grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	site := lib.targets[id]
	r := lib.result(
		id,
		did,
		"sa.pdpl.transfer_basis",
		sprintf(
			"Dataset %s holds %s; site %s is in %s, outside the Kingdom and with no adequacy decision, and %s (SDAIA standard contractual clauses, binding common rules or a certification).",
			[did, in_scope[i], id, lib.country_label(site), why_refused],
		),
		"PDPL Art. 29; Transfer Regulation",
	)
}

violations contains r if some r in lib.not_modelled(key, sa.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

# METADATA
# title: Saudi transfer under safeguards - transfer risk assessment owed
# custom:
#   id: sa.pdpl.risk_assessment
#   effect: obligation
#   citation: Transfer Regulation (2023, amended 2024) Art. 7
#   source: https://sdaia.gov.sa/en/SDAIA/about/Documents/Regulation%20on%20Personal%20Data%20Transfer.pdf
#   example: transfer of SA personal data to a site in DE with mechanism {kind scc}
transfer_obligations contains o if {
	status == "ok"
	v.status == "modelled"
	some [i, id] in abroad
	site := lib.targets[id]
	not sa_adequate(object.get(site, "country", "")) # a site in no stated country is not adequate
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"sa.pdpl.risk_assessment",
		sprintf(
			"Transfer of %s to %s (%s) relies on %s: carry out and document a transfer risk assessment first.",
			[did, id, lib.country_label(site), lib.mechanism_label],
		),
		"Transfer Regulation Art. 7",
	)
}

sa_adequate(c) if c in sa.adequacy

placement_obligations := set()

report := lib.report(key, sa.name, scope, lib.period_or_null(sa.versions), in_scope, lib.ground_list(grounds))
