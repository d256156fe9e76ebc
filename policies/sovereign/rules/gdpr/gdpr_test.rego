package sovereign.rules.gdpr_test

import data.sovereign.fixtures_test as fx

# --- scope ---------------------------------------------------------------------

test_personal_data_of_eea_subjects_may_stay_in_the_eea if {
	fx.allowed("pii-eu", "de-1")
	fx.allowed("pii-eu", "no-1")
	fx.allowed("pii-de", "de-1")
}

test_personal_data_of_eea_subjects_refused_outside if {
	d := fx.placement(["pii-eu"], ["in-1"])
	fx.rules_at(d, "in-1") == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	v == {
		"site": "in-1", "dataset": "pii-eu", "rule": "gdpr.chapter5.no_basis",
		"message": "Dataset pii-eu holds personal data of EEA data subjects; site in-1 is in IN: IN is outside the EEA and not on the EU adequacy list in force on 2026-11-27.",
		"citation": "GDPR Art. 44, 45",
	}
}

test_subjects_named_by_country_or_group if {
	not fx.allowed("pii-de", "in-1")
	not fx.allowed("pii-efta", "in-1") # EFTA includes IS, LI, NO
}

test_out_of_scope_data_is_not_bound if {
	fx.allowed("pii-in", "in-1") # no EEA data subjects
	fx.allowed("public", "in-1") # not personal data
	not "gdpr.chapter5.no_basis" in fx.rules_at(
		fx.placement(["designs"], ["in-1"]),
		"in-1",
	)
	# EEA subjects, but no personal-data category
}

# Before the GDPR, Directive 95/46/EC Arts 25-26 barred the same transfers: the
# day before is refused under the Directive's own rule id, the day of under the GDPR's.
test_directive_before_the_gdpr if {
	d := fx.placement_at(["pii-eu"], ["in-1"], "2018-05-24T23:59:59Z")
	fx.rules_at(d, "in-1") == {"eu.dir95.no_basis"}
	d2 := fx.placement_at(["pii-eu"], ["in-1"], "2018-05-25T00:00:00Z")
	fx.rules_at(d2, "in-1") == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	v.citation == "Directive 95/46/EC Art. 25"
}

test_directive_adequacy_and_zone if {
	fx.allowed_at("pii-eu", "ch-1", "2012-01-01T00:00:00Z") # 2000/518/EC
	fx.allowed_at("pii-eu", "ca-1", "2012-01-01T00:00:00Z") # 2002/2/EC
	fx.allowed_at("pii-eu", "no-1", "2012-01-01T00:00:00Z") # EEA
	not fx.allowed_at("pii-eu", "jp-1", "2012-01-01T00:00:00Z") # Japan only from 2019
	fx.allowed_at("pii-eu", "jp-1", "2019-01-23T00:00:00Z")
}

test_safe_harbour_until_schrems_i if {
	site := {"us-sh": fx.site("us-sh", "US", {"certifications": [{"scheme": "US-Safe-Harbor"}]})}
	inv := object.union(fx.inventory, {"sites": object.union(fx.sites, site)})
	i := fx.placement_input(["pii-eu"], ["us-sh"], "2015-10-05T12:00:00Z")
	d1 := data.sovereign.placement.decision with input as i with data.inventory as inv
	d1.violations == []
	d2 := data.sovereign.placement.decision with input as object.union(
		i,
		{"time": "2015-10-06T00:00:00Z"},
	)
		with data.inventory as inv
	fx.rules_at(d2, "us-sh") == {"eu.dir95.no_basis"}
}

test_directive_transfer_tools if {
	t := "2015-06-01T00:00:00Z"
	fx.violation_rules(fx.transfer_at(["pii-eu"], "de-1", "in-1", {}, t)) == {"eu.dir95.no_basis"}
	scc := fx.transfer_at(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "scc"}}, t)
	fx.clean(scc) # no transfer impact assessment before the GDPR and Schrems II
	bcr := fx.transfer_at(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "bcr"}}, t)
	bcr.violations == []
	fx.obligation_rules(bcr) == {"eu.dir95.authorisation"}
	fx.violation_rules(fx.transfer_at(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "code-of-conduct"}}, t)) == {"eu.dir95.no_basis"}
	fx.violation_rules(fx.transfer_at(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}}, t)) == {"eu.dir95.derogation_not_occasional"}
	fx.clean(fx.transfer_at(
		["pii-eu"],
		"de-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}},
		t,
	))
	d := fx.transfer_at(
		["pii-eu"],
		"de-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "compelling-legitimate-interests"}},
		t,
	)
	fx.violation_rules(d) == {"eu.dir95.no_basis"} # no such ground before the GDPR
}

