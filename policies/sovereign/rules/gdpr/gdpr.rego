# METADATA
# title: EU data protection - transfers of personal data out of the EEA (Directive 95/46/EC Arts 25-26, GDPR Chapter V)
# description: >-
#   Personal data of EEA data subjects, or collected in the EEA, may sit only in
#   the EEA (with the UK treated as a Member State during the Brexit transition
#   period and the TCA bridge) or in a country an EU adequacy decision covers
#   (with its scope qualifiers and dates); remote access from a third country is
#   a transfer (EDPB Guidelines 05/2021). A transfer outside needs a transfer tool
#   of the period in force - under the GDPR an Art. 46/47 tool (then a transfer
#   impact assessment is owed) or an occasional Art. 49 derogation naming its
#   ground; under Directive 95/46/EC (until 24 May 2018) Commission standard
#   clauses, safeguards the Member State authorises, or an occasional Art. 26(1)
#   derogation. Nothing else is a basis: no mechanism, a mechanism without a kind,
#   a derogation without a ground or of unstated frequency are refused.
package sovereign.rules.gdpr

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

r := "gdpr"

scope := "personal data of data subjects in the EEA, or collected there"

# adequacy is the EU list in force (used by dehealth, with tx.unmet("gdpr", ...)).
adequacy := tx.adequacy(r)

# The period's rule ids and citations: Directive 95/46/EC, then the GDPR.
era := tx.period(r).id

ids := {
	"dir95": {
		"location": "eu.dir95.no_basis", "remote": "eu.dir95.remote_access",
		"not_occasional": "eu.dir95.derogation_not_occasional",
	},
	"gdpr": {
		"location": "gdpr.chapter5.no_basis", "remote": "gdpr.chapter5.remote_access",
		"not_occasional": "gdpr.chapter5.derogation_not_occasional",
	},
}

citation_placement := {
	"dir95": {"location": "Directive 95/46/EC Art. 25", "remote": "Directive 95/46/EC Art. 25"},
	"gdpr": {"location": "GDPR Art. 44, 45", "remote": "GDPR Art. 44; EDPB Guidelines 05/2021"},
}

citation_transfer := {
	"dir95": {"location": "Directive 95/46/EC Art. 25, 26", "remote": "Directive 95/46/EC Art. 25, 26"},
	"gdpr": {"location": "GDPR Art. 44, 46, 49", "remote": "GDPR Art. 44, 46; EDPB Guidelines 05/2021"},
}

law := {"dir95": "Directive 95/46/EC Art. 25-26", "gdpr": "GDPR Chapter V"}

derogation_law := {"dir95": "Directive 95/46/EC Art. 26(1)", "gdpr": "GDPR Art. 49(1)"}

tools_label := {
	"dir95": "Commission standard clauses, safeguards authorised by the Member State or an Art. 26(1) derogation",
	"gdpr": "SCCs, BCRs, another Art. 46 safeguard or an Art. 49 derogation",
}

# What the data is, for messages: of EEA data subjects, or collected in the EEA.
subject_label(i) := "personal data of EEA data subjects" if {
	startswith(tx.scoped(r)[i], "personal data of data subjects")
} else := sprintf("personal data collected in %s", [input.datasets[i].origin_country])

# reason(c, gaps, d) says why country c gives no adequacy basis.
reason(c, gaps, d) := sprintf("%s is outside the EEA and not on the EU adequacy list in force on %s", [c, lib.today]) if {
	gaps == {"no decision"}
} else := concat("; ", [msg |
	some q in gaps
	msg := sprintf("the EU adequacy decision for %s %s", [c, qualifier_reason(q, adequacy[c].scope[q], d)])
])

qualifier_reason("recipient_certification", value, _) := sprintf(
	"covers only recipients certified under %s, and the site holds no valid %s certification",
	[value, value],
)

qualifier_reason("recipient_sectors", value, _) := sprintf(
	"covers only %s recipients, and the site does not state that its operator is one (label %s)",
	[lib.join(value), lib.sector_label],
)

qualifier_reason("excluded_categories", value, d) := sprintf(
	"excludes data of category %s",
	[lib.join({cat | some cat in d.categories; cat in value})],
)

qualifier_reason(q, _, _) := sprintf("has a scope qualifier (%s) this policy does not apply", [q]) if {
	not q in {"recipient_certification", "recipient_sectors", "excluded_categories"}
}

detail(f) := sprintf("site %s is in %s: %s", [f.site, f.countries[0], reason(f.countries[0], f.gaps, input.datasets[f.index])]) if {
	f.kind == "location"
} else := sprintf(
	"site %s (%s) can be administered by personnel in %s, outside the EEA and any applicable EU adequacy decision; remote access from a third country is a transfer",
	[f.site, lib.country_label(lib.targets[f.site]), lib.join(f.countries)],
)

