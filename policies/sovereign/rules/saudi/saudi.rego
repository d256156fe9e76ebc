# METADATA
# title: Saudi Arabia - transfers of personal data outside the Kingdom
# description: >-
#   Personal data of Saudi data subjects may leave the Kingdom only to an adequate
#   jurisdiction (none published yet) or under appropriate safeguards (SDAIA
#   standard contractual clauses, binding common rules, certification), which
#   owe a transfer risk assessment.
package sovereign.rules.saudi

import data.sovereign.lib

abroad contains [d, id, site] if {
	sa := lib.regime("sa_pdpl")
	adequate := {c | some c in sa.adequacy}
	some d in input.datasets
	lib.personal(d)
	lib.concerns(d, "SA")
	some id, site in lib.targets
	site.country != "SA"
	not adequate[site.country]
}

# METADATA
# title: Saudi personal data outside the Kingdom without a transfer basis
# custom:
#   id: sa.pdpl.transfer_basis
#   effect: deny
#   citation: PDPL Art. 29; Transfer Regulation (2024) Arts 2-5
#   source: https://sdaia.gov.sa/en/SDAIA/about/Documents/Regulation%20on%20Personal%20Data%20Transfer.pdf
#   example: a dataset with categories [personal] and subject_jurisdictions [SA] at a site in DE, with no mechanism
placement_violations contains v if {
	some [d, id, site] in abroad
	v := finding(d, id, site, "no transfer mechanism is given")
}

finding(d, id, site, why) := lib.result(id, did, "sa.pdpl.transfer_basis", sprintf("Dataset %s holds personal data of Saudi data subjects; site %s is in %s, outside the Kingdom and with no adequacy decision, and %s (SDAIA standard contractual clauses, binding common rules or a certification).", [did, id, site.country, why]), "PDPL Art. 29; Transfer Regulation (2024)") if {
	did := lib.dataset_id(d)
}

tool if lib.regime("sa_pdpl").transfer_tools[input.mechanism.kind]

transfer_violations contains v if {
	not tool
	some [d, id, site] in abroad
	v := finding(d, id, site, sprintf("mechanism %s is not a safeguard the regulation accepts", [object.get(input, ["mechanism", "kind"], "(none)")]))
}

# METADATA
# title: Saudi transfer under safeguards - transfer risk assessment owed
# custom:
#   id: sa.pdpl.risk_assessment
#   effect: obligation
#   citation: Transfer Regulation (2024) Art. 7
#   source: https://sdaia.gov.sa/en/SDAIA/about/Documents/Regulation%20on%20Personal%20Data%20Transfer.pdf
#   example: transfer of SA personal data to a site in DE with mechanism {kind scc}
transfer_obligations contains o if {
	tool
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	o := lib.result(id, did, "sa.pdpl.risk_assessment", sprintf("Transfer of %s to %s (%s) relies on %s: carry out and document a transfer risk assessment first.", [did, id, site.country, input.mechanism.kind]), "Transfer Regulation (2024) Art. 7")
}

placement_obligations := set()