# The UK in the transition period (Withdrawal Agreement Art. 127) and under the TCA
# bridge (FINPROV.10A): not a third country for EU data; UK data subjects' data
# under the GDPR during the transition.
test_uk_treated_as_member_state if {
	fx.allowed_at("pii-eu", "gb-1", "2020-02-01T00:00:00Z")
	fx.allowed_at("pii-eu", "gb-1", "2020-12-31T23:59:59Z")
	fx.allowed_at("pii-eu", "gb-1", "2021-01-01T00:00:00Z")
	fx.allowed_at("pii-eu", "gb-1", "2021-06-27T23:59:59Z")
	fx.allowed_at("pii-eu", "gb-1", "2021-06-28T00:00:00Z") # adequacy decision 2021/1772
	d := fx.placement_at(["pii-gb"], ["in-1"], "2020-12-31T12:00:00Z")
	fx.rules_at(d, "in-1") == {"gdpr.chapter5.no_basis"}
	fx.allowed_at("pii-gb", "de-1", "2020-06-01T00:00:00Z")
}

test_uk_bridge_does_not_cover_uk_subjects if {
	# From 2021 UK data subjects are the UK GDPR's, not the GDPR's.
	d := fx.placement_at(["pii-gb"], ["in-1"], "2021-03-01T00:00:00Z")
	fx.rules_at(d, "in-1") == {"ukgdpr.chapter5.no_basis"}
}

# --- absent inputs are never a basis ----------------------------------------------

test_personal_data_collected_in_the_eea_without_subjects if {
	d := fx.placement(["pii-origin-de"], ["in-1", "de-1"])
	fx.rules_at(d, "in-1") == {"gdpr.chapter5.no_basis"}
	fx.rules_at(d, "de-1") == set()
	contains(fx.message_at(d, "in-1", "gdpr.chapter5.no_basis"), "holds personal data collected in DE")
}

test_data_subjects_without_categories_are_personal_data if {
	d := fx.placement(["subjects-eu", "count-only"], ["in-1"])
	{[v.dataset, v.rule] | some v in d.violations} == {["subjects-eu", "gdpr.chapter5.no_basis"], ["count-only", "gdpr.chapter5.no_basis"]}
}

test_no_mechanism_kind_or_ground_is_no_basis if {
	every extra in [
		{},
		{"mechanism": {}},
		{"mechanism": {"reference": "SCC-1"}},
		{"mechanism": {"kind": ""}},
		{"mechanism": {"kind": "derogation"}},
		{"mechanism": {"kind": "derogation"}, "frequency": "one-off"},
		{"mechanism": null},
		{"mechanism": "scc"},
	] {
		d := fx.transfer(["pii-eu"], "de-1", "in-1", extra)
		count(d.violations) > 0
		fx.violation_rules(d) & {"gdpr.chapter5.no_basis", "gdpr.chapter5.derogation_not_occasional"} != set()
	}
}

test_mechanism_without_kind_message if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"reference": "SCC-1"}})
	some v in d.violations
	contains(v.message, "mechanism (no kind) is not a GDPR Chapter V transfer tool")
}

test_derogation_without_ground if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"frequency": "one-off", "mechanism": {"kind": "derogation"}})
	fx.violation_rules(d) == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	contains(v.message, `derogation "" is not one of the grounds of GDPR Art. 49(1)`)
}

test_compelling_legitimate_interests_owe_informing_the_sa if {
	d := fx.transfer(
		["pii-eu"],
		"de-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "compelling-legitimate-interests"}},
	)
	d.violations == []
	fx.obligation_rules(d) == {"gdpr.chapter5.inform_sa"}
}

