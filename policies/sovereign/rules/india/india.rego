# METADATA
# title: India - payment-system data
# description: >-
#   The entire payment-system data of Indian payments is stored only in India
#   (RBI circular of 6 Apr 2018). Processing abroad is allowed if the data is
#   deleted abroad and brought back to India within one business day or 24 hours.
package sovereign.rules.india

import data.sovereign.lib

abroad contains [d, id, site] if {
	rbi := lib.regime("in_rbi")
	some d in input.datasets
	lib.has_category(d, rbi.categories)
	lib.concerns(d, "IN")
	some id, site in lib.targets
	site.country != "IN"
}

# Processing without storing: a placement for operation process, remote access.
processing_only if input.operation == "process"

processing_only if lib.remote_access

# METADATA
# title: Indian payment-system data stored outside India
# custom:
#   id: in.rbi.payment_localisation
#   effect: deny
#   citation: RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 (6 Apr 2018)
#   source: https://www.rbi.org.in/Scripts/NotificationUser.aspx?Id=11244
#   example: store a dataset with categories [payment] and origin_country IN at a site in SG
placement_violations contains v if {
	not processing_only
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	v := lib.result(id, did, "in.rbi.payment_localisation", sprintf("Dataset %s is Indian payment-system data, which must be stored only in India; site %s is in %s.", [did, id, site.country]), "RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 (6 Apr 2018)")
}

# METADATA
# title: Indian payment-system data processed abroad - delete abroad and return within 24 hours
# custom:
#   id: in.rbi.return_24h
#   effect: obligation
#   citation: RBI circular of 6 Apr 2018; RBI FAQ on storage of payment system data (26 Jun 2019) A.4
#   source: https://www.rbi.org.in/Scripts/FAQView.aspx?Id=130
#   example: process a dataset with categories [payment] and origin_country IN at a site in SG
placement_obligations contains o if {
	processing_only
	some [d, id, site] in abroad
	did := lib.dataset_id(d)
	o := lib.result(id, did, "in.rbi.return_24h", sprintf("Dataset %s is Indian payment-system data processed at %s (%s): delete it there and bring it back to India within one business day or %d hours of processing.", [did, id, site.country, lib.regime("in_rbi").return_hours]), "RBI circular of 6 Apr 2018; RBI FAQ (26 Jun 2019) A.4")
}

transfer_violations contains v if some v in placement_violations

transfer_obligations contains o if some o in placement_obligations
