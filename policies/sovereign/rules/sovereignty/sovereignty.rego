# METADATA
# title: Sovereign classification
# description: >-
#   A dataset classified sovereign may be held only where foreign law cannot reach
#   it: the site must lie in, and its operator and every parent up the ownership
#   chain be incorporated in, the dataset's allowed_jurisdictions (["EU"] when
#   absent). CLOUD Act exposure follows the ownership chain, not the site's
#   location. Applies to remote access too: access is control.
package sovereign.rules.sovereignty

import data.sovereign.lib

default_allowed := ["EU"]

# The sovereign datasets of the query, with what each allows.
sovereign[i] := {"id": lib.dataset_id(d), "listed": listed, "allowed": lib.expand(listed)} if {
	some i, d in input.datasets
	d.classification == "sovereign"
	listed := object.get(d, "allowed_jurisdictions", default_allowed)
}

# METADATA
# title: Sovereign data at a site whose operator or a parent is outside the allowed jurisdictions
# custom:
#   id: sovereign.foreign_control
#   effect: deny
#   citation: CLOUD Act 18 U.S.C. §2713 exposure; GDPR Art. 48
#   source: https://www.law.cornell.edu/uscode/text/18/2713
#   example: tax-records-fr (sovereign, allowed_jurisdictions [EU]) at fra-1, whose operator's parent is in US
violations contains v if {
	some s in sovereign
	allowed := s.allowed
	targets := lib.targets
	some id, site in targets
	operator := object.get(site, "operator", {})
	chain := {object.get(operator, "country", "an unknown jurisdiction")} | {p | some p in operator.parent_countries}
	foreign := {c | some c in chain; not allowed[c]}
	count(foreign) > 0
	v := {
		"site": id, "dataset": s.id, "rule": "sovereign.foreign_control",
		"message": sprintf(
			"Dataset %s is classified sovereign and may be controlled only from %s; site %s is run by %s, incorporated in %s%s, so the law of %s can compel access to it.",
			[
				s.id, concat(", ", s.listed), id,
				object.get(operator, "name", "an unnamed operator"),
				object.get(operator, "country", "an unknown country"),
				parents(operator), lib.join(foreign),
			],
		),
		"citation": "CLOUD Act 18 U.S.C. §2713 exposure; GDPR Art. 48",
	}
}

# METADATA
# title: Sovereign data at a site outside the allowed jurisdictions
# custom:
#   id: sovereign.location
#   effect: deny
#   citation: Dataset sovereign classification (allowed_jurisdictions)
#   source: https://github.com/sovereign-engine/sovereign/blob/main/docs/policies.md
#   example: tax-records-fr (sovereign, allowed_jurisdictions [EU]) at osl-1 (NO)
violations contains v if {
	some s in sovereign
	allowed := s.allowed
	targets := lib.targets
	some id, site in targets
	not allowed[site.country]
	v := {
		"site": id, "dataset": s.id, "rule": "sovereign.location",
		"message": sprintf(
			"Dataset %s is classified sovereign and may be held or accessed only in %s; site %s is in %s.",
			[s.id, concat(", ", s.listed), id, site.country],
		),
		"citation": "Dataset sovereign classification (allowed_jurisdictions)",
	}
}

parents(operator) := sprintf(" with parent companies in %s", [lib.join(operator.parent_countries)]) if {
	count(operator.parent_countries) > 0
} else := ""

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()
