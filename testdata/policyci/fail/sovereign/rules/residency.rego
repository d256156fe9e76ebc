# METADATA
# title: Residency (fixture)
# description: A dataset's residency list names countries or reference groups.
package sovereign.rules.residency

import data.reference

allowed_here(d, _) if not d.residency

allowed_here(d, site) if site.country in d.residency

allowed_here(d, site) if {
	some g in d.residency
	data.reference.groups[g].members[site.country]
}

finding(id, d, rule, msg, citation) := {"site": id, "dataset": d.id, "rule": rule, "message": msg, "citation": citation}

# METADATA
# title: Dataset outside its residency
# custom:
#   id: dataset.residency
#   effect: deny
#   citation: Data processing agreement, clause 4.2
#   source: https://example.org/dpa
#   example: a dataset with residency [EEA] at a site in US
placement_violations contains v if {
	some d in input.datasets
	some id in input.candidates
	site := data.inventory.sites[id]
	not allowed_here(d, site)
	v := finding(id, d, "dataset.residency", sprintf("site %s is in %s, outside the residency of %s", [id, site.country, d.id]), "Data processing agreement, clause 4.2")
}

transfer_violations contains v if {
	some d in input.datasets
	site := data.inventory.sites[input.to]
	not allowed_here(d, site)
	v := finding(input.to, d, "dataset.residency", sprintf("site %s is in %s, outside the residency of %s", [input.to, site.country, d.id]), "Data processing agreement, clause 4.2")
}

# METADATA
# title: Confidential data owes encryption at rest
# custom:
#   id: dataset.encrypt_at_rest
#   effect: obligation
#   source: https://example.org/sp7
#   example: a confidential dataset without encryption.at_rest
placement_obligations contains o if {
	some d in input.datasets
	d.classification == "confidential"
	not d.encryption.at_rest
	some id in input.candidates
	data.inventory.sites[id]
	o := finding(id, d, "dataset.encrypt_at_rest", sprintf("encrypt %s at rest at %s", [d.id, id]), "Security policy SP-7")
}

transfer_obligations contains o if {
	some d in input.datasets
	d.classification == "confidential"
	not d.encryption.at_rest
	o := finding(input.to, d, "dataset.encrypt_at_rest", sprintf("encrypt %s at rest at %s", [d.id, input.to]), "Security policy SP-7")
}

# METADATA
# title: The same id again
# custom:
#   id: dataset.residency
#   effect: deny
#   citation: Data processing agreement, clause 4.3
#   source: https://example.org/dpa
#   example: none
placement_violations contains v if {
	some d in input.datasets
	d.classification == "sovereign"
	some id in input.candidates
	v := finding(id, d, "dataset.residency", "sovereign data is refused everywhere", "Data processing agreement, clause 4.3")
}