# ---------------------------------------------------------------------------
# Placement: a placement carries no transfer tool; every gap is refused.

# METADATA
# title: EEA personal data outside the EEA and EU adequacy
# custom:
#   rules:
#     - id: gdpr.chapter5.no_basis
#       title: EEA personal data outside the EEA and EU adequacy
#       effect: deny
#       citation: GDPR Art. 44, 45, 46, 49
#       source: https://eur-lex.europa.eu/eli/reg/2016/679/oj
#       example: a dataset with categories [personal] and subject_jurisdictions [EU] at a site in IN (us-east-1 in the demo), or a transfer there without a mechanism, with a mechanism without a kind, or with a derogation naming no Art. 49(1) ground
#     - id: gdpr.chapter5.remote_access
#       title: EEA personal data administered from a third country
#       effect: deny
#       citation: GDPR Art. 44; EDPB Guidelines 05/2021
#       source: https://www.edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-052021-interplay-between-application-article-3_en
#       example: a dataset with subject_jurisdictions [EU] at dub-1 (personnel in IN)
#     - id: eu.dir95.no_basis
#       title: EEA personal data outside the EEA and Commission adequacy findings before the GDPR
#       effect: deny
#       citation: Directive 95/46/EC Art. 25, 26
#       source: https://eur-lex.europa.eu/eli/dir/1995/46/oj
#       example: on 2015-06-01, a dataset with categories [personal] and subject_jurisdictions [EU] at a site in IN, or a transfer there without a mechanism
#     - id: eu.dir95.remote_access
#       title: EEA personal data administered from a third country before the GDPR
#       effect: deny
#       citation: Directive 95/46/EC Art. 25
#       source: https://eur-lex.europa.eu/eli/dir/1995/46/oj
#       example: on 2015-06-01, a dataset with subject_jurisdictions [EU] at an IE site whose personnel_countries include IN
placement_violations contains v if {
	ids_of := ids[era]
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		ids_of[f.kind],
		sprintf("Dataset %s holds %s; %s.", [f.dataset, subject_label(f.index), detail(f)]),
		citation_placement[era][f.kind],
	)
}

placement_obligations := set()

# ---------------------------------------------------------------------------
# Transfer: the gaps left need a transfer tool of the period.

status := tx.status(r)

why_refused := sprintf(
	"mechanism %s is not a %s transfer tool in force on %s",
	[lib.mechanism_label, law[era], lib.today],
) if {
	status == "unknown"
} else := sprintf(
	"derogation %q is not one of the grounds of %s",
	[object.get(input.mechanism, "derogation", ""), derogation_law[era]],
) if {
	status == "unknown_ground"
}

derogation_citation := {
	"dir95": "Directive 95/46/EC Art. 26(1); Article 29 Working Party WP114",
	"gdpr": "GDPR Art. 49(1); EDPB Guidelines 2/2018",
}

transfer_violations contains v if {
	status == "none"
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		ids[era][f.kind],
		sprintf(
			"Transfer of %s from %s to %s: %s. No transfer mechanism was given (%s).",
			[f.dataset, input.from, input.to, detail(f), tools_label[era]],
		),
		citation_transfer[era][f.kind],
	)
}

transfer_violations contains v if {
	status in {"unknown", "unknown_ground"}
	some i, countries in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(
		input.to,
		did,
		ids[era].location,
		sprintf(
			"Transfer of %s from %s to %s reaches %s outside the EEA and adequacy, and %s.",
			[did, input.from, input.to, lib.join(countries), why_refused],
		),
		citation_transfer[era].location,
	)
}

# A derogation for occasional transfers relied on for a repeated, continuous or
# unstated frequency is refused.
# METADATA
# scope: rule
# title: Art. 49 / Art. 26(1) derogation relied on for a repeated or continuous transfer
# custom:
#   rules:
#     - id: gdpr.chapter5.derogation_not_occasional
#       title: Art. 49 derogation relied on for a repeated or continuous transfer
#       effect: deny
#       citation: GDPR Art. 49(1); EDPB Guidelines 2/2018
#       source: https://www.edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-22018-derogations-article-49-under-regulation_en
#       example: transfer fra-1 to bom-1 with mechanism {kind derogation, derogation consent} and frequency repeated, or no frequency
#     - id: eu.dir95.derogation_not_occasional
#       title: Art. 26(1) derogation relied on for a repeated or continuous transfer before the GDPR
#       effect: deny
#       citation: Directive 95/46/EC Art. 26(1); Article 29 Working Party WP114 (25 Nov 2005)
#       source: https://ec.europa.eu/justice/article-29/documentation/opinion-recommendation/files/2005/wp114_en.pdf
#       example: on 2015-06-01, transfer of EU personal data to IN with mechanism {kind derogation, derogation consent} and frequency repeated
transfer_violations contains v if {
	status == "not_occasional"
	some i, countries in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(
		input.to,
		did,
		ids[era].not_occasional,
		sprintf(
			"Transfer of %s from %s to %s (%s) relies on the derogation %s, which covers only occasional transfers; this transfer is %s. Use a transfer tool instead.",
			[did, input.from, input.to, lib.join(countries), input.mechanism.derogation, lib.frequency_label],
		),
		derogation_citation[era],
	)
}

