# Absent site facts behind each negation the library makes (catalog.Negations):
# each rule is tried with the fact absent and must refuse (or owe the duty), not
# fall silent. The placement and transfer decisions refuse a site without a
# country before any regime sees it (inventory.incomplete_site); these tests
# hand such a site to each regime directly, so that the regime fails closed on
# its own too.
package sovereign.rules.absent_test

import data.sovereign.fixtures_test as fx

countryless := {"x-1": {
	"id": "x-1", "kind": "edge",
	"operator": {"name": "X", "country": "DE", "parent_countries": []},
	"personnel_countries": [],
}}

rules(vs) := {v.rule | some v in vs; v.site == "x-1"}

test_residency_refuses_a_site_without_country if {
	vs := data.sovereign.rules.residency.violations with input as fx.placement_input(["resid-list"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	rules(vs) == {"dataset.residency"}
	[v] := [v | some v in vs]
	v.message == "Dataset resid-list may reside only in DE, FR; site x-1 is in no stated country."
}

test_sovereignty_refuses_a_site_without_country if {
	vs := data.sovereign.rules.sovereignty.violations with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	"sovereign.location" in rules(vs)
	count(data.sovereign.rules.sovereignty.grounds) == 0 with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
}

test_jurisdiction_refuses_a_site_without_country if {
	vs := data.sovereign.rules.jurisdiction.violations with input as fx.placement_input(["public"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	rules(vs) == {"jurisdiction.unknown"}
}

# The ITAR carve-out for end-to-end encrypted data excludes 126.1 countries: a
# site in no stated country is not shown outside them.
test_itar_carve_out_needs_a_country if {
	gs := data.sovereign.rules.itar.grounds with input as fx.placement_input(["itar-e2e"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	every g in gs { g[2] != "location" }
	fx.rules_at(fx.placement(["itar-e2e"], ["de-1"]), "de-1") == set()
}

# A transfer under safeguards to a site in no stated country owes the risk
# assessment: such a site is not shown adequate.
test_saudi_risk_assessment_owed_for_a_site_without_country if {
	i := fx.transfer_input(["pii-sa"], "sa-1", "x-1", {"mechanism": {"kind": "scc", "reference": "SCC-1"}})
	os := data.sovereign.rules.saudi.transfer_obligations with input as i
		with data.sovereign.lib.targets as countryless
		with data.inventory as fx.inventory
	rules(os) == {"sa.pdpl.risk_assessment"}
}

# Personnel not stated: sovereign data is refused (sovereign.foreign_personnel),
# while [] states that no one administers the site from elsewhere.
test_sovereignty_needs_stated_personnel if {
	site := object.remove(countryless["x-1"], ["personnel_countries"])
	vs := data.sovereign.rules.sovereignty.violations with input as fx.placement_input(["sov"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as {"x-1": object.union(site, {"country": "DE"})}
	rules(vs) == {"sovereign.foreign_personnel"}
}

# The transfer regimes (lib/transfers.rego) find no adequacy, mechanism or
# personnel ground for a site in no stated country.
test_transfer_regimes_refuse_a_site_without_country if {
	i := fx.placement_input(["pii-eu"], ["x-1"], fx.now)
	vs := data.sovereign.rules.gdpr.placement_violations with input as i
		with data.sovereign.lib.targets as countryless
	"gdpr.chapter5.no_basis" in rules(vs)
}

# Each localisation or transfer regime counts a site in no stated country as
# outside its country: it finds no ground there (or, for Vietnam, whose duties
# are obligations, owes them).
test_regimes_count_a_site_without_country_as_outside if {
	refuses("pay-in", "india")
	refuses("pii-ru", "russia")
	refuses("cn-big", "china")
	refuses("pii-sa", "saudi")
	refuses("pii-tr", "turkey")
	refuses("pii-eu", "gdpr")
	refuses("gov-id", "indonesia")
	os := data.sovereign.rules.vietnam.placement_obligations with input as fx.placement_input(["pii-vn"], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	rules(os) == {"vn.decree53.local_copy", "vn.pdpl.transfer_dossier"}
}

# refuses(ds, pkg): regime pkg refuses dataset ds at the site without country.
refuses(ds, pkg) if {
	vs := data.sovereign.rules[pkg].placement_violations with input as fx.placement_input([ds], ["x-1"], fx.now)
		with data.sovereign.lib.targets as countryless
	count(rules(vs)) > 0
}
