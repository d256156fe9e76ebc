# METADATA
# title: Turkey - transfers of personal data abroad (KVKK Art. 9)
# description: >-
#   Personal data of Turkish data subjects may go abroad on an adequacy decision
#   (none issued yet), then on appropriate safeguards - a standard contract,
#   which must be notified to the Authority within 5 business days of signature,
#   or Board-approved BCRs - then on incidental (one-off) derogations.
package sovereign.rules.turkey

import data.sovereign.lib

abroad contains [d, id, site] if {
	tr := lib.regime("tr_kvkk")
	adequate := {c | some c in tr.adequacy}
	some d in input.datasets
	lib.personal(d)
	lib.concerns(d, "TR")
	some id, site in lib.targets
	site.country != "TR"
	not adequate[site.country]
}

finding(d, id, site, why) := lib.result(id, did, "tr.kvkk.transfer_basis", sprintf("Dataset %s holds personal data of Turkish data subjects; site %s is in %s, with no adequacy decision, and %s.", [did, id, site.country, why]), "KVKK Art. 9 (as amended by Law 7499)") if {
	did := lib.dataset_id(d)
}

# METADATA
# title: Turkish personal data abroad without a KVKK Art. 9 basis
# custom:
#   id: tr.kvkk.transfer_basis
#   effect: deny
#   citation: KVKK Art. 9 (as amended by Law 7499)
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: a dataset with categories [personal] and subject_jurisdictions [TR] at a site in DE, with no mechanism
placement_violations contains v if {
	some [d, id, site] in abroad
	v := finding(d, id, site, "no transfer mechanism is given (standard contract, BCRs or an incidental derogation)")
}

how := input.mechanism.kind if lib.regime("tr_kvkk").transfer_tools[input.mechanism.kind]

transfer_violations contains v if {
	not how
	some [d, id, site] in abroad
	v := finding(d, id, site, sprintf("mechanism %s is not a KVKK Art. 9 safeguard", [object.get(input, ["mechanism", "kind"], "(none)")]))
}

# METADATA
# title: KVKK derogation relied on for a transfer that is not incidental
# custom:
#   id: tr.kvkk.derogation_not_incidental
#   effect: deny
#   citation: KVKK Art. 9(6)
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: transfer of TR personal data to DE with mechanism {kind derogation, derogation consent} and frequency repeated
transfer_violations contains v if {
	how == "derogation"
	not input.frequency == "one-off"
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	v := lib.result(id, did, "tr.kvkk.derogation_not_incidental", sprintf("Transfer of %s to %s (%s) relies on a KVKK Art. 9(6) derogation, which covers only incidental transfers; this one is %s.", [did, id, site.country, object.get(input, "frequency", "of unstated frequency")]), "KVKK Art. 9(6)")
}

# METADATA
# title: Standard contract relied on - notify the Authority within 5 business days
# custom:
#   id: tr.kvkk.standard_contract_notification
#   effect: obligation
#   citation: KVKK Art. 9(4); By-Law on transfers (OG 10 Jul 2024) Art. 14
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: transfer of TR personal data to a site in DE with mechanism {kind tr-standard-contract}
transfer_obligations contains o if {
	how == "tr-standard-contract"
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	o := lib.result(id, did, "tr.kvkk.standard_contract_notification", sprintf("Transfer of %s to %s (%s) relies on a KVKK standard contract: notify the Personal Data Protection Authority within %d business days of its signature.", [did, id, site.country, lib.regime("tr_kvkk").notify_business_days]), "KVKK Art. 9(4); By-Law (OG 10 Jul 2024) Art. 14")
}

# METADATA
# title: BCRs relied on - Board approval required
# custom:
#   id: tr.kvkk.bcr_approval
#   effect: obligation
#   citation: KVKK Art. 9(4)(c)
#   source: https://www.kvkk.gov.tr/Icerik/7982/Yurt-Disina-Kisisel-Veri-Aktarimi
#   example: transfer of TR personal data to a site in DE with mechanism {kind bcr}
transfer_obligations contains o if {
	how == "bcr"
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	o := lib.result(id, did, "tr.kvkk.bcr_approval", sprintf("Transfer of %s to %s (%s) relies on binding corporate rules: they must be approved by the Personal Data Protection Board before the transfer.", [did, id, site.country]), "KVKK Art. 9(4)(c)")
}

placement_obligations := set()
