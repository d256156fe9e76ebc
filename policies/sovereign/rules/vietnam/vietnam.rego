# METADATA
# title: Vietnam - data localisation and cross-border transfers
# description: >-
#   Personal data collected in Vietnam must also be stored in Vietnam for at least
#   24 months from 1 Oct 2022 (Decree 53/2022 Art. 26); a cross-border transfer of
#   Vietnamese personal data needs a transfer impact assessment dossier from 1 Jul
#   2023 (Decree 13/2023 Art. 25, original to the Ministry of Public Security within
#   60 days) and, from 1 Jan 2026, under the PDP Law 91/2025. Both are obligations
#   on an allowed outcome, not refusals; before their dates no such duty was in
#   force.
package sovereign.rules.vietnam

import data.sovereign.lib

scope := "personal data of data subjects in Vietnam, or collected there"

dec := lib.regime_period("vn_decree53")

pdpl := lib.regime_period("vn_pdpl")

in_scope[i] := why if {
	some i, d in input.datasets
	lib.personal(d)
	lib.concerns(d, "VN")
	why := sprintf("personal data %s", [concern(d)])
}

concern(d) := "collected in Vietnam" if d.origin_country == "VN"

else := "of data subjects in Vietnam"

abroad contains [i, id] if {
	some i, _ in in_scope
	some id, site in lib.targets
	object.get(site, "country", "") != "VN" # a site in no stated country is outside
}

# Neither duty refuses: every target has a ground; the duties are obligations.
grounds contains [i, id, "the obligations of Decree 53/2022 and the PDP rules apply"] if {
	some i, _ in in_scope
	some id, _ in lib.targets
}

# METADATA
# title: Vietnamese user data held abroad - keep a copy in Vietnam
# custom:
#   id: vn.decree53.local_copy
#   effect: obligation
#   citation: Cybersecurity Law 2018 Art. 26(3); Decree 53/2022/ND-CP Art. 26, 27
#   source: https://thuvienphapluat.vn/van-ban/Cong-nghe-thong-tin/Nghi-dinh-53-2022-ND-CP-huong-dan-Luat-An-ninh-mang-522405.aspx
#   example: store a dataset with categories [personal] and origin_country VN at a site in SG
obligations contains o if {
	lib.stores
	dec.status == "modelled"
	some [i, id] in abroad
	d := input.datasets[i]
	d.origin_country == "VN"
	did := lib.dataset_id(d)
	o := lib.result(
		id,
		did,
		"vn.decree53.local_copy",
		sprintf(
			"Dataset %s was collected in Vietnam and is held at %s (%s): keep it stored in Vietnam as well, for at least %d months.",
			[did, id, lib.country_label(lib.targets[id]), lib.regime("vn_decree53").months],
		),
		"Cybersecurity Law 2018 Art. 26(3); Decree 53/2022/ND-CP Art. 26",
	)
}

# METADATA
# title: Vietnamese personal data transferred abroad - transfer impact assessment dossier
# custom:
#   id: vn.pdpl.transfer_dossier
#   effect: obligation
#   citation: Decree 13/2023/ND-CP Art. 25; PDP Law 91/2025/QH15; Decree 356/2025
#   source: https://thuvienphapluat.vn/van-ban/Cong-nghe-thong-tin/Luat-Bao-ve-du-lieu-ca-nhan-2025-so-91-2025-QH15-625628.aspx
#   example: a dataset with categories [personal] and subject_jurisdictions [VN] at a site in SG, on or after 2023-07-01
obligations contains o if {
	pdpl.status == "modelled"
	some [i, id] in abroad
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"vn.pdpl.transfer_dossier",
		sprintf(
			"Personal data of %s reaches %s (%s) outside Vietnam: prepare the cross-border transfer impact assessment dossier (%s) and keep it available to the Ministry of Public Security.",
			[did, id, lib.country_label(lib.targets[id]), pdpl.dossier],
		),
		pdpl.citation,
	)
}

violations contains r if some r in lib.not_modelled(
	"vn_decree53",
	lib.regime("vn_decree53").name,
	dec,
	object.keys(in_scope),
)

violations contains r if some r in lib.not_modelled(
	"vn_pdpl",
	lib.regime("vn_pdpl").name,
	pdpl,
	object.keys(in_scope),
)

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

placement_obligations contains o if some o in obligations

transfer_obligations contains o if some o in obligations

report := lib.report(
	"vn",
	"Vietnam: data localisation (Decree 53/2022) and cross-border transfer dossier (Decree 13/2023, PDP Law 91/2025)",
	scope,
	lib.period_or_null(lib.regime("vn_pdpl").versions),
	in_scope,
	lib.ground_list(grounds),
)