test_site_without_certifications_is_not_dpf_covered if {
	d := fx.placement(["pii-eu"], ["us-1"])
	fx.rules_at(d, "us-1") == {"gdpr.chapter5.no_basis"}
	site := {"us-bare": {"id": "us-bare", "kind": "cloud-region", "country": "US", "operator": {"name": "X", "country": "US"}}}
	inv := object.union(fx.inventory, {"sites": object.union(fx.sites, site)})
	d2 := data.sovereign.placement.decision with input as fx.placement_input(
		["pii-eu"],
		["us-bare"],
		fx.now,
	)
		with data.inventory as inv
	fx.rules_at(d2, "us-bare") == {"gdpr.chapter5.no_basis"}
}

# --- the regimes list -----------------------------------------------------------------

test_regimes_list_says_why if {
	d := fx.placement(["pii-eu", "public"], ["de-1"])
	fx.applies(d, "gdpr", "pii-eu")
	not fx.applies(d, "gdpr", "public")
	r := fx.regime(d, "gdpr")
	r.period.id == "gdpr"
	r.period.status == "modelled"
	some g in r.grounds
	g == {"site": "de-1", "dataset": "pii-eu", "ground": "DE is within the regime's area"}
	some e in r.datasets
	e == {"dataset": "public", "applies": false, "why": "not in scope: the regime governs personal data of data subjects in the EEA, or collected there"}
}

test_regimes_list_names_the_directive_period if {
	d := fx.placement_at(["pii-eu"], ["ch-1"], "2012-01-01T00:00:00Z")
	r := fx.regime(d, "gdpr")
	r.period.id == "dir95"
	some g in r.grounds
	startswith(g.ground, "CH: Commission Decision 2000/518/EC")
}

# Rule 5: a country no reference list knows is refused, not allowed by omission.
test_unknown_country_is_refused if {
	d := fx.placement(["pii-eu"], ["zz-1"])
	fx.rules_at(d, "zz-1") == {"gdpr.chapter5.no_basis", "jurisdiction.unknown"}
}

# --- adequacy --------------------------------------------------------------------

test_full_adequacy if {
	fx.allowed("pii-eu", "ch-1")
	fx.allowed("pii-eu", "gb-1")
	fx.allowed("pii-eu", "jp-1")
	fx.allowed("pii-eu", "kr-1")
}

test_brazil_adequate_from_26_january_2026 if {
	not fx.allowed_at("pii-eu", "br-1", "2026-01-25T23:59:59Z")
	fx.allowed_at("pii-eu", "br-1", "2026-01-26T00:00:00Z")
}

test_uk_adequacy_ends_27_december_2031 if {
	fx.allowed_at("pii-eu", "gb-1", "2031-12-27T23:59:59Z")
	d := fx.placement_at(["pii-eu"], ["gb-1"], "2031-12-28T00:00:00Z")
	fx.rules_at(d, "gb-1") == {"gdpr.chapter5.no_basis"}
	contains(fx.message_at(d, "gb-1", "gdpr.chapter5.no_basis"), "not on the EU adequacy list in force on 2031-12-28")
}

test_us_without_dpf_certification_is_not_adequate if {
	d := fx.placement(["pii-eu"], ["us-1"])
	fx.message_at(
		d,
		"us-1",
		"gdpr.chapter5.no_basis",
	) == "Dataset pii-eu holds personal data of EEA data subjects; site us-1 is in US: the EU adequacy decision for US covers only recipients certified under EU-US-DPF, and the site holds no valid EU-US-DPF certification."
}

test_us_with_dpf_certification_is_adequate if {
	fx.allowed("pii-eu", "us-dpf")
}

test_us_dpf_certification_expiry_is_inclusive if {
	fx.allowed_at("pii-eu", "us-dpf", "2027-01-31T23:00:00Z")
	not fx.allowed_at("pii-eu", "us-dpf", "2027-02-01T00:00:00Z")
}

test_us_dpf_not_before_10_july_2023 if {
	not fx.allowed_at("pii-eu", "us-dpf", "2023-07-09T12:00:00Z")
	fx.allowed_at("pii-eu", "us-dpf", "2023-07-10T12:00:00Z")
}

