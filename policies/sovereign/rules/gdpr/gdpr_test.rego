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
	not "gdpr.chapter5.no_basis" in fx.rules_at(fx.placement(["designs"], ["in-1"]), "in-1") # EEA subjects, but no personal-data category
}

test_gdpr_chapter5_applies_from_25_may_2018 if {
	fx.allowed_at("pii-eu", "in-1", "2018-05-24T12:00:00Z")
	not fx.allowed_at("pii-eu", "in-1", "2018-05-25T00:00:00Z")
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
	fx.message_at(d, "us-1", "gdpr.chapter5.no_basis") == "Dataset pii-eu holds personal data of EEA data subjects; site us-1 is in US: the EU adequacy decision for US covers only recipients certified under EU-US-DPF, and the site holds no valid EU-US-DPF certification."
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
	contains(fx.message_at(d, "jp-1", "gdpr.chapter5.no_basis"), "has a scope qualifier (recipient_type) this policy does not apply")
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
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "scc", "module": "C2P", "reference": "SCC-2021/914-M2 #44", "tia_reference": "TIA-7"}})
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
	endswith(o.message, "relies on bcr: assess the law and practice of IN and adopt supplementary measures where needed; no transfer impact assessment is referenced yet (mechanism.tia_reference).")
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
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "consent"}})
	fx.clean(d)
}

test_transfer_with_repeated_derogation if {
	every frequency in ["repeated", "continuous"] {
		d := fx.transfer(["pii-eu"], "de-1", "in-1", {"frequency": frequency, "mechanism": {"kind": "derogation", "derogation": "contract"}})
		fx.violation_rules(d) == {"gdpr.chapter5.derogation_not_occasional"}
		[v] := d.violations
		v.citation == "GDPR Art. 49(1); EDPB Guidelines 2/2018"
		contains(v.message, sprintf("this transfer is %s", [frequency]))
	}
}

test_transfer_with_derogation_of_unstated_frequency if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"mechanism": {"kind": "derogation", "derogation": "consent"}})
	fx.violation_rules(d) == {"gdpr.chapter5.derogation_not_occasional"}
	some v in d.violations
	contains(v.message, "of unstated frequency")
}

test_transfer_with_unknown_derogation if {
	d := fx.transfer(["pii-eu"], "de-1", "in-1", {"frequency": "one-off", "mechanism": {"kind": "derogation", "derogation": "convenience"}})
	fx.violation_rules(d) == {"gdpr.chapter5.no_basis"}
	some v in d.violations
	contains(v.message, `derogation "convenience" is not one of the grounds of GDPR Art. 49(1)`)
}

test_transfer_of_out_of_scope_data_needs_nothing if {
	d := fx.transfer(["pii-in", "public"], "de-1", "in-1", {})
	fx.clean(d)
}
