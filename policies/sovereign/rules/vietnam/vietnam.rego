# METADATA
# title: Vietnam - data localisation and cross-border transfers
# description: >-
#   Personal data collected in Vietnam by a domestic enterprise must also be
#   stored in Vietnam for at least 24 months (Decree 53/2022 Art. 26); from
#   1 Jan 2026 a cross-border transfer of Vietnamese personal data needs a
#   transfer impact assessment dossier (PDP Law 91/2025). Both are obligations
#   on an allowed outcome, not refusals.
package sovereign.rules.vietnam

import data.sovereign.lib

abroad contains [d, id, site] if {
	some d in input.datasets
	lib.personal(d)
	lib.concerns(d, "VN")
	some id, site in lib.targets
	site.country != "VN"
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
	dec := lib.regime("vn_decree53")
	some [d, id, site] in abroad
	d.origin_country == "VN"
	did := lib.dataset_id(d)
	o := lib.result(id, did, "vn.decree53.local_copy", sprintf("Dataset %s was collected in Vietnam and is held at %s (%s): keep it stored in Vietnam as well, for at least %d months.", [did, id, site.country, dec.months]), "Cybersecurity Law 2018 Art. 26(3); Decree 53/2022/ND-CP Art. 26")
}

# METADATA
# title: Vietnamese personal data transferred abroad - transfer impact assessment dossier
# custom:
#   id: vn.pdpl.transfer_dossier
#   effect: obligation
#   citation: PDP Law 91/2025/QH15; Decree 356/2025
#   source: https://thuvienphapluat.vn/van-ban/Cong-nghe-thong-tin/Luat-Bao-ve-du-lieu-ca-nhan-2025-so-91-2025-QH15-625628.aspx
#   example: a dataset with categories [personal] and subject_jurisdictions [VN] at a site in SG, on or after 2026-01-01
obligations contains o if {
	pdpl := lib.regime("vn_pdpl")
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	o := lib.result(id, did, "vn.pdpl.transfer_dossier", sprintf("Personal data of %s reaches %s (%s) outside Vietnam: prepare the cross-border transfer impact assessment dossier (%s) and keep it available to the Ministry of Public Security.", [did, id, site.country, pdpl.dossier]), "PDP Law 91/2025/QH15; Decree 356/2025")
}

placement_violations := set()

transfer_violations := set()

placement_obligations contains o if some o in obligations

transfer_obligations contains o if some o in obligations