test_privacy_shield_until_schrems_ii if {
	fx.allowed_at("pii-eu", "us-ps", "2020-07-15T12:00:00Z")
	not fx.allowed_at("pii-eu", "us-ps", "2020-07-16T12:00:00Z")
	not fx.allowed("pii-eu", "us-ps") # a Privacy Shield certificate is no DPF one
}

test_canada_commercial_only if {
	fx.allowed("pii-eu", "ca-1")
	d := fx.placement(["pii-eu"], ["ca-gov"])
	contains(fx.message_at(d, "ca-gov", "gdpr.chapter5.no_basis"), "covers only commercial recipients")
}

# Decision 2002/2/EC covers recipients subject to PIPEDA (commercial
# activities); Decision (EU) 2019/419 business operators under the APPI. A site
# that does not state its operator's sector has no basis in either: an absent
# label is not taken to mean "commercial".
test_unstated_sector_is_no_basis if {
	some id in ["ca-unstated", "jp-unstated"]
	d := fx.placement(["pii-eu"], [id])
	msg := fx.message_at(d, id, "gdpr.chapter5.no_basis")
	contains(msg, "covers only commercial recipients, and the site does not state that its operator is one")
	contains(msg, "sovereign-engine.io/operator-sector")
}

test_unstated_sector_is_refused_everywhere if {
	every id in ["ca-unstated", "jp-unstated"] {
		not fx.allowed("pii-eu", id)
	}
}

test_korea_excludes_credit_information if {
	fx.allowed("pii-eu", "kr-1")
	d := fx.placement(["credit-eu"], ["kr-1"])
	contains(fx.message_at(d, "kr-1", "gdpr.chapter5.no_basis"), "excludes data of category credit")
}

test_unknown_scope_qualifier_covers_no_one if {
	list := [{
		"source": "test", "valid_from": "2000-01-01", "valid_until": null,
		"countries": {"JP": {"name": "Japan", "scope": {"recipient_type": "ministry"}}},
	}]
	d := fx.placement(["pii-eu"], ["jp-1"]) with data.reference.gdpr.adequacy.versions as list
	contains(
		fx.message_at(d, "jp-1", "gdpr.chapter5.no_basis"),
		"has a scope qualifier (recipient_type) this policy does not apply",
	)
}

test_without_adequacy_list_nothing_is_adequate if {
	not fx.allowed("pii-eu", "ch-1") with data.reference.gdpr.adequacy as null
	fx.allowed("pii-eu", "de-1") with data.reference.gdpr.adequacy as null
}

# --- remote access -----------------------------------------------------------------

test_remote_access_from_a_third_country if {
	d := fx.placement(["pii-eu"], ["ie-follow-sun"])
	fx.rules_at(d, "ie-follow-sun") == {"gdpr.chapter5.remote_access"}
	some v in d.violations
	v.citation == "GDPR Art. 44; EDPB Guidelines 05/2021"
	v.message == "Dataset pii-eu holds personal data of EEA data subjects; site ie-follow-sun (IE) can be administered by personnel in IN, US, outside the EEA and any applicable EU adequacy decision; remote access from a third country is a transfer."
}

test_remote_access_from_eea_or_adequate_countries_is_fine if {
	fx.allowed("pii-eu", "ie-ch")
	fx.allowed("pii-eu", "ie-dpf") # the operator is EU-US DPF certified
	fx.allowed("pii-eu", "de-us") # a US parent is no remote access (see sovereign.foreign_control)
}

test_personnel_in_the_site_country_are_judged_with_the_site if {
	d := fx.placement(["pii-eu"], ["in-1"])
	not "gdpr.chapter5.remote_access" in fx.rules_at(d, "in-1")
}

test_violations_name_each_dataset if {
	d := fx.placement(["pii-eu", "pii-de", "public"], ["in-1", "de-1"])
	{[v.site, v.dataset] | some v in d.violations} == {["in-1", "pii-eu"], ["in-1", "pii-de"]}
}

# --- transfers ---------------------------------------------------------------------

test_transfer_within_the_eea if {
	d := fx.transfer(["pii-eu"], "de-1", "no-1", {})
	fx.clean(d)
}

test_transfer_to_an_adequate_country if {
	d := fx.transfer(["pii-eu"], "de-1", "ch-1", {})
	fx.clean(d)
}

