# METADATA
# title: Turkey - transfers of personal data abroad (KVKK Art. 9)
# description: >-
#   Personal data of Turkish data subjects, or collected in Turkey, may go abroad
#   only on a ground of the period in force. From 7 Oct 2016 (KVKK Art. 9, 2016):
#   explicit consent, an adequate country declared by the Board (none was), or a
#   written undertaking with the Board's permission. From 1 Jun 2024 (Law 7499): an
#   adequacy decision (none issued), appropriate safeguards - a standard contract,
#   to be notified to the Authority within 5 business days of signature, or
#   Board-approved BCRs - or an incidental derogation naming its ground (explicit
#   consent under the former Art. 9(1) until 1 Sep 2024). Before 7 Oct 2016 no
#   transfer rule was in force.
package sovereign.rules.turkey

import data.sovereign.lib

key := "tr_kvkk"

scope := "personal data of data subjects in Turkey, or collected there"

tr := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := why if {
	some i, d in input.datasets
	lib.personal(d)
	lib.concerns(d, "TR")
	why := sprintf("personal data %s", [concern(d)])
}

concern(d) := "of data subjects in Turkey" if lib.subject_of(d, "TR")

else := "collected in Turkey"

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
} else := "the site is in Turkey" if {
	c == "TR"
} else := sprintf("adequacy decision for %s", [c]) if {
	c in tr.adequacy
} else := sprintf("transfer mechanism %s", [lib.mechanism_label]) if {
	v.status == "modelled"
	status == "ok"
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

abroad contains [i, id] if {
	some [i, id] in needs
	object.get(lib.targets[id], "country", "") != "TR" # a site in no stated country is outside
}

why_refused := "no transfer mechanism is given (standard contract, BCRs or an incidental derogation)" if {
	status in {"none", "placement"}
} else := sprintf("mechanism %s is not a KVKK Art. 9 safeguard in force on %s", [lib.mechanism_label, lib.today]) if {
	status == "unknown"
} else := sprintf(
	"derogation %q is not one of the grounds of KVKK Art. 9 in force on %s",
	[object.get(input.mechanism, "derogation", ""), lib.today],
) if {
	status == "unknown_ground"
}

# METADATA
# title: Turkish personal data abroad without a KVKK Art. 9 basis
# custom:
#   id: tr.kvkk.transfer_basis
#   effect: deny
#   citation: KVKK Art. 9 (2016; as amended by Law 7499)
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: a dataset with categories [personal] and subject_jurisdictions [TR] at a site in DE, with no mechanism, a mechanism without a kind, or a derogation naming no ground
violations contains r if {
	status != "not_occasional"
	some [i, id] in abroad
	not grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	site := lib.targets[id]
	r := lib.result(
		id,
		did,
		"tr.kvkk.transfer_basis",
		sprintf(
			"Dataset %s holds %s; site %s is in %s, with no adequacy decision, and %s.",
			[did, in_scope[i], id, lib.country_label(site), why_refused],
		),
		v.citation,
	)
}

# METADATA
# title: KVKK derogation relied on for a transfer that is not incidental
# custom:
#   id: tr.kvkk.derogation_not_incidental
#   effect: deny
#   citation: KVKK Art. 9(6)
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: transfer of TR personal data to DE with mechanism {kind derogation, derogation consent} and frequency repeated, or no frequency
violations contains r if {
	status == "not_occasional"
	some [i, id] in abroad
	not grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	site := lib.targets[id]
	r := lib.result(
		id,
		did,
		"tr.kvkk.derogation_not_incidental",
		sprintf(
			"Transfer of %s to %s (%s) relies on a KVKK Art. 9(6) derogation (%s), which covers only incidental transfers; this one is %s.",
			[did, id, lib.country_label(site), input.mechanism.derogation, lib.frequency_label],
		),
		"KVKK Art. 9(6)",
	)
}

violations contains r if some r in lib.not_modelled(key, tr.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

# The transfers abroad that rely on the mechanism.
relied contains [i, id] if {
	status == "ok"
	v.status == "modelled"
	some [i, id] in abroad
	some [j, s, g] in grounds
	j == i
	s == id
	startswith(g, "transfer mechanism")
}

tool := lib.mechanism_tool(v.transfer_tools) if status == "ok"

# METADATA
# scope: rule
# title: Obligations of the Turkish transfer mechanism relied on
# custom:
#   rules:
#     - id: tr.kvkk.standard_contract_notification
#       title: Standard contract relied on - notify the Authority within 5 business days
#       effect: obligation
#       citation: KVKK Art. 9(4); By-Law on transfers (OG 10 Jul 2024) Art. 14
#       source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#       example: transfer of TR personal data to a site in DE with mechanism {kind tr-standard-contract}
#     - id: tr.kvkk.bcr_approval
#       title: BCRs or a written undertaking relied on - Board approval required
#       effect: obligation
#       citation: KVKK Art. 9(4)(c) (as amended); KVKK Art. 9(2) (2016)
#       source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#       example: transfer of TR personal data to a site in DE with mechanism {kind bcr}
transfer_obligations contains o if {
	tool.notify
	some [i, id] in relied
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"tr.kvkk.standard_contract_notification",
		sprintf(
			"Transfer of %s to %s (%s) relies on a KVKK standard contract: notify the Personal Data Protection Authority within %d business days of its signature.",
			[did, id, lib.country_label(lib.targets[id]), tr.notify_business_days],
		),
		"KVKK Art. 9(4); By-Law (OG 10 Jul 2024) Art. 14",
	)
}

transfer_obligations contains o if {
	tool.approval
	some [i, id] in relied
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"tr.kvkk.bcr_approval",
		sprintf(
			"Transfer of %s to %s (%s) relies on binding corporate rules or a written undertaking: the Personal Data Protection Board must approve them before the transfer.",
			[did, id, lib.country_label(lib.targets[id])],
		),
		"KVKK Art. 9(4)(c); KVKK Art. 9(2) (2016)",
	)
}

placement_obligations := set()

report := lib.report(key, tr.name, scope, lib.period_or_null(tr.versions), in_scope, lib.ground_list(grounds))
