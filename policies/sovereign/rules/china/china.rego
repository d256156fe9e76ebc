# METADATA
# title: China - outbound transfers of personal information and important data
# description: >-
#   Data collected in China, or of Chinese data subjects, leaving mainland China
#   (Hong Kong and Macao are outside it) needs, in the period in force, an accepted
#   mechanism: CIIO data (from 1 Jun 2017, CSL Art. 37) and important data (from 1
#   Sep 2021, DSL Art. 31) a CAC security assessment; personal information (from 1
#   Nov 2021, PIPL Art. 38) - by the volume of individuals (dataset.subject_count)
#   and sensitivity - a security assessment, a filed standard contract or a
#   certification, each accepted only once it existed, or nothing (exempt tier).
#   No mechanism, a mechanism without a kind, and a kind the tier does not accept
#   are refused alike. Before 1 Jun 2017 no general export rule was in force.
#   Limitation - the law counts a handler's cumulative exports since 1 January;
#   the inventory has no such counter, so each dataset's subject_count stands in
#   for it, and the exempt tier owes confirming the cumulative count.
package sovereign.rules.china

import data.sovereign.lib

key := "cn"

scope := "personal information, CIIO data or important data collected in China or of Chinese data subjects"

cn := lib.regime(key)

v := lib.regime_period(key)

# The datasets the regime governs, by index, with why (any period).
in_scope[i] := why if {
	some i, d in input.datasets
	lib.concerns(d, "CN")
	why := scope_reason(d)
}

scope_reason(d) := "CIIO data or important data" if {
	lib.has_category(d, {"cn-ciio", "cn-important-data"})
} else := "personal information" if {
	lib.personal(d)
}

# tier(d) in the period: "ciio" (CIIO or important data), "assessment",
# "contract", "exempt", or "none" (no rule of the period covers it).
tier(d) := "ciio" if {
	lib.has_category(d, v.ciio_categories)
} else := t if {
	v.pi
	lib.personal(d)
	lib.has_category(d, cn.sensitive_categories)
	t := volume_tier(object.get(d, "subject_count", 0), v.sensitive_assessment_over, v.sensitive_exempt_under)
} else := t if {
	v.pi
	lib.personal(d)
	t := volume_tier(object.get(d, "subject_count", 0), v.assessment_over, v.exempt_under)
} else := "none"

# A missing count is an unknown volume: the strictest tier.
volume_tier(n, over, under) := "assessment" if {
	n == 0
} else := "assessment" if {
	n > over
} else := "contract" if {
	n >= under
} else := "exempt"

# Every target of in-scope data needs a ground.
needs contains [i, id, t] if {
	some i, _ in in_scope
	t := tier_of(i)
	some id, _ in lib.targets
}

tier_of(i) := tier(input.datasets[i]) if {
	v.status == "modelled"
} else := v.status

kind := object.get(input, ["mechanism", "kind"], "")

grounds contains [i, id, "the site is in mainland China"] if {
	some [i, id, _] in needs
	lib.targets[id].country == "CN"
}

grounds contains [i, id, g] if {
	some [i, id, t] in needs
	object.get(lib.targets[id], "country", "") != "CN" # a site in no stated country is outside
	g := export_ground(t)
}

export_ground("not_in_force") := sprintf("no general export rule in force on %s (%s)", [lib.today, v.source])

export_ground("none") := sprintf("no export rule of the period (%s) covers this data", [v.source])

export_ground("exempt") := "exempt by volume, subject to the handler's cumulative count"

