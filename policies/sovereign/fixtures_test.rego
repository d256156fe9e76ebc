# Shared fixtures for the Rego tests: a small inventory and helpers that evaluate
# the two decisions against it.
package sovereign.fixtures_test

now := "2026-11-27T10:00:00Z"

site(id, country, extra) := object.union(
	{
		"id": id, "kind": "cloud-region", "country": country,
		"operator": {"name": sprintf("Operator of %s", [id]), "country": country, "parent_countries": []},
		"personnel_countries": [country],
	},
	extra,
)

sites := {
	"de-1": site("de-1", "DE", {"certifications": [
		{"scheme": "C5", "level": "type2", "valid_until": "2027-06-30"},
		{"scheme": "ISO27001"},
	]}),
	"de-us": site("de-us", "DE", {
		"operator": {"name": "Hyperscaler EMEA Ltd", "country": "IE", "parent_countries": ["US"]},
		"personnel_countries": ["DE", "IE"],
	}),
	"fr-old": site(
		"fr-old",
		"FR",
		{"certifications": [{"scheme": "C5", "level": "type2", "valid_until": "2025-12-31"}]},
	),
	"no-1": site("no-1", "NO", {}),
	"ch-1": site("ch-1", "CH", {}),
	"gb-1": site("gb-1", "GB", {}),
	"jp-1": site("jp-1", "JP", {"labels": {"sovereign-engine.io/operator-sector": "commercial"}}),
	"jp-unstated": site("jp-unstated", "JP", {}),
	"kr-1": site("kr-1", "KR", {}),
	"br-1": site("br-1", "BR", {}),
	"ca-1": site("ca-1", "CA", {"labels": {"sovereign-engine.io/operator-sector": "commercial"}}),
	"ca-unstated": site("ca-unstated", "CA", {}),
	"ca-gov": site("ca-gov", "CA", {"labels": {"sovereign-engine.io/operator-sector": "public"}}),
	"us-1": site("us-1", "US", {"certifications": [{"scheme": "ISO27001"}]}),
	"us-dpf": site("us-dpf", "US", {"certifications": [{"scheme": "EU-US-DPF", "valid_until": "2027-01-31"}]}),
	"us-ps": site("us-ps", "US", {"certifications": [{"scheme": "EU-US-Privacy-Shield", "valid_until": "2021-12-31"}]}),
	"in-1": site("in-1", "IN", {}),
	"zz-1": site("zz-1", "ZZ", {}),
	"ie-follow-sun": site("ie-follow-sun", "IE", {"personnel_countries": ["IE", "US", "IN"]}),
	"ie-dpf": site("ie-dpf", "IE", {
		"personnel_countries": ["IE", "US"],
		"certifications": [{"scheme": "EU-US-DPF"}],
	}),
	"ie-ch": site("ie-ch", "IE", {"personnel_countries": ["IE", "CH", "NO"]}),
	"no-country": {"id": "no-country", "kind": "edge", "operator": {"name": "X", "country": "DE"}},
	"xk-1": site("xk-1", "XK", {}),
	"cn-1": site("cn-1", "CN", {}),
	"hk-1": site("hk-1", "HK", {}),
	"sg-1": site("sg-1", "SG", {}),
	"ru-1": site("ru-1", "RU", {}),
	"sa-1": site("sa-1", "SA", {}),
	"tr-1": site("tr-1", "TR", {}),
	"vn-1": site("vn-1", "VN", {}),
	"id-1": site("id-1", "ID", {}),
	"mc-1": site("mc-1", "MC", {}),
	"gb-in": site("gb-in", "GB", {"personnel_countries": ["GB", "IN"]}),
	"ch-in": site("ch-in", "CH", {"personnel_countries": ["CH", "IN"]}),
	"us-ukdpf": site("us-ukdpf", "US", {"certifications": [{"scheme": "UK-US-DPF"}]}),
	"us-chdpf": site("us-chdpf", "US", {"certifications": [{"scheme": "Swiss-US-DPF"}]}),
	"us-itar": site("us-itar", "US", {"labels": {"sovereign-engine.io/us-persons-only": "true"}}),
	"de-c5t1": site(
		"de-c5t1",
		"DE",
		{"certifications": [{"scheme": "C5", "level": "type1", "valid_until": "2027-12-31"}]},
	),
	"de-est": site("de-est", "NL", {
		"operator": {"name": "Cloud BV", "country": "NL"},
		"labels": {"sovereign-engine.io/operator-establishments": "NL,DE"},
		"certifications": [{"scheme": "C5", "level": "type2", "valid_until": "2027-12-31"}],
	}),
	"in-c5": site("in-c5", "IN", {
		"operator": {"name": "Desi Cloud GmbH", "country": "DE"},
		"certifications": [{"scheme": "C5", "level": "type2", "valid_until": "2027-12-31"}],
	}),
	"fr-snc": site("fr-snc", "FR", {
		"operator": {"name": "Nuage SAS", "country": "FR", "parent_countries": ["FR"]},
		"certifications": [{"scheme": "SecNumCloud", "level": "3.2", "valid_until": "2027-03-31"}],
	}),
	"fr-snc-us": site("fr-snc-us", "FR", {
		"operator": {"name": "JV SAS", "country": "FR", "parent_countries": ["FR", "US"]},
		"certifications": [{"scheme": "SecNumCloud", "level": "3.2", "valid_until": "2027-03-31"}],
	}),
}

