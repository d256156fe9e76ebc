# METADATA
# title: GDPR Chapter V (Arts 44-49) - transfers of personal data out of the EEA
# description: >-
#   Personal data of EEA data subjects may sit only in the EEA or in a country an EU
#   adequacy decision covers (with its scope qualifiers and dates); remote access
#   from a third country is a transfer (EDPB Guidelines 05/2021). A transfer outside
#   needs an Art. 46/47 tool (then a transfer impact assessment is owed) or an
#   occasional Art. 49 derogation.
package sovereign.rules.gdpr

import data.sovereign.lib

ref := data.reference.gdpr

citation_placement := {
	"gdpr.chapter5.no_basis": "GDPR Art. 44, 45",
	"gdpr.chapter5.remote_access": "GDPR Art. 44; EDPB Guidelines 05/2021",
}

citation_transfer := {
	"gdpr.chapter5.no_basis": "GDPR Art. 44, 46, 49",
	"gdpr.chapter5.remote_access": "GDPR Art. 44, 46; EDPB Guidelines 05/2021",
}

# ---------------------------------------------------------------------------
# Scope: the datasets of the query Chapter V governs, keyed by their index.

scoped[i] := d if {
	some i, d in input.datasets
	personal(d)
	eea_subjects(d)
}

personal(d) if {
	categories := ref.data_categories
	some cat in d.categories
	lib.in_force(categories[cat])
}

eea_subjects(d) if {
	some j in d.subject_jurisdictions
	touches_eea(j)
}

# touches_eea(j): j is an EEA country, or a group with an EEA member. The EU and
# the EEA are such groups by definition (EU members are EEA members - tested), so
# the common case costs no membership resolution.
touches_eea(j) if j in {"EU", "EEA"}

touches_eea(j) if lib.eea[j]

touches_eea(j) if {
	not j in {"EU", "EEA"}
	count(object.keys(lib.members(j)) & object.keys(lib.eea)) > 0
}

# ---------------------------------------------------------------------------
# Adequacy. The EU adequacy list is a list of dated versions (one per period in
# which no decision started or ended); the version in force is found once per
# query (the versions lie within the list's own dates - tested). Each country
# entry names its decision and its scope qualifiers.

adequacy := lib.current(ref.adequacy.versions).countries if {
	ref.adequacy
} else := {}

# unmet(list, c, site, d) is the set of scope qualifiers of country c's adequacy
# decision that this recipient site and dataset do not meet: empty when the
# decision covers them, {"no decision"} when c is not on the list.
unmet(list, c, site, d) := {q | some q, v in list[c].scope; not met(q, v, site, d)} if {
	list[c]
} else := {"no decision"}

# met(qualifier, value, site, d): one scope qualifier holds for this recipient site
# and dataset. A qualifier without a clause here is never met, so a decision
# carrying it covers no one (deny by omission).
met("recipient_certification", scheme, site, _) if {
	t := lib.today
	some cert in site.certifications
	cert.scheme == scheme
	object.get(cert, "valid_until", t) >= t
}

met("recipient_sectors", sectors, site, _) if lib.sector(site) in sectors

met("excluded_categories", excluded, _, d) if {
	not excluded_category(d, excluded)
}

excluded_category(d, excluded) if {
	some cat in d.categories
	cat in excluded
}

# reason(c, unmet, d) says why country c gives no adequacy basis. It depends on the
# country and the unmet qualifiers, not on the site, so OPA computes it once per
# country however many sites there are refused.
reason(c, unmet, d) := sprintf("%s is outside the EEA and not on the EU adequacy list in force on %s", [c, lib.today]) if {
	unmet == {"no decision"}
} else := concat("; ", [r |
	some q in unmet
	r := sprintf("the EU adequacy decision for %s %s", [c, qualifier_reason(q, scope[q], d)])
]) if {
	scope := adequacy[c].scope
}

qualifier_reason("recipient_certification", scheme, _) := sprintf(
	"covers only recipients certified under %s, and the site holds no valid %s certification",
	[scheme, scheme],
)

qualifier_reason("recipient_sectors", sectors, _) := sprintf(
	"covers only %s recipients, and the site's operator is not one (label %s)",
	[lib.join(sectors), lib.sector_label],
)

qualifier_reason("excluded_categories", excluded, d) := sprintf(
	"excludes data of category %s",
	[lib.join({cat | some cat in d.categories; cat in excluded})],
)

qualifier_reason(q, _, _) := sprintf("has a scope qualifier (%s) this policy does not apply", [q]) if {
	not q in {"recipient_certification", "recipient_sectors", "excluded_categories"}
}

