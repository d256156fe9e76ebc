# METADATA
# title: UK GDPR Chapter V - transfers of personal data out of the UK
# description: >-
#   Personal data of UK data subjects may sit only in the UK, the EEA, or a
#   jurisdiction the UK adequacy regulations cover within their scope (from the
#   UK list, not the EU's); remote administration from elsewhere is a transfer.
#   Elsewhere a UK tool (IDTA, UK Addendum, BCRs) is needed and owes a transfer
#   risk assessment; Art. 49 derogations cover occasional transfers only.
package sovereign.rules.ukgdpr

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

r := "uk_gdpr"

detail(f) := sprintf("site %s is in %s, outside the UK, the EEA and the UK adequacy regulations in force on %s (%s)", [f.site, f.countries[0], lib.today, lib.join(f.gaps)]) if {
	f.kind == "location"
} else := sprintf("site %s can be administered by personnel in %s, outside the UK, the EEA and the UK adequacy regulations; remote access is a restricted transfer", [f.site, lib.join(f.countries)])

rule_of := {"location": "ukgdpr.chapter5.no_basis", "remote": "ukgdpr.chapter5.remote_access"}

# METADATA
# title: UK personal data outside the UK, the EEA and UK adequacy
# custom:
#   id: ukgdpr.chapter5.no_basis
#   effect: deny
#   citation: UK GDPR Art. 44, 45; DPA 2018 s.17A
#   source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/
#   example: a dataset with subject_jurisdictions [GB] at a site in IN, or in US without a UK-US-DPF certification
placement_violations contains v if {
	some f in tx.findings(r)
	f.kind == "location"
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Dataset %s holds personal data of UK data subjects; %s.", [f.dataset, detail(f)]), "UK GDPR Art. 44, 45; DPA 2018 s.17A")
}

# METADATA
# title: UK personal data administered from outside the UK, the EEA and UK adequacy
# custom:
#   id: ukgdpr.chapter5.remote_access
#   effect: deny
#   citation: UK GDPR Art. 44; ICO guidance on restricted transfers (remote access)
#   source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/
#   example: a dataset with subject_jurisdictions [GB] at a GB site whose personnel_countries include IN
placement_violations contains v if {
	some f in tx.findings(r)
	f.kind == "remote"
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Dataset %s holds personal data of UK data subjects; %s.", [f.dataset, detail(f)]), "UK GDPR Art. 44; ICO guidance on restricted transfers")
}

placement_obligations := set()

transfer_violations contains v if {
	not input.mechanism
	some f in tx.findings(r)
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Transfer of %s from %s to %s: %s. No UK transfer mechanism was given (IDTA, UK Addendum, BCRs or an Art. 49 exception).", [f.dataset, input.from, input.to, detail(f)]), "UK GDPR Art. 44, 46, 49")
}

transfer_violations contains v if {
	input.mechanism
	not tx.tool(r)
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(input.to, did, "ukgdpr.chapter5.no_basis", sprintf("Transfer of %s from %s to %s reaches %s, and mechanism %s is not a UK GDPR transfer tool in force on %s.", [did, input.from, input.to, lib.join(cs), tx.mechanism_label, lib.today]), "UK GDPR Art. 44, 46")
}

# METADATA
# title: UK Art. 49 exception relied on for a repeated transfer
# custom:
#   id: ukgdpr.chapter5.derogation_not_occasional
#   effect: deny
#   citation: UK GDPR Art. 49(1)
#   source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/international-transfers-a-guide/
#   example: transfer of GB personal data to IN with mechanism {kind derogation, derogation consent} and frequency repeated
transfer_violations contains v if {
	tx.tool(r).derogation
	not input.frequency == "one-off"
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(input.to, did, "ukgdpr.chapter5.derogation_not_occasional", sprintf("Transfer of %s from %s to %s (%s) relies on a UK GDPR Art. 49 exception, which covers only occasional transfers; this one is %s.", [did, input.from, input.to, lib.join(cs), object.get(input, "frequency", "of unstated frequency")]), "UK GDPR Art. 49(1)")
}

# METADATA
# title: UK transfer tool relied on - transfer risk assessment owed
# custom:
#   id: ukgdpr.chapter5.tra_required
#   effect: obligation
#   citation: UK GDPR Art. 46(1); ICO transfer risk assessment guidance
#   source: https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/international-transfers/international-transfers-a-guide/
#   example: transfer of GB personal data to IN with mechanism {kind idta}
transfer_obligations contains o if {
	t := tx.tool(r)
	not t.derogation
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(input.to, did, "ukgdpr.chapter5.tra_required", sprintf("Transfer of %s from %s to %s relies on %s: complete a transfer risk assessment for %s.", [did, input.from, input.to, tx.mechanism_label, lib.join(cs)]), "UK GDPR Art. 46(1); ICO transfer risk assessment guidance")
}
