# METADATA
# title: UK GDPR Chapter V - transfers of personal data out of the UK
# description: >-
#   Personal data of UK data subjects, or collected in the UK, may sit only in
#   the UK, the EEA, or a jurisdiction the UK adequacy regulations cover within
#   their scope (from the UK list, not the EU's); remote administration from
#   elsewhere is a transfer. Elsewhere a UK tool (IDTA, UK Addendum, BCRs) is
#   needed and owes a transfer risk assessment; Art. 49 exceptions must name
#   their ground and cover occasional transfers only. Until 31 Dec 2020 the
#   regime is not in force: EU law governed UK personal data (the gdpr regime,
#   which treats the UK as a Member State in the transition period).
package sovereign.rules.ukgdpr

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

r := "uk_gdpr"

scope := "personal data of data subjects in the UK, or collected there"

detail(f) := sprintf("site %s is in %s, outside the UK, the EEA and the UK adequacy regulations in force on %s (%s)", [f.site, f.countries[0], lib.today, lib.join(f.gaps)]) if {
	f.kind == "location"
} else := sprintf(
	"site %s can be administered by personnel in %s, outside the UK, the EEA and the UK adequacy regulations; remote access is a restricted transfer",
	[f.site, lib.join(f.countries)],
)

rule_of := {"location": "ukgdpr.chapter5.no_basis", "remote": "ukgdpr.chapter5.remote_access"}

citation_of := {"location": "UK GDPR Art. 44, 45; DPA 2018 s.17A", "remote": "UK GDPR Art. 44; ICO guidance on restricted transfers"}

# METADATA
# title: UK personal data outside the UK, the EEA and UK adequacy
# custom:
#   rules:
#     - id: ukgdpr.chapter5.no_basis
#       title: UK personal data outside the UK, the EEA and UK adequacy
#       effect: deny
#       citation: UK GDPR Art. 44, 45; DPA 2018 s.17A
#       source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/
#       example: a dataset with subject_jurisdictions [GB] at a site in IN, or in US without a UK-US-DPF certification, or a transfer there with a mechanism without a kind
#     - id: ukgdpr.chapter5.remote_access
#       title: UK personal data administered from outside the UK, the EEA and UK adequacy
#       effect: deny
#       citation: UK GDPR Art. 44; ICO guidance on restricted transfers (remote access)
#       source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/
#       example: a dataset with subject_jurisdictions [GB] at a GB site whose personnel_countries include IN
placement_violations contains v if {
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		rule_of[f.kind],
		sprintf("Dataset %s holds %s; %s.", [f.dataset, tx.scoped(r)[f.index], detail(f)]),
		citation_of[f.kind],
	)
}

placement_obligations := set()

status := tx.status(r)

why_refused := sprintf(
	"mechanism %s is not a UK GDPR transfer tool in force on %s",
	[lib.mechanism_label, lib.today],
) if {
	status == "unknown"
} else := sprintf(
	"exception %q is not one of the grounds of UK GDPR Art. 49(1)",
	[object.get(input.mechanism, "derogation", "")],
) if {
	status == "unknown_ground"
}

transfer_violations contains v if {
	status == "none"
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		rule_of[f.kind],
		sprintf(
			"Transfer of %s from %s to %s: %s. No UK transfer mechanism was given (IDTA, UK Addendum, BCRs or an Art. 49 exception).",
			[f.dataset, input.from, input.to, detail(f)],
		),
		"UK GDPR Art. 44, 46, 49",
	)
}

transfer_violations contains v if {
	status in {"unknown", "unknown_ground"}
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(
		input.to,
		did,
		"ukgdpr.chapter5.no_basis",
		sprintf(
			"Transfer of %s from %s to %s reaches %s, and %s.",
			[did, input.from, input.to, lib.join(cs), why_refused],
		),
		"UK GDPR Art. 44, 46, 49",
	)
}

# METADATA
# scope: rule
# title: UK Art. 49 exception relied on for a repeated transfer
# custom:
#   id: ukgdpr.chapter5.derogation_not_occasional
#   effect: deny
#   citation: UK GDPR Art. 49(1)
#   source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/international-transfers-a-guide/
#   example: transfer of GB personal data to IN with mechanism {kind derogation, derogation consent} and frequency repeated, or no frequency
transfer_violations contains v if {
	status == "not_occasional"
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(
		input.to,
		did,
		"ukgdpr.chapter5.derogation_not_occasional",
		sprintf(
			"Transfer of %s from %s to %s (%s) relies on a UK GDPR Art. 49 exception, which covers only occasional transfers; this one is %s.",
			[did, input.from, input.to, lib.join(cs), lib.frequency_label],
		),
		"UK GDPR Art. 49(1)",
	)
}

# METADATA
# scope: rule
# title: Obligations of the UK transfer tool relied on
# custom:
#   rules:
#     - id: ukgdpr.chapter5.tra_required
#       title: UK transfer tool relied on - transfer risk assessment owed
#       effect: obligation
#       citation: UK GDPR Art. 46(1); ICO transfer risk assessment guidance
#       source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/international-transfers-a-guide/
#       example: transfer of GB personal data to IN with mechanism {kind idta}
#     - id: ukgdpr.chapter5.inform_ico
#       title: Compelling legitimate interests relied on - inform the ICO and the data subject
#       effect: obligation
#       citation: UK GDPR Art. 49(1) second subparagraph, 49(6)
#       source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/international-transfers-a-guide/
#       example: transfer of GB personal data to IN with mechanism {kind derogation, derogation compelling-legitimate-interests} and frequency one-off
transfer_obligations contains o if {
	some [i, "tra"] in tx.owed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		input.to,
		did,
		"ukgdpr.chapter5.tra_required",
		sprintf(
			"Transfer of %s from %s to %s relies on %s: complete a transfer risk assessment for %s.",
			[did, input.from, input.to, lib.mechanism_label, lib.join(tx.relied(r)[i])],
		),
		"UK GDPR Art. 46(1); ICO transfer risk assessment guidance",
	)
}

transfer_obligations contains o if {
	some [i, "inform_sa"] in tx.owed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		input.to,
		did,
		"ukgdpr.chapter5.inform_ico",
		sprintf(
			"Transfer of %s from %s to %s relies on compelling legitimate interests: inform the ICO and the data subject of the transfer to %s, and document the assessment.",
			[did, input.from, input.to, lib.join(tx.relied(r)[i])],
		),
		"UK GDPR Art. 49(1) second subparagraph, 49(6)",
	)
}

report := tx.report(r, scope)
