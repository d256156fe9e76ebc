# METADATA
# title: India - payment-system data
# description: >-
#   From 15 Oct 2018 (the compliance deadline of the RBI circular of 6 Apr 2018)
#   the entire payment-system data of Indian payments is stored only in India.
#   Processing abroad is allowed if the data is deleted abroad and brought back to
#   India within one business day or 24 hours. Before 15 Oct 2018 no storage rule
#   was in force. India's general personal-data export rules (IT Act s.43A with
#   the SPDI Rules 2011, DPDP Act 2023 s.16) are not modelled.
package sovereign.rules.india

import data.sovereign.lib

key := "in_rbi"

scope := "payment-system data of Indian payments"

rbi := lib.regime(key)

v := lib.regime_period(key)

in_scope[i] := "payment-system data of Indian payments" if {
	some i, d in input.datasets
	lib.has_category(d, rbi.categories)
	lib.concerns(d, "IN")
}

# Processing without storing: a placement for operation process, remote access.
processing_only if input.operation == "process"

processing_only if lib.remote_access

needs contains [i, id] if {
	some i, _ in in_scope
	some id, _ in lib.targets
}

grounds contains [i, id, g] if {
	some [i, id] in needs
	g := ground(lib.targets[id].country)
}

ground(c) := sprintf("no storage rule in force on %s (%s)", [lib.today, v.source]) if {
	v.status == "not_in_force"
} else := "the site is in India" if {
	c == "IN"
} else := "processing abroad, deleted there and returned within 24 hours" if {
	v.status == "modelled"
	processing_only
}

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

# METADATA
# scope: rule
# title: Indian payment-system data stored outside India
# custom:
#   id: in.rbi.payment_localisation
#   effect: deny
#   citation: RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 (6 Apr 2018)
#   source: https://www.rbi.org.in/Scripts/NotificationUser.aspx?Id=11244
#   example: store a dataset with categories [payment] and origin_country IN at a site in SG
violations contains r if {
	some [i, id] in needs
	not grounded[[i, id]]
	did := lib.dataset_id(input.datasets[i])
	r := lib.result(
		id,
		did,
		"in.rbi.payment_localisation",
		sprintf(
			"Dataset %s is Indian payment-system data, which must be stored only in India; site %s is in %s.",
			[did, id, lib.country_label(lib.targets[id])],
		),
		"RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 (6 Apr 2018)",
	)
}

violations contains r if some r in lib.not_modelled(key, rbi.name, v, object.keys(in_scope))

# METADATA
# title: Indian payment-system data processed abroad - delete abroad and return within 24 hours
# custom:
#   id: in.rbi.return_24h
#   effect: obligation
#   citation: RBI circular of 6 Apr 2018; RBI FAQ on storage of payment system data (26 Jun 2019) A.4
#   source: https://www.rbi.org.in/Scripts/FAQView.aspx?Id=130
#   example: process a dataset with categories [payment] and origin_country IN at a site in SG
obligations contains o if {
	v.status == "modelled"
	processing_only
	some [i, id] in needs
	object.get(lib.targets[id], "country", "") != "IN" # a site in no stated country is outside
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"in.rbi.return_24h",
		sprintf(
			"Dataset %s is Indian payment-system data processed at %s (%s): delete it there and bring it back to India within one business day or %d hours of processing.",
			[did, id, lib.country_label(lib.targets[id]), rbi.return_hours],
		),
		"RBI circular of 6 Apr 2018; RBI FAQ (26 Jun 2019) A.4",
	)
}

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

placement_obligations contains o if some o in obligations

transfer_obligations contains o if some o in obligations

report := lib.report(key, rbi.name, scope, lib.period_or_null(rbi.versions), in_scope, lib.ground_list(grounds))
