# METADATA
# title: US ITAR - technical data
# description: >-
#   Access by a foreign person is an export, so plaintext ITAR technical data may
#   sit only at sites in the US whose personnel are US persons only (site label
#   sovereign-engine.io/us-persons-only "true"). From 25 Mar 2020 end-to-end
#   encrypted data may be stored or transit anywhere except a 22 CFR 126.1 country
#   or Russia (22 CFR 120.54(a)(5)); before that date encryption took nothing out
#   of "export", so encrypted data is held to the plaintext rules. A dataset
#   without an encryption block is plaintext.
package sovereign.rules.itar

import data.sovereign.lib

key := "itar"

scope := "ITAR technical data (categories export-controlled, itar)"

reg := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := "ITAR technical data" if {
	some i, d in input.datasets
	lib.has_category(d, reg.categories)
}

# carved_out: dataset i is end-to-end encrypted and the 120.54(a)(5) carve-out is
# in force; otherwise it is held to the plaintext rules.
carved_out contains i if {
	v.carveout == true
	some i, _ in in_scope
	input.datasets[i].encryption.end_to_end == true
}

needs contains [i, id, req] if {
	some i, _ in in_scope
	some id, _ in lib.targets
	some req in ["location", "personnel"]
}

grounds contains [i, id, req, g] if {
	some [i, id, req] in needs
	g := ground(i, req, id)
}

ground(i, "location", id) := "the site is in the US" if {
	lib.targets[id].country == "US"
} else := "end-to-end encrypted, outside 126.1 countries and Russia (22 CFR 120.54(a)(5))" if {
	carved_out[i]
	country := lib.targets[id].country # no country, no carve-out
	not reg.proscribed[country]
}

ground(i, "personnel", id) := "the site attests US-persons-only personnel" if {
	lib.label(lib.targets[id], reg.us_persons_label) == "true"
} else := "end-to-end encrypted: personnel see no technical data (22 CFR 120.54(a)(5))" if {
	carved_out[i]
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id, req] | some [i, id, req, _] in grounds}

gaps contains [i, id, req] if {
	some [i, id, req] in needs
	not grounded[[i, id, req]]
}

default carveout_note := " (before 25 Mar 2020 encryption did not take storage abroad out of export)"

carveout_note := "" if v.carveout

# METADATA
# scope: rule
# title: ITAR technical data outside the US, or at a site whose personnel are not US persons only
# custom:
#   rules:
#     - id: itar.plaintext_export
#       title: ITAR data outside the US without the 120.54(a)(5) encryption carve-out
#       effect: deny
#       citation: 22 CFR 120.50, 120.54(a)(5)
#       source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-120
#       example: a dataset with categories [export-controlled] without end-to-end encryption at a site in DE, or encrypted there before 2020-03-25
#     - id: itar.plaintext_foreign_persons
#       title: ITAR data without the encryption carve-out at a site whose personnel are not US persons only
#       effect: deny
#       citation: 22 CFR 120.50(a)(2), 120.62 (US person)
#       source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-120
#       example: a dataset with categories [export-controlled] without end-to-end encryption at a US site without the label sovereign-engine.io/us-persons-only "true"
#     - id: itar.encrypted_proscribed_country
#       title: Encrypted ITAR data in a 22 CFR 126.1 country or Russia
#       effect: deny
#       citation: 22 CFR 120.54(a)(5)(iv); 22 CFR 126.1
#       source: https://www.ecfr.gov/current/title-22/chapter-I/subchapter-M/part-126/section-126.1
#       example: a dataset with categories [export-controlled] and end-to-end encryption at a site in CN
violations contains r if {
	some [i, id, "location"] in gaps
	not carved_out[i]
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"itar.plaintext_export",
		sprintf(
			"Dataset %s is ITAR technical data without end-to-end encryption under the carve-out%s; holding it at site %s in %s is an export.",
			[did, carveout_note, id, lib.country_label(lib.targets[id])],
		),
		"22 CFR 120.50, 120.54(a)(5)",
	)
}

violations contains r if {
	some [i, id, "personnel"] in gaps
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"itar.plaintext_foreign_persons",
		sprintf(
			"Dataset %s is ITAR technical data without end-to-end encryption under the carve-out%s; site %s does not attest US-persons-only personnel (label %s), and access by a foreign person is an export.",
			[did, carveout_note, id, reg.us_persons_label],
		),
		"22 CFR 120.50(a)(2), 120.62",
	)
}

violations contains r if {
	some [i, id, "location"] in gaps
	carved_out[i]
	site := lib.targets[id]
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"itar.encrypted_proscribed_country",
		sprintf(
			"Dataset %s is ITAR technical data; even end-to-end encrypted it may not be stored in %s (%s), a 22 CFR 126.1 country or Russia (site %s).",
			[did, lib.country_label(site), reg.proscribed[site.country], id],
		),
		"22 CFR 120.54(a)(5)(iv); 22 CFR 126.1",
	)
}

violations contains r if some r in lib.not_modelled(key, reg.name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

placement_obligations := set()

transfer_obligations := set()

report := lib.report(
	key,
	reg.name,
	scope,
	lib.period_or_null(reg.versions),
	in_scope,
	lib.ground_list({[i, id, g] | some [i, id, _, g] in grounds}),
)
