# METADATA
# title: US ITAR - technical data
# description: >-
#   Access by a foreign person is an export, so plaintext ITAR technical data may
#   sit only at sites in the US whose personnel are US persons only (site label
#   sovereign-engine.io/us-persons-only "true"). End-to-end encrypted data may be
#   stored or transit anywhere except a 22 CFR 126.1 country or Russia
#   (22 CFR 120.54(a)(5)).
package sovereign.rules.itar

import data.sovereign.lib

scoped contains [d, e2e] if {
	reg := lib.regime("itar")
	some d in input.datasets
	lib.has_category(d, reg.categories)
	e2e := object.get(d, ["encryption", "end_to_end"], false) == true
}

# METADATA
# title: Plaintext ITAR data outside the US
# custom:
#   id: itar.plaintext_export
#   effect: deny
#   citation: 22 CFR 120.50, 120.54(a)(5)
#   source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-120
#   example: a dataset with categories [export-controlled] without end-to-end encryption at a site in DE
violations contains v if {
	some [d, false] in scoped
	did := lib.dataset_id(d)
	some id, site in lib.targets
	site.country != "US"
	v := lib.result(id, did, "itar.plaintext_export", sprintf("Dataset %s is ITAR technical data without end-to-end encryption; holding it at site %s in %s is an export.", [did, id, site.country]), "22 CFR 120.50, 120.54(a)(5)")
}

# METADATA
# title: Plaintext ITAR data at a site whose personnel are not US persons only
# custom:
#   id: itar.plaintext_foreign_persons
#   effect: deny
#   citation: 22 CFR 120.50(a)(2), 120.62 (US person)
#   source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-120
#   example: a dataset with categories [export-controlled] without end-to-end encryption at a US site without the label sovereign-engine.io/us-persons-only "true"
violations contains v if {
	some [d, false] in scoped
	key := lib.regime("itar").us_persons_label
	did := lib.dataset_id(d)
	some id, site in lib.targets
	lib.label(site, key) != "true"
	v := lib.result(id, did, "itar.plaintext_foreign_persons", sprintf("Dataset %s is ITAR technical data without end-to-end encryption; site %s does not attest US-persons-only personnel (label %s), and access by a foreign person is an export.", [did, id, key]), "22 CFR 120.50(a)(2), 120.62")
}

# METADATA
# title: Encrypted ITAR data in a 22 CFR 126.1 country or Russia
# custom:
#   id: itar.encrypted_proscribed_country
#   effect: deny
#   citation: 22 CFR 120.54(a)(5)(iv); 22 CFR 126.1
#   source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-126/section-126.1
#   example: a dataset with categories [export-controlled] and end-to-end encryption at a site in CN
violations contains v if {
	some [d, true] in scoped
	proscribed := lib.regime("itar").proscribed
	did := lib.dataset_id(d)
	some id, site in lib.targets
	proscribed[site.country]
	v := lib.result(id, did, "itar.encrypted_proscribed_country", sprintf("Dataset %s is ITAR technical data; even end-to-end encrypted it may not be stored in %s (%s), a 22 CFR 126.1 country or Russia (site %s).", [did, site.country, proscribed[site.country], id]), "22 CFR 120.54(a)(5)(iv); 22 CFR 126.1")
}

placement_violations contains v if some v in violations

transfer_violations contains v if some v in violations

placement_obligations := set()

transfer_obligations := set()
