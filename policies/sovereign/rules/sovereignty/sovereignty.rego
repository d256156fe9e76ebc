# METADATA
# title: Sovereign classification
# description: >-
#   A dataset classified sovereign may be held only where foreign law cannot reach
#   it: the site must lie in, and its operator and every parent up the ownership
#   chain be incorporated in, the dataset's allowed_jurisdictions (["EU"] when
#   absent), and its personnel administer it only from there. CLOUD Act exposure
#   follows the ownership chain, not the site's location; access is control, so
#   remote administration and remote access count too. A site that does not
#   state its ownership chain (operator.parent_countries) or its personnel
#   (personnel_countries) is refused: unknown is no basis.
package sovereign.rules.sovereignty

import data.sovereign.lib

default_allowed := ["EU"]

# The sovereign datasets of the query, with what each allows.
sovereign[i] := {"id": lib.dataset_id(d), "listed": listed, "allowed": lib.expand(listed)} if {
	some i, d in input.datasets
	d.classification == "sovereign"
	listed := object.get(d, "allowed_jurisdictions", default_allowed)
}

# chain(site) is the ownership chain of the site's operator: its country and
# every parent's, with "an unknown jurisdiction" for an operator without a
# country. known_chain(site): the site states its chain - parent_countries is
# given, [] for an operator without a parent. An unknown chain is no basis: the
# law of an unknown parent can compel access as well as a known one's.
chain(site) := {object.get(site, ["operator", "country"], "an unknown jurisdiction")} | {p |
	some p in object.get(site, ["operator", "parent_countries"], [])
}

known_chain(site) if is_array(site.operator.parent_countries)

# METADATA
# title: Sovereign data at a site whose operator or a parent is outside the allowed jurisdictions, or whose ownership is not stated
# custom:
#   id: sovereign.foreign_control
#   effect: deny
#   citation: CLOUD Act 18 U.S.C. §2713 exposure; GDPR Art. 48
#   source: https://www.law.cornell.edu/uscode/text/18/2713
#   example: tax-records-fr (sovereign, allowed_jurisdictions [EU]) at fra-1, whose operator's parent is in US, or at a site whose operator states no parent_countries
violations contains v if {
	targets := lib.targets
	some s in sovereign
	allowed := s.allowed
	some id, site in targets
	foreign := {c | some c in chain(site); not allowed[c]}
	reason := control_gap(site, foreign)
	operator := object.get(site, "operator", {})
	v := {
		"site": id, "dataset": s.id, "rule": "sovereign.foreign_control",
		"message": sprintf(
			"Dataset %s is classified sovereign and may be controlled only from %s; site %s is run by %s, incorporated in %s%s, %s.",
			[
				s.id, concat(", ", s.listed), id,
				object.get(operator, "name", "an unnamed operator"),
				object.get(operator, "country", "an unknown country"),
				parents(operator), reason,
			],
		),
		"citation": "CLOUD Act 18 U.S.C. §2713 exposure; GDPR Art. 48",
	}
}

# METADATA
# title: Sovereign data at a site administered from outside the allowed jurisdictions, or by personnel from undeclared countries
# custom:
#   id: sovereign.foreign_personnel
#   effect: deny
#   citation: Dataset sovereign classification (allowed_jurisdictions); EDPB Guidelines 05/2021 (remote access is a transfer)
#   source: https://www.edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-052021-interplay-between-application-article-3_en
#   example: tax-records-fr (sovereign, allowed_jurisdictions [EU]) at a FR site whose personnel_countries include US, or that states no personnel_countries
violations contains v if {
	targets := lib.targets
	some s in sovereign
	allowed := s.allowed
	some id, site in targets
	reason := personnel_gap(site, allowed)
	v := {
		"site": id, "dataset": s.id, "rule": "sovereign.foreign_personnel",
		"message": sprintf(
			"Dataset %s is classified sovereign and may be administered only from %s; site %s %s.",
			[s.id, concat(", ", s.listed), id, reason],
		),
		"citation": "Dataset sovereign classification (allowed_jurisdictions); EDPB Guidelines 05/2021 (remote access is a transfer)",
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
	targets := lib.targets
	some s in sovereign
	allowed := s.allowed
	some id, site in targets
	not allowed[object.get(site, "country", "")] # a site in no stated country is in none allowed
	v := {
		"site": id, "dataset": s.id, "rule": "sovereign.location",
		"message": sprintf(
			"Dataset %s is classified sovereign and may be held or accessed only in %s; site %s is in %s.",
			[s.id, concat(", ", s.listed), id, lib.country_label(site)],
		),
		"citation": "Dataset sovereign classification (allowed_jurisdictions)",
	}
}

# control_gap(site, foreign) says why the site's control is not within the
# allowed jurisdictions; undefined when it is.
control_gap(site, foreign) := sprintf("so the law of %s can compel access to it", [lib.join(foreign)]) if {
	count(foreign) > 0
} else := "and its ownership chain is not stated (operator.parent_countries; [] for none), so no foreign parent is excluded" if {
	not known_chain(site)
}

# personnel_gap(site, allowed) says why the site's personnel are not within the
# allowed jurisdictions: some are elsewhere, or the site does not say where they
# are. Undefined when every stated country is allowed.
personnel_gap(site, allowed) := sprintf("can be administered by personnel in %s", [lib.join(foreign)]) if {
	foreign := {p | some p in site.personnel_countries; not allowed[p]}
	count(foreign) > 0
} else := "does not state from where its personnel administer it (personnel_countries; [] for nowhere else)" if {
	not known_personnel(site)
}

# known_personnel(site): the site states from where it is administered ([] for
# nowhere but its own country).
known_personnel(site) if is_array(site.personnel_countries)

parents(operator) := sprintf(" with parent companies in %s", [lib.join(operator.parent_countries)]) if {
	count(operator.parent_countries) > 0
} else := ""

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()

scope := "datasets classified sovereign"

in_scope[i] := sprintf(
	"classified sovereign, allowed jurisdictions %s",
	[concat(", ", s.listed)],
) if some i, s in sovereign

grounds contains [i, id, sprintf("in %s, operator and parents in %s, personnel in %s", [site.country, lib.join(chain(site)), people])] if {
	some i, s in sovereign
	some id, site in lib.targets
	s.allowed[site.country]
	known_chain(site)
	count({c | some c in chain(site); not s.allowed[c]}) == 0
	known_personnel(site)
	count({p | some p in site.personnel_countries; not s.allowed[p]}) == 0
	people := listing(site.personnel_countries)
}

listing(xs) := lib.join(xs) if count(xs) > 0

else := "no other country"

report := lib.report(
	"sovereignty",
	"Sovereign classification (allowed_jurisdictions)",
	scope,
	lib.contractual("Dataset sovereign classification", "Dataset sovereign classification (allowed_jurisdictions)"),
	in_scope,
	lib.ground_list(grounds),
)