# Obligations of the tool relied on.

default tia_status := "no transfer impact assessment is referenced yet (mechanism.tia_reference)"

tia_status := sprintf("transfer impact assessment on record: %s", [input.mechanism.tia_reference])

# METADATA
# title: Obligations of the EU transfer tool relied on
# custom:
#   rules:
#     - id: gdpr.chapter5.tia_required
#       title: Art. 46/47 tool relied on - transfer impact assessment owed
#       effect: obligation
#       citation: CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020; GDPR Art. 46(1)
#       source: https://www.edpb.europa.eu/our-work-tools/our-documents/recommendations/recommendations-012020-measures-supplement-transfer_en
#       example: transfer fra-1 to us-east-1 with mechanism {kind scc, module C2P}
#     - id: gdpr.chapter5.sa_authorisation
#       title: Ad hoc clauses relied on - supervisory authority authorisation owed
#       effect: obligation
#       citation: GDPR Art. 46(3)(a), 46(4)
#       source: https://eur-lex.europa.eu/eli/reg/2016/679/oj
#       example: transfer fra-1 to bom-1 with mechanism {kind ad-hoc-clauses}
#     - id: gdpr.chapter5.inform_sa
#       title: Compelling legitimate interests relied on - inform the supervisory authority and the data subject
#       effect: obligation
#       citation: GDPR Art. 49(1) second subparagraph, 49(6)
#       source: https://eur-lex.europa.eu/eli/reg/2016/679/oj
#       example: transfer of EU personal data to IN with mechanism {kind derogation, derogation compelling-legitimate-interests} and frequency one-off
#     - id: eu.dir95.authorisation
#       title: Safeguards relied on before the GDPR - Member State authorisation owed
#       effect: obligation
#       citation: Directive 95/46/EC Art. 26(2), (3)
#       source: https://eur-lex.europa.eu/eli/dir/1995/46/oj
#       example: on 2015-06-01, transfer of EU personal data to IN with mechanism {kind bcr} or {kind ad-hoc-clauses}
transfer_obligations contains o if {
	some [i, duty] in tx.owed(r)
	did := lib.dataset_id(input.datasets[i])
	countries := tx.relied(r)[i]
	o := lib.result(
		input.to,
		did,
		duty_rule[duty],
		sprintf(duty_message[duty], [did, input.from, input.to, lib.mechanism_label, lib.join(countries), tia_status]),
		duty_citation[duty],
	)
}

duty_rule := {
	"tia": "gdpr.chapter5.tia_required",
	"sa_authorisation": "gdpr.chapter5.sa_authorisation",
	"inform_sa": "gdpr.chapter5.inform_sa",
	"authorisation": "eu.dir95.authorisation",
}

duty_message := {
	"tia": "Transfer of %s from %s to %s relies on %s: assess the law and practice of %s and adopt supplementary measures where needed; %s.",
	"sa_authorisation": "Transfer of %s from %s to %s relies on %s (ad hoc contractual clauses): obtain the competent supervisory authority's authorisation before transferring to %s.%.0s",
	"inform_sa": "Transfer of %s from %s to %s relies on %s (compelling legitimate interests): inform the supervisory authority and the data subject of the transfer to %s, and document the assessment.%.0s",
	"authorisation": "Transfer of %s from %s to %s relies on %s: under Directive 95/46/EC Art. 26(2) the Member State must authorise the safeguards for %s before the transfer.%.0s",
}

duty_citation := {
	"tia": "CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020; GDPR Art. 46(1)",
	"sa_authorisation": "GDPR Art. 46(3)(a), 46(4)",
	"inform_sa": "GDPR Art. 49(1) second subparagraph, 49(6)",
	"authorisation": "Directive 95/46/EC Art. 26(2), (3)",
}

# The regime's entry in the decision's regimes list.
report := tx.report(r, scope)