datasets := {
	"pii-eu": {"id": "pii-eu", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["EU"]},
	"pii-de": {"id": "pii-de", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["DE"]},
	"pii-efta": {"id": "pii-efta", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["EFTA"]},
	"pii-in": {"id": "pii-in", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["IN"]},
	"credit-eu": {"id": "credit-eu", "classification": "restricted", "categories": ["personal", "credit"], "subject_jurisdictions": ["EU"]},
	"public": {"id": "public", "classification": "public", "categories": ["public"]},
	"designs": {"id": "designs", "classification": "restricted", "categories": ["export-controlled"], "subject_jurisdictions": ["EU"]},
	"health-de": {
		"id": "health-de", "classification": "restricted", "categories": ["health", "special-category"],
		"subject_jurisdictions": ["DE"], "required_certifications": ["C5"],
	},
	"c5-data": {
		"id": "c5-data", "classification": "restricted", "categories": ["special-category"],
		"subject_jurisdictions": ["AT"], "required_certifications": ["C5"],
	},
	"two-certs": {"id": "two-certs", "classification": "internal", "categories": ["internal"], "required_certifications": ["C5", "HDS"]},
	"resid-eea": {"id": "resid-eea", "classification": "internal", "categories": ["internal"], "residency": ["EEA"]},
	"resid-eu": {"id": "resid-eu", "classification": "internal", "categories": ["internal"], "residency": ["EU"]},
	"resid-list": {"id": "resid-list", "classification": "internal", "categories": ["internal"], "residency": ["DE", "FR"]},
	"resid-bogus": {"id": "resid-bogus", "classification": "internal", "categories": ["internal"], "residency": ["EUROPE"]},
	"resid-empty": {"id": "resid-empty", "classification": "internal", "categories": ["internal"], "residency": []},
	"sov": {"id": "sov", "classification": "sovereign", "categories": ["government"]},
	"pii-gb": {"id": "pii-gb", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["GB"]},
	"pii-ch": {"id": "pii-ch", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["CH"]},
	"pii-ru": {"id": "pii-ru", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["RU"]},
	"cn-small": cn_pi("cn-small", ["personal"], 99999),
	"cn-contract": cn_pi("cn-contract", ["personal"], 100000),
	"cn-million": cn_pi("cn-million", ["personal"], 1000000),
	"cn-big": cn_pi("cn-big", ["personal"], 1000001),
	"cn-sens": cn_pi("cn-sens", ["personal", "health"], 10000),
	"cn-sens-big": cn_pi("cn-sens-big", ["personal", "health"], 10001),
	"cn-nocount": {"id": "cn-nocount", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["CN"]},
	"cn-important": {"id": "cn-important", "classification": "restricted", "categories": ["cn-important-data"], "origin_country": "CN"},
	"pay-in": {"id": "pay-in", "classification": "restricted", "categories": ["payment"], "origin_country": "IN"},
	"gov-id": {"id": "gov-id", "classification": "restricted", "categories": ["government"], "origin_country": "ID"},
	"pii-vn": {"id": "pii-vn", "classification": "confidential", "categories": ["personal"], "origin_country": "VN", "subject_jurisdictions": ["VN"]},
	"pii-vn-abroad": {"id": "pii-vn-abroad", "classification": "confidential", "categories": ["personal"], "origin_country": "SG", "subject_jurisdictions": ["VN"]},
	"pii-sa": {"id": "pii-sa", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["SA"]},
	"pii-tr": {"id": "pii-tr", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["TR"]},
	"health-de2": {"id": "health-de2", "classification": "restricted", "categories": ["social"], "origin_country": "DE"},
	"snc": {"id": "snc", "classification": "restricted", "categories": ["fr-state-sensitive"]},
	"snc-cert": {"id": "snc-cert", "classification": "restricted", "categories": ["internal"], "required_certifications": ["SecNumCloud"]},
	"itar-plain": {"id": "itar-plain", "classification": "restricted", "categories": ["export-controlled"]},
	"itar-e2e": {"id": "itar-e2e", "classification": "restricted", "categories": ["itar"], "encryption": {"at_rest": true, "end_to_end": true}},
	"sov-eea": {"id": "sov-eea", "classification": "sovereign", "categories": ["government"], "allowed_jurisdictions": ["EEA"]},
	# Absent-field variants: personal data collected somewhere with no subjects
	# named, and data subjects named with no categories.
	"pii-origin-de": {"id": "pii-origin-de", "classification": "confidential", "categories": ["personal"], "origin_country": "DE"},
	"pii-origin-gb": {"id": "pii-origin-gb", "classification": "confidential", "categories": ["personal"], "origin_country": "GB"},
	"pii-origin-ch": {"id": "pii-origin-ch", "classification": "confidential", "categories": ["personal"], "origin_country": "CH"},
	"pii-origin-ru": {"id": "pii-origin-ru", "classification": "confidential", "categories": ["personal"], "origin_country": "RU"},
	"pii-origin-cn": {"id": "pii-origin-cn", "classification": "confidential", "categories": ["personal"], "origin_country": "CN", "subject_count": 150000},
	"pii-origin-tr": {"id": "pii-origin-tr", "classification": "confidential", "categories": ["personal"], "origin_country": "TR"},
	"pii-origin-sa": {"id": "pii-origin-sa", "classification": "confidential", "categories": ["personal"], "origin_country": "SA"},
	"pii-de-from-ru": {"id": "pii-de-from-ru", "classification": "confidential", "categories": ["personal"], "origin_country": "RU", "subject_jurisdictions": ["DE"]},
	"subjects-eu": {"id": "subjects-eu", "classification": "confidential", "subject_jurisdictions": ["EU"]},
	"count-only": {"id": "count-only", "classification": "confidential", "subject_count": 10, "origin_country": "FR"},
	"itar-noenc": {"id": "itar-noenc", "classification": "restricted", "categories": ["itar"], "encryption": {"at_rest": true}},
}

