# Shared fixtures for the Rego tests: a small inventory and helpers that evaluate
# the two decisions against it.
package sovereign.fixtures_test

now := "2026-11-27T10:00:00Z"

site(id, country, extra) := object.union(
	{
		"id": id, "kind": "cloud-region", "country": country,
		"operator": {"name": sprintf("Operator of %s", [id]), "country": country},
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
	"fr-old": site("fr-old", "FR", {"certifications": [{"scheme": "C5", "level": "type2", "valid_until": "2025-12-31"}]}),
	"no-1": site("no-1", "NO", {}),
	"ch-1": site("ch-1", "CH", {}),
	"gb-1": site("gb-1", "GB", {}),
	"jp-1": site("jp-1", "JP", {}),
	"kr-1": site("kr-1", "KR", {}),
	"br-1": site("br-1", "BR", {}),
	"ca-1": site("ca-1", "CA", {}),
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
	"two-certs": {"id": "two-certs", "classification": "internal", "categories": ["internal"], "required_certifications": ["C5", "SecNumCloud"]},
	"resid-eea": {"id": "resid-eea", "classification": "internal", "categories": ["internal"], "residency": ["EEA"]},
	"resid-eu": {"id": "resid-eu", "classification": "internal", "categories": ["internal"], "residency": ["EU"]},
	"resid-list": {"id": "resid-list", "classification": "internal", "categories": ["internal"], "residency": ["DE", "FR"]},
	"resid-bogus": {"id": "resid-bogus", "classification": "internal", "categories": ["internal"], "residency": ["EUROPE"]},
	"resid-empty": {"id": "resid-empty", "classification": "internal", "categories": ["internal"], "residency": []},
	"sov": {"id": "sov", "classification": "sovereign", "categories": ["government"]},
	"sov-eea": {"id": "sov-eea", "classification": "sovereign", "categories": ["government"], "allowed_jurisdictions": ["EEA"]},
}

inventory := {"sites": sites, "datasets": datasets, "workloads": {}}

placement_input(ds, candidates, time) := {
	"kind": "placement", "operation": "store", "time": time,
	"datasets": [datasets[d] | some d in ds],
	"candidates": candidates,
}

# placement evaluates the placement decision for datasets ds (ids) over candidates.
placement(ds, candidates) := placement_at(ds, candidates, now)

placement_at(ds, candidates, time) := d if {
	d := data.sovereign.placement.decision with input as placement_input(ds, candidates, time)
		with data.inventory as inventory
}

# rules_at is the set of rule ids refusing site in a decision.
rules_at(decision, site) := {v.rule | some v in decision.violations; v.site == site}

# allowed(ds, site): dataset ds may be placed at site today.
allowed(ds, site) if count(placement([ds], [site]).violations) == 0

allowed_at(ds, site, time) if count(placement_at([ds], [site], time).violations) == 0

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

violation_rules(decision) := {v.rule | some v in decision.violations}

obligation_rules(decision) := {o.rule | some o in decision.obligations}