export_ground(t) := sprintf("mechanism %s accepted for the %s tier", [kind, t]) if {
	input.kind == "transfer"
	kind in v.accepted[t]
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

exports contains [i, id, t] if {
	some [i, id, t] in needs
	object.get(lib.targets[id], "country", "") != "CN" # a site in no stated country is outside
}

rule_of := {
	"ciio": "cn.dsl.security_assessment",
	"assessment": "cn.pipl.security_assessment",
	"contract": "cn.pipl.standard_contract",
}

citation_of(t) := v.citation if t != "ciio"

else := "CSL Art. 37; DSL Art. 31; CAC Cross-Border Data Flow Provisions 2024 Art. 7"

need := {
	"ciio": "it is CIIO data or important data, so its export needs a CAC security assessment",
	"assessment": "by the volume and sensitivity of the personal information its export needs a CAC security assessment",
	"contract": "by the volume and sensitivity of the personal information its export needs a filed standard contract or a certification",
}

count_label(d) := sprintf("%d individuals", [d.subject_count]) if {
	d.subject_count > 0
} else := "an unknown number of individuals"

offered(t) := sprintf("; mechanism %s is not accepted for it on %s (accepted: %s)", [lib.mechanism_label, lib.today, accepted_label(t)]) if {
	input.kind == "transfer"
	input.mechanism
} else := "; no mechanism was given" if {
	input.kind == "transfer"
} else := ""

accepted_label(t) := concat(", ", v.accepted[t]) if {
	count(v.accepted[t]) > 0
} else := "none yet available"

# METADATA
# scope: rule
# title: Data leaving mainland China without the mechanism its tier needs
# custom:
#   rules:
#     - id: cn.dsl.security_assessment
#       title: CIIO or important data leaving China without a CAC security assessment
#       effect: deny
#       citation: CSL Art. 37; DSL Art. 31; CAC Cross-Border Data Flow Provisions 2024 Art. 7
#       source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#       example: a dataset with categories [cn-important-data] and origin_country CN at a site in SG
#     - id: cn.pipl.security_assessment
#       title: Personal information export above the assessment threshold
#       effect: deny
#       citation: PIPL Art. 38, 40; CAC Cross-Border Data Flow Provisions 2024 Art. 7
#       source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#       example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 1000001 at a site in DE, or one without a subject_count
#     - id: cn.pipl.standard_contract
#       title: Personal information export in the standard-contract tier without a contract
#       effect: deny
#       citation: PIPL Art. 38(1)(3); CAC Cross-Border Data Flow Provisions 2024 Art. 8
#       source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#       example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 100000 at a site in HK, or a transfer there naming no mechanism
violations contains r if {
	some [i, id, t] in exports
	not grounded[[i, id]]
	d := input.datasets[i]
	did := lib.dataset_id(d)
	r := lib.result(
		id,
		did,
		rule_of[t],
		sprintf(
			"Dataset %s (collected in or concerning China, %s) would leave mainland China for %s at site %s: %s%s.",
			[did, count_label(d), lib.country_label(lib.targets[id]), id, need[t], offered(t)],
		),
		citation_of(t),
	)
}

# A period the library does not model refuses every target.
violations contains r if some r in lib.not_modelled(key, cn.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

# METADATA
# scope: rule
# title: Obligations of an export out of mainland China
# custom:
#   rules:
#     - id: cn.pipl.cumulative_volume
#       title: Exempt by this dataset's volume - confirm the handler's cumulative count
#       effect: obligation
#       citation: CAC Cross-Border Data Flow Provisions 2024 Art. 5(6)
#       source: https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm
#       example: a dataset with categories [personal], subject_jurisdictions [CN] and subject_count 99999 at a site in DE
#     - id: cn.pipl.standard_contract_filing
#       title: Standard contract relied on - file it with the provincial CAC
#       effect: obligation
#       citation: CAC Measures on the Standard Contract for Outbound Transfer of Personal Information (2023) Art. 7
#       source: http://www.cac.gov.cn/2023-02/24/c_1678884830036813.htm
#       example: transfer of CN personal information (150000 individuals) to a site in DE with mechanism {kind cn-standard-contract}
#     - id: cn.pipl.impact_assessment
#       title: Export relied on a CAC mechanism - personal information protection impact assessment owed
#       effect: obligation
#       citation: PIPL Art. 55(4), 56
#       source: http://www.npc.gov.cn/npc/c30834/202108/a8c4e3672c74491a80b53a172bb753fe.shtml
#       example: transfer of CN personal information (2000000 individuals) to a site in DE with mechanism {kind cn-security-assessment}
obligations contains o if {
	some [i, id, "exempt"] in exports
	d := input.datasets[i]
	did := lib.dataset_id(d)
	o := lib.result(
		id,
		did,
		"cn.pipl.cumulative_volume",
		sprintf(
			"Dataset %s (%s) leaving mainland China for %s is below the thresholds on its own; the exemption holds only while the handler's cumulative exports since 1 January stay below %d individuals: confirm the count (the inventory holds none), or rely on a standard contract or certification.",
			[did, count_label(d), lib.country_label(lib.targets[id]), v.exempt_under],
		),
		"CAC Cross-Border Data Flow Provisions 2024 Art. 5(6)",
	)
}

obligations contains o if {
	kind == "cn-standard-contract"
	v.filing
	some [i, id, "contract"] in exports
	grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"cn.pipl.standard_contract_filing",
		sprintf(
			"Transfer of %s relies on the PIPL standard contract: file it with the provincial cyberspace administration within 10 working days of its effective date.",
			[did],
		),
		"CAC Standard Contract Measures 2023 Art. 7",
	)
}

obligations contains o if {
	v.pia
	some [i, id, t] in exports
	t in {"ciio", "assessment", "contract"}
	grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"cn.pipl.impact_assessment",
		sprintf(
			"Transfer of %s out of mainland China relies on %s: carry out and keep (3 years) a personal information protection impact assessment before the transfer.",
			[did, kind],
		),
		"PIPL Art. 55(4), 56",
	)
}

placement_obligations contains o if some o in obligations

transfer_obligations contains o if some o in obligations

report := lib.report(key, cn.name, scope, lib.period_or_null(cn.versions), in_scope, lib.ground_list(grounds))