cn_pi(id, cats, n) := {"id": id, "classification": "confidential", "categories": cats, "subject_jurisdictions": ["CN"], "subject_count": n}

inventory := {"sites": sites, "datasets": datasets, "workloads": {}}

placement_input(ds, candidates, at) := {
	"kind": "placement", "operation": "store", "time": at,
	"datasets": [datasets[d] | some d in ds],
	"candidates": candidates,
}

# placement evaluates the placement decision for datasets ds (ids) over candidates.
placement(ds, candidates) := placement_at(ds, candidates, now)

placement_at(ds, candidates, at) := d if {
	d := data.sovereign.placement.decision with input as placement_input(ds, candidates, at)
		with data.inventory as inventory
}

# rules_at is the set of rule ids refusing site in a decision.
rules_at(decision, site) := {v.rule | some v in decision.violations; v.site == site}

# allowed(ds, site): dataset ds may be placed at site today.
allowed(ds, site) if count(placement([ds], [site]).violations) == 0

allowed_at(ds, site, at) if count(placement_at([ds], [site], at).violations) == 0

# message_at is the message of the violation with the rule at site.
message_at(decision, site, rule) := v.message if {
	some v in decision.violations
	v.site == site
	v.rule == rule
}

transfer_input(ds, from, to, extra) := object.union(
	{"kind": "transfer", "time": now, "datasets": [datasets[d] | some d in ds], "from": from, "to": to, "type": "replicate"},
	extra,
)

# transfer evaluates the transfer decision; extra adds or overrides input fields.
transfer(ds, from, to, extra) := d if {
	d := data.sovereign.transfer.decision with input as transfer_input(ds, from, to, extra)
		with data.inventory as inventory
}

# transfer_at is transfer on a decision date (at is RFC 3339).
transfer_at(ds, from, to, extra, at) := transfer(ds, from, to, object.union(extra, {"time": at}))

# placement_op evaluates a placement for an operation (store or process) at a at.
placement_op(ds, candidates, operation, at) := d if {
	d := data.sovereign.placement.decision with input as object.union(
		placement_input(ds, candidates, at),
		{"operation": operation},
	)
		with data.inventory as inventory
}

# regime(decision, key) is the regimes-list entry of the regime.
regime(decision, key) := r if {
	some r in decision.regimes
	r.regime == key
}

# applies(decision, key, ds): the regime applies to dataset ds in the decision.
applies(decision, key, ds) if {
	some e in regime(decision, key).datasets
	e.dataset == ds
	e.applies
}

warning_rules(decision) := {w.rule | some w in decision.warnings}

violation_rules(decision) := {v.rule | some v in decision.violations}

obligation_rules(decision) := {o.rule | some o in decision.obligations}

# clean(d): decision d has no violation, obligation, warning or exemption.
clean(d) if {
	d.violations == []
	d.obligations == []
	d.warnings == []
	d.exemptions == []
}
