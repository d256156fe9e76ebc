# METADATA
# title: Swiss FADP - disclosure of personal data abroad
# description: >-
#   Personal data of Swiss data subjects may be disclosed only to Switzerland, the
#   EEA, or a state the Federal Council lists in Annex 1 DPO (within its scope and
#   dates); remote administration from elsewhere is a disclosure abroad.
#   Elsewhere FADP Art. 16(2) safeguards (SCCs recognised by the FDPIC, BCRs) or an
#   Art. 17 exception are needed.
package sovereign.rules.chfadp

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

r := "ch_fadp"

detail(f) := sprintf("site %s is in %s, outside Switzerland, the EEA and Annex 1 DPO as in force on %s (%s)", [f.site, f.countries[0], lib.today, lib.join(f.gaps)]) if {
	f.kind == "location"
} else := sprintf("site %s can be administered by personnel in %s, outside Switzerland, the EEA and Annex 1 DPO; access from abroad is a disclosure abroad", [f.site, lib.join(f.countries)])

rule_of := {"location": "chfadp.art16.no_basis", "remote": "chfadp.art16.remote_access"}

# METADATA
# title: Swiss personal data outside Switzerland, the EEA and Annex 1 DPO
# custom:
#   id: chfadp.art16.no_basis
#   effect: deny
#   citation: FADP Art. 16(1); DPO Art. 8, Annex 1
#   source: https://www.fedlex.admin.ch/eli/cc/2022/568/en
#   example: a dataset with subject_jurisdictions [CH] at a site in JP (not listed in Annex 1)
placement_violations contains v if {
	some f in tx.findings(r)
	f.kind == "location"
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Dataset %s holds personal data of Swiss data subjects; %s.", [f.dataset, detail(f)]), "FADP Art. 16(1); DPO Art. 8, Annex 1")
}

# METADATA
# title: Swiss personal data administered from outside Switzerland, the EEA and Annex 1 DPO
# custom:
#   id: chfadp.art16.remote_access
#   effect: deny
#   citation: FADP Art. 16(1)
#   source: https://www.fedlex.admin.ch/eli/cc/2022/491/en
#   example: a dataset with subject_jurisdictions [CH] at a CH site whose personnel_countries include IN
placement_violations contains v if {
	some f in tx.findings(r)
	f.kind == "remote"
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Dataset %s holds personal data of Swiss data subjects; %s.", [f.dataset, detail(f)]), "FADP Art. 16(1)")
}

placement_obligations := set()

transfer_violations contains v if {
	not tx.tool(r)
	some f in tx.findings(r)
	v := lib.result(f.site, f.dataset, rule_of[f.kind], sprintf("Transfer of %s from %s to %s: %s. No FADP Art. 16(2) safeguard or Art. 17 exception in force was given.", [f.dataset, input.from, input.to, detail(f)]), "FADP Art. 16, 17")
}

# METADATA
# title: FADP safeguard relied on - adequacy of the safeguard to be assessed and documented
# custom:
#   id: chfadp.art16.safeguards
#   effect: obligation
#   citation: FADP Art. 16(2); DPO Art. 9-12
#   source: https://www.fedlex.admin.ch/eli/cc/2022/568/en
#   example: transfer of CH personal data to IN with mechanism {kind scc}
transfer_obligations contains o if {
	t := tx.tool(r)
	not t.derogation
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(input.to, did, "chfadp.art16.safeguards", sprintf("Transfer of %s from %s to %s relies on %s: assess the protection in %s, document it, and use clauses the FDPIC recognises (or inform it).", [did, input.from, input.to, tx.mechanism_label, lib.join(cs)]), "FADP Art. 16(2); DPO Art. 9-12")
}
