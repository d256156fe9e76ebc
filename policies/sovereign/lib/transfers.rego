# METADATA
# title: Adequacy-style transfer regimes (UK GDPR, Swiss FADP)
# description: >-
#   Shared evaluation of an exporting regime that has a home jurisdiction, groups
#   it treats as adequate, an adequacy list of dated versions with scope
#   qualifiers, and transfer tools: the regime packages (ukgdpr, chfadp) name the
#   regime's key in data.reference and turn its findings into results with their
#   own rule ids. Each function takes the key, so OPA computes it once per query.
package sovereign.lib.transfers

import data.sovereign.lib

# cfg(r) is the regime's reference entry when it is in force.
cfg(r) := c if {
	c := data.reference[r]
	lib.dated(c.valid_from, c.valid_until)
}

# permitted(r) are the jurisdictions data may reach without a tool: home and the
# members of the groups the regime treats as adequate (on the decision date).
permitted(r) := {c | some c in cfg(r).home} | {c | some g in cfg(r).adequate_groups; some c, _ in lib.members(g)}

adequacy(r) := lib.current(cfg(r).adequacy.versions).countries if {
	cfg(r).adequacy
} else := {}

# scoped(r) are the datasets (by index) holding personal data of the regime's
# home data subjects.
scoped(r) := {i: d |
	c := cfg(r)
	some i, d in input.datasets
	lib.personal(d)
	some h in c.home
	lib.subject_of(d, h)
}

# unmet(list, c, site, d): the scope qualifiers of c's adequacy entry this site
# and dataset do not meet; {"no decision"} when c is not listed.
unmet(list, c, site, d) := {q | some q, v in list[c].scope; not met(q, v, site, d)} if {
	list[c]
} else := {"no decision"}

met("recipient_certification", scheme, site, _) if lib.holds(site, scheme, [])

met("recipient_sectors", sectors, site, _) if lib.sector(site) in sectors

met("excluded_categories", excluded, _, d) if not lib.has_category(d, excluded)

# gap(r, c, site, d): country c is neither permitted nor adequate for this site
# and dataset.
gap(r, c, site, d) := unmet(adequacy(r), c, site, d) if {
	not permitted(r)[c]
	count(unmet(adequacy(r), c, site, d)) > 0
}

# findings(r): each way in-scope data at a target site leaves the regime's
# permitted and adequate jurisdictions - by location, and by remote personnel.
findings(r) := {f |
	some i, d in scoped(r)
	some id, site in lib.targets
	some f in site_findings(r, i, d, id, site)
}

site_findings(r, i, d, id, site) := {f |
	c := site.country
	gaps := gap(r, c, site, d)
	f := {"index": i, "site": id, "dataset": lib.dataset_id(d), "kind": "location", "countries": [c], "gaps": gaps}
} | {f |
	remote := {p |
		some p in site.personnel_countries
		p != site.country
		gap(r, p, site, d)
	}
	count(remote) > 0
	f := {"index": i, "site": id, "dataset": lib.dataset_id(d), "kind": "remote", "countries": sort(remote), "gaps": set()}
}

# tool(r) is the transfer tool the request names, when the regime knows it and it
# is in force.
tool(r) := t if {
	t := cfg(r).transfer_tools[input.mechanism.kind]
	lib.in_force(t)
}

# exposed(r): per in-scope dataset index, the countries it would reach.
exposed(r) := {i: cs |
	some f in findings(r)
	i := f.index
	cs := {c | some g in findings(r); g.index == i; some c in g.countries}
}

mechanism_label := sprintf("%s (%s)", [input.mechanism.kind, input.mechanism.reference]) if {
	input.mechanism.reference
} else := input.mechanism.kind