# ---------------------------------------------------------------------------
# Findings: each way personal data at a target site would leave the EEA and
# adequacy - by where the site is, and by who administers it. The per-site loops
# bind their lookup tables locally; only a country outside the EEA costs a call.

# METADATA
# title: EEA personal data outside the EEA and EU adequacy
# custom:
#   id: gdpr.chapter5.no_basis
#   effect: deny
#   citation: GDPR Art. 44, 45, 46, 49
#   source: https://eur-lex.europa.eu/eli/reg/2016/679/oj
#   example: a dataset with categories [personal] and subject_jurisdictions [EU] at a site in IN (us-east-1 in the demo), or a transfer there without a mechanism
findings contains f if {
	some i, d in scoped
	did := lib.dataset_id(d)
	targets := lib.targets
	eea := lib.eea
	list := adequacy
	some id, site in targets
	c := site.country
	not eea[c]
	gaps := unmet(list, c, site, d)
	count(gaps) > 0
	f := {
		"index": i, "site": id, "dataset": did,
		"rule": "gdpr.chapter5.no_basis",
		"countries": [c],
		"detail": sprintf("site %s is in %s: %s", [id, c, reason(c, gaps, d)]),
	}
}

# Remote administration from a third country is a transfer. Personnel in the
# site's own country are judged with the site by the rule above. Grouped by
# dataset index and site, so each site's countries are collected once.
remote[i][id] contains p if {
	some i, d in scoped
	targets := lib.targets
	eea := lib.eea
	list := adequacy
	some id, site in targets
	some p in site.personnel_countries
	not eea[p]
	p != site.country
	count(unmet(list, p, site, d)) > 0
}

# METADATA
# title: EEA personal data administered from a third country
# custom:
#   id: gdpr.chapter5.remote_access
#   effect: deny
#   citation: GDPR Art. 44; EDPB Guidelines 05/2021
#   source: https://www.edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-052021-interplay-between-application-article-3_en
#   example: a dataset with subject_jurisdictions [EU] at dub-1 (personnel in IN)
findings contains f if {
	some i, by_site in remote
	some id, countries in by_site
	site := lib.targets[id]
	f := {
		"index": i, "site": id, "dataset": lib.dataset_id(scoped[i]),
		"rule": "gdpr.chapter5.remote_access",
		"countries": sort(countries),
		"detail": sprintf(
			"site %s (%s) can be administered by personnel in %s, outside the EEA and any applicable EU adequacy decision; remote access from a third country is a transfer",
			[id, site.country, lib.join(countries)],
		),
	}
}

# ---------------------------------------------------------------------------
# Placement: a placement carries no transfer tool, so every finding is a violation.

placement_violations contains v if {
	some f in findings
	v := {
		"site": f.site, "dataset": f.dataset, "rule": f.rule,
		"message": sprintf("Dataset %s holds personal data of EEA data subjects; %s.", [f.dataset, f.detail]),
		"citation": citation_placement[f.rule],
	}
}

placement_obligations := set()

# ---------------------------------------------------------------------------
# Transfer: the destination's findings need a Chapter V tool.

# The countries each in-scope dataset would reach outside the EEA and adequacy.
exposed[i] := countries if {
	some i, _ in scoped
	countries := {c | some f in findings; f.index == i; some c in f.countries}
	count(countries) > 0
}

# tool is the Chapter V instrument the transfer relies on, when it is one in force.
tool := t if {
	t := ref.transfer_tools[input.mechanism.kind]
	lib.in_force(t)
}

mechanism_label := sprintf("%s (%s)", [input.mechanism.kind, input.mechanism.reference]) if {
	input.mechanism.reference
} else := input.mechanism.kind

result(i, rule, message, citation) := {
	"site": input.to,
	"dataset": lib.dataset_id(scoped[i]),
	"rule": rule,
	"message": message,
	"citation": citation,
}

# No mechanism at all: each finding is a violation.
transfer_violations contains v if {
	not input.mechanism
	some f in findings
	v := {
		"site": f.site, "dataset": f.dataset, "rule": f.rule,
		"message": sprintf(
			"Transfer of %s from %s to %s: %s. No transfer mechanism was given (SCCs, BCRs, another Art. 46 safeguard or an Art. 49 derogation).",
			[f.dataset, input.from, input.to, f.detail],
		),
		"citation": citation_transfer[f.rule],
	}
}

