# METADATA
# title: Restricted data stays in Germany (fixture)
# description: A policy whose Rego tests kill every mutant (sovereign test --mutate).
package sovereign.rules.restricted

# METADATA
# title: Restricted data outside Germany
# custom:
#   id: dataset.restricted_de
#   effect: deny
#   citation: Data processing agreement, clause 2
#   source: https://example.org/dpa
#   example: a restricted dataset at a site in US
placement_violations contains v if {
	some d in input.datasets
	d.classification == "restricted"
	some id in input.candidates
	site := data.inventory.sites[id]
	object.get(site, "country", "") != "DE" # a site in no stated country is outside
	v := {"site": id, "dataset": d.id, "rule": "dataset.restricted_de", "message": sprintf("%s is restricted to DE", [d.id]), "citation": "Data processing agreement, clause 2"}
}
