# METADATA
# title: China - outbound transfers of personal information and important data
# description: >-
#   Data collected in China, or of Chinese data subjects, leaving mainland China
#   (Hong Kong and Macao are outside it): CIIO data and important data need a CAC
#   security assessment; personal information needs, by the volume of individuals
#   (dataset.subject_count) and sensitivity, a security assessment, a standard
#   contract (or certification), or nothing. Limitation - the law counts a
#   handler's cumulative exports since 1 January; the inventory has no such
#   counter, so each dataset's subject_count stands in for it (warned).
package sovereign.rules.china

import data.sovereign.lib

cn := lib.regime("cn")

version := lib.current(cn.versions)

# The datasets of the query the regime governs, with their tier.
scoped contains [d, t] if {
	c := cn
	some d in input.datasets
	lib.concerns(d, "CN")
	t := tier(d, c)
}

# tier: "ciio" (CIIO data or important data), "assessment", "contract", "exempt".
tier(d, c) := "ciio" if {
	lib.has_category(d, c.ciio_categories)
} else := t if {
	lib.personal(d)
	lib.has_category(d, c.sensitive_categories)
	v := version
	t := volume_tier(object.get(d, "subject_count", 0), v.sensitive_assessment_over, v.sensitive_exempt_under)
} else := t if {
	lib.personal(d)
	v := version
	t := volume_tier(object.get(d, "subject_count", 0), v.assessment_over, v.exempt_under)
}

# A missing count is an unknown volume: the strictest tier.
volume_tier(n, over, under) := "assessment" if {
	n == 0
} else := "assessment" if {
	n > over
} else := "contract" if {
	n >= under
} else := "exempt"

exports contains [d, t, id, site] if {
	some [d, t] in scoped
	some id, site in lib.targets
	site.country != "CN"
}

accepted := {
	"ciio": {"cn-security-assessment"},
	"assessment": {"cn-security-assessment"},
	"contract": {"cn-standard-contract", "cn-certification", "cn-security-assessment"},
}

rule_of := {
	"ciio": "cn.dsl.security_assessment",
	"assessment": "cn.pipl.security_assessment",
	"contract": "cn.pipl.standard_contract",
}

citation_of := {
	"ciio": "CSL Art. 37; DSL Art. 31; CAC Cross-Border Data Flow Provisions 2024 Art. 7",
	"assessment": version.citation,
	"contract": version.citation,
}

need := {
	"ciio": "it is CIIO data or important data, so its export needs a CAC security assessment",
	"assessment": "by the volume and sensitivity of the personal information its export needs a CAC security assessment",
	"contract": "by the volume and sensitivity of the personal information its export needs a filed standard contract or a certification",
}

finding(d, t, id, site) := lib.result(id, did, rule_of[t], sprintf("Dataset %s (collected in or concerning China, %s) would leave mainland China for %s at site %s: %s.", [did, count_label(d), site.country, id, need[t]]), citation_of[t]) if {
	did := lib.dataset_id(d)
}

count_label(d) := sprintf("%d individuals", [d.subject_count]) if {
	d.subject_count > 0
} else := "an unknown number of individuals"

# METADATA
# title: CIIO or important data leaving China without a CAC security assessment
# custom:
#   id: cn.dsl.security_assessment
#   effect: deny
#   citation: CSL Art. 37; DSL Art. 31; CAC Cross-Border Data Flow Provisions 2024 Art. 7
#   source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#   example: a dataset with categories [cn-important-data] and origin_country CN at a site in SG
placement_violations contains v if {
	some [d, t, id, site] in exports
	t == "ciio"
	v := finding(d, t, id, site)
}

# METADATA
# title: Personal information export above the assessment threshold
# custom:
#   id: cn.pipl.security_assessment
#   effect: deny
#   citation: PIPL Art. 38, 40; CAC Cross-Border Data Flow Provisions 2024 Art. 7
#   source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#   example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 1000001 at a site in DE
placement_violations contains v if {
	some [d, t, id, site] in exports
	t == "assessment"
	v := finding(d, t, id, site)
}

# METADATA
# title: Personal information export in the standard-contract tier without a contract
# custom:
#   id: cn.pipl.standard_contract
#   effect: deny
#   citation: PIPL Art. 38(1)(3); CAC Cross-Border Data Flow Provisions 2024 Art. 8
#   source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#   example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 100000 at a site in HK
placement_violations contains v if {
	some [d, t, id, site] in exports
	t == "contract"
	v := finding(d, t, id, site)
}

# METADATA
# title: Exempt by this dataset's volume - the handler's cumulative count decides
# custom:
#   id: cn.pipl.cumulative_volume
#   effect: warn
#   citation: CAC Cross-Border Data Flow Provisions 2024 Art. 5(6)
#   source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#   example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 99999 at a site in DE
placement_obligations contains o if some o in exempt_warnings

exempt_warnings contains o if {
	some [d, t, id, site] in exports
	t == "exempt"
	did := lib.dataset_id(d)
	o := lib.result(id, did, "cn.pipl.cumulative_volume", sprintf("Dataset %s (%s) leaving mainland China for %s is below the thresholds on its own; the exemption holds only if the handler's cumulative exports since 1 January stay below %d individuals (not checked: no counter in the inventory).", [did, count_label(d), site.country, version.exempt_under]), "CAC Cross-Border Data Flow Provisions 2024 Art. 5(6)")
}

transfer_violations contains v if {
	some [d, t, id, site] in exports
	t != "exempt"
	not input.mechanism.kind in accepted[t]
	v := finding(d, t, id, site)
}

# METADATA
# title: Standard contract relied on - file it with the provincial CAC
# custom:
#   id: cn.pipl.standard_contract_filing
#   effect: obligation
#   citation: CAC Measures on the Standard Contract for Outbound Transfer of Personal Information (2023) Art. 7
#   source: http://www.cac.gov.cn/2023-02/24/c_1678884830036813.htm
#   example: transfer of CN personal information (150000 individuals) to a site in DE with mechanism {kind cn-standard-contract}
transfer_obligations contains o if {
	input.mechanism.kind == "cn-standard-contract"
	some [d, t, id, _] in exports
	t == "contract"
	did := lib.dataset_id(d)
	o := lib.result(id, did, "cn.pipl.standard_contract_filing", sprintf("Transfer of %s relies on the PIPL standard contract: file it with the provincial cyberspace administration within 10 working days of its effective date.", [did]), "CAC Standard Contract Measures 2023 Art. 7")
}

# METADATA
# title: Export relied on a CAC mechanism - personal information protection impact assessment owed
# custom:
#   id: cn.pipl.impact_assessment
#   effect: obligation
#   citation: PIPL Art. 55(4), 56
#   source: http://www.npc.gov.cn/npc/c30834/202108/a8c4e3672c74491a80b53a172bb753fe.shtml
#   example: transfer of CN personal information (2000000 individuals) to a site in DE with mechanism {kind cn-security-assessment}
transfer_obligations contains o if {
	some [d, t, id, _] in exports
	t != "exempt"
	input.mechanism.kind in accepted[t]
	did := lib.dataset_id(d)
	o := lib.result(id, did, "cn.pipl.impact_assessment", sprintf("Transfer of %s out of mainland China relies on %s: carry out and keep (3 years) a personal information protection impact assessment before the transfer.", [did, input.mechanism.kind]), "PIPL Art. 55(4), 56")
}

transfer_obligations contains o if some o in exempt_warnings
