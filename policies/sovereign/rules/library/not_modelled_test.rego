# Each regime refuses, by library.regime_not_modelled, the data it governs in a
# period its reference data leaves unmodelled. Most regimes have no such period
# today; these tests give each one, so that the rule is proven before the
# reference data needs it.
package sovereign.rules.not_modelled_test

import data.sovereign.fixtures_test as fx

gap := [{
	"id": "gap", "status": "not_modelled", "valid_from": "2008-01-01", "valid_until": null,
	"source": "a period the test leaves unmodelled",
}]

refused(ds, site) if {
	d := fx.placement([ds], [site])
	"library.regime_not_modelled" in fx.rules_at(d, site)
}

test_russia_not_modelled if refused("pii-ru", "ru-1") with data.reference.regimes.ru.versions as gap

test_china_not_modelled if refused("cn-big", "cn-1") with data.reference.regimes.cn.versions as gap

test_india_not_modelled if refused("pay-in", "in-1") with data.reference.regimes.in_rbi.versions as gap

test_indonesia_not_modelled if refused("gov-id", "id-1") with data.reference.regimes.id_gr71.versions as gap

test_saudi_not_modelled if refused("pii-sa", "sa-1") with data.reference.regimes.sa_pdpl.versions as gap

test_turkey_not_modelled if refused("pii-tr", "tr-1") with data.reference.regimes.tr_kvkk.versions as gap

test_itar_not_modelled if refused("itar-plain", "us-itar") with data.reference.regimes.itar.versions as gap

test_vietnam_not_modelled if {
	refused("pii-vn", "vn-1") with data.reference.regimes.vn_decree53.versions as gap
	refused("pii-vn", "vn-1") with data.reference.regimes.vn_pdpl.versions as gap
}

# A transfer is refused in a period not modelled as a placement is: each
# regime's transfer decision collects the refusal too.
refused_transfer(ds, from, to) if {
	d := fx.transfer([ds], from, to, {"type": "replicate", "frequency": "one-off"})
	"library.regime_not_modelled" in fx.violation_rules(d)
}

test_transfers_not_modelled if {
	refused_transfer("pii-ru", "ru-1", "ru-1") with data.reference.regimes.ru.versions as gap
	refused_transfer("cn-big", "cn-1", "cn-1") with data.reference.regimes.cn.versions as gap
	refused_transfer("pay-in", "in-1", "in-1") with data.reference.regimes.in_rbi.versions as gap
	refused_transfer("gov-id", "id-1", "id-1") with data.reference.regimes.id_gr71.versions as gap
	refused_transfer("pii-sa", "sa-1", "sa-1") with data.reference.regimes.sa_pdpl.versions as gap
	refused_transfer("pii-tr", "tr-1", "tr-1") with data.reference.regimes.tr_kvkk.versions as gap
	refused_transfer("itar-plain", "us-itar", "us-itar") with data.reference.regimes.itar.versions as gap
	refused_transfer("pii-vn", "vn-1", "vn-1") with data.reference.regimes.vn_decree53.versions as gap
	refused_transfer("pii-vn", "vn-1", "vn-1") with data.reference.regimes.vn_pdpl.versions as gap
}