test_transfer_into_the_eea_needs_nothing if {
	d := fx.transfer(["pii-eu"], "in-1", "de-1", {})
	d.violations == []
}

test_transfer_without_mechanism if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {})
	fx.violation_rules(d) == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	v.citation == "GDPR Art. 44, 46, 49"
	v.message == "Transfer of pii-eu from de-1 to in-1: site in-1 is in IN: IN is outside the EEA and not on the EU adequacy list in force on 2026-11-27. No transfer mechanism was given (SCCs, BCRs, another Art. 46 safeguard or an Art. 49 derogation)."
}

test_transfer_with_scc_owes_a_tia if {
	d := fx.transfer(
		["pii-eu"],
		"de-1",
		"in-1",
		{"mechanism": {"kind": "scc", "module": "C2P", "reference": "SCC-2021/914-M2 #44", "tia_reference": "TIA-7"}},
	)
	d.violations == []
	fx.obligation_rules(d) == {"gdpr.chapter5.tia_required"}
	some o in d.obligations
	o.citation == "CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020; GDPR Art. 46(1)"
	o.message == "Transfer of pii-eu from de-1 to in-1 relies on scc (SCC-2021/914-M2 #44): assess the law and practice of IN and adopt supplementary measures where needed; transfer impact assessment on record: TIA-7."
}

test_transfer_with_bcr_and_no_tia_yet if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "bcr"}})
	d.violations == []
	some o in d.obligations
	endswith(
		o.message,
		"relies on bcr: assess the law and practice of IN and adopt supplementary measures where needed; no transfer impact assessment is referenced yet (mechanism.tia_reference).",
	)
}

test_transfer_with_ad_hoc_clauses_needs_authorisation if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "ad-hoc-clauses"}})
	d.violations == []
	fx.obligation_rules(d) == {"gdpr.chapter5.tia_required", "gdpr.chapter5.sa_authorisation"}
}

test_transfer_tia_covers_remote_access_countries if {
	d := fx.transfer(["pii-eu"], "de-1", "ie-follow-sun", {"type": "remote-access", "mechanism": {"kind": "scc"}})
	d.violations == []
	some o in d.obligations
	contains(o.message, "assess the law and practice of IN, US")
}

test_remote_access_transfer_without_mechanism if {
	d := fx.transfer(["pii-eu"], "de-1", "ie-follow-sun", {"type": "remote-access"})
	fx.violation_rules(d) == {"gdpr.chapter5.remote_access"}
}

test_transfer_with_a_non_gdpr_mechanism if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "idta", "reference": "IDTA-1"}})
	fx.violation_rules(d) == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	contains(v.message, "mechanism idta (IDTA-1) is not a GDPR Chapter V transfer tool in force on 2026-11-27")
}

test_transfer_with_one_off_derogation if {
	d := fx.transfer(
		["pii-eu"],
		"de-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}},
	)
	fx.clean(d)
}

test_transfer_with_repeated_derogation if {
	every frequency in ["repeated", "continuous"] {
		d := fx.transfer(
			["pii-eu"],
			"de-1",
			"in-1",
			{"frequency": frequency, "mechanism": {"kind": "derogation", "derogation": "contract"}},
		)
		fx.violation_rules(d) == {"gdpr.chapter5.derogation_not_occasional"}
		{[v.citation, contains(v.message, sprintf("this transfer is %s", [frequency]))] | some v in d.violations} == {["GDPR Art. 49(1); EDPB Guidelines 2/2018", true]}
	}
}

test_transfer_with_derogation_of_unstated_frequency if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})
	fx.violation_rules(d) == {"gdpr.chapter5.derogation_not_occasional"}
	some v in d.violations
	contains(v.message, "of unstated frequency")
}

test_transfer_with_unknown_derogation if {
	d := fx.transfer(
		["pii-eu"],
		"de-1",
		"in-1",
		{"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "convenience"}},
	)
	fx.violation_rules(d) == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	contains(v.message, `derogation "convenience" is not one of the grounds of GDPR Art. 49(1)`)
}

test_transfer_of_out_of_scope_data_needs_nothing if {
	d := fx.transfer(["pii-in", "public"], "de-1", "in-1", {})
	fx.clean(d)
}