# A mechanism that is not a Chapter V tool in force (an IDTA, a Chinese standard
# contract, an unknown kind, or a tool before the GDPR applied).
transfer_violations contains v if {
	input.mechanism
	not tool
	some i, countries in exposed
	v := result(
		i, "gdpr.chapter5.no_basis",
		sprintf(
			"Transfer of %s from %s to %s reaches %s outside the EEA and adequacy, and mechanism %s is not a GDPR Chapter V transfer tool in force on %s.",
			[lib.dataset_id(scoped[i]), input.from, input.to, lib.join(countries), mechanism_label, lib.today],
		),
		"GDPR Art. 44, 46, 49",
	)
}

# A derogation must name one of the Art. 49(1) grounds.
transfer_violations contains v if {
	tool.derogation
	not known_derogation
	some i, countries in exposed
	v := result(
		i, "gdpr.chapter5.no_basis",
		sprintf(
			"Transfer of %s from %s to %s reaches %s outside the EEA and adequacy, and derogation %q is not one of the grounds of GDPR Art. 49(1).",
			[lib.dataset_id(scoped[i]), input.from, input.to, lib.join(countries), object.get(input.mechanism, "derogation", "")],
		),
		"GDPR Art. 44, 49(1)",
	)
}

known_derogation if lib.in_force(ref.derogations[input.mechanism.derogation])

# A derogation covers only occasional transfers: a repeated, continuous or
# unstated frequency is refused.
# METADATA
# title: Art. 49 derogation relied on for a repeated or continuous transfer
# custom:
#   id: gdpr.chapter5.derogation_not_occasional
#   effect: deny
#   citation: GDPR Art. 49(1); EDPB Guidelines 2/2018
#   source: https://www.edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-22018-derogations-article-49-under-regulation_en
#   example: transfer fra-1 to bom-1 with mechanism {kind derogation, derogation consent} and frequency repeated
transfer_violations contains v if {
	tool.derogation
	known_derogation
	not occasional
	some i, countries in exposed
	v := result(
		i, "gdpr.chapter5.derogation_not_occasional",
		sprintf(
			"Transfer of %s from %s to %s (%s) relies on the Art. 49(1) derogation %s, which covers only occasional transfers; this transfer is %s. Use SCCs or BCRs instead.",
			[lib.dataset_id(scoped[i]), input.from, input.to, lib.join(countries), input.mechanism.derogation, frequency_label],
		),
		"GDPR Art. 49(1); EDPB Guidelines 2/2018",
	)
}

occasional if input.frequency == "one-off"

frequency_label := input.frequency if {
	input.frequency
} else := "of unstated frequency (state frequency one-off)"

# An Art. 46/47 tool is enough only with a transfer impact assessment (Schrems II).
# METADATA
# title: Art. 46/47 tool relied on - transfer impact assessment owed
# custom:
#   id: gdpr.chapter5.tia_required
#   effect: obligation
#   citation: CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020; GDPR Art. 46(1)
#   source: https://www.edpb.europa.eu/our-work-tools/our-documents/recommendations/recommendations-012020-measures-supplement-transfer_en
#   example: transfer fra-1 to us-east-1 with mechanism {kind scc, module C2P}
transfer_obligations contains o if {
	t := tool
	not t.derogation
	some i, countries in exposed
	o := result(
		i, "gdpr.chapter5.tia_required",
		sprintf(
			"Transfer of %s from %s to %s relies on %s: assess the law and practice of %s and adopt supplementary measures where needed; %s.",
			[lib.dataset_id(scoped[i]), input.from, input.to, mechanism_label, lib.join(countries), tia_status],
		),
		"CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020; GDPR Art. 46(1)",
	)
}

tia_status := sprintf("transfer impact assessment on record: %s", [input.mechanism.tia_reference]) if {
	input.mechanism.tia_reference
} else := "no transfer impact assessment is referenced yet (mechanism.tia_reference)"

# Ad hoc clauses need the supervisory authority's authorisation first.
# METADATA
# title: Ad hoc clauses relied on - supervisory authority authorisation owed
# custom:
#   id: gdpr.chapter5.sa_authorisation
#   effect: obligation
#   citation: GDPR Art. 46(3)(a), 46(4)
#   source: https://eur-lex.europa.eu/eli/reg/2016/679/oj
#   example: transfer fra-1 to bom-1 with mechanism {kind ad-hoc-clauses}
transfer_obligations contains o if {
	tool.sa_authorisation
	some i, _ in exposed
	o := result(
		i, "gdpr.chapter5.sa_authorisation",
		sprintf(
			"Transfer of %s from %s to %s relies on ad hoc contractual clauses: obtain the competent supervisory authority's authorisation before transferring.",
			[lib.dataset_id(scoped[i]), input.from, input.to],
		),
		"GDPR Art. 46(3)(a), 46(4)",
	)
}
