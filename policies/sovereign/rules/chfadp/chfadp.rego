# METADATA
# title: Swiss FADP - disclosure of personal data abroad
# description: >-
#   Personal data of Swiss data subjects, or collected in Switzerland, may be
#   disclosed only to Switzerland, the EEA, or (from 1 Sep 2023) a state the
#   Federal Council lists in Annex 1 DPO within its scope and dates; remote
#   administration from elsewhere is a disclosure abroad. Elsewhere a safeguard or
#   an exception of the period is needed: under the FADP 2020 (from 1 Sep 2023)
#   Art. 16(2) safeguards or an Art. 17 exception naming its ground; under the
#   FADP 1992 Art. 6 as revised (1 Jan 2008 - 31 Aug 2023) contractual clauses or
#   group rules (the FDPIC to be informed) or an Art. 6(2) exception, those of
#   them for the specific case one-off only.
package sovereign.rules.chfadp

import data.sovereign.lib
import data.sovereign.lib.transfers as tx

r := "ch_fadp"

scope := "personal data of data subjects in Switzerland, or collected there"

era := tx.period(r).id

ids := {
	"fadp1992": {"location": "chfadp.art6.no_basis", "remote": "chfadp.art6.remote_access"},
	"fadp": {"location": "chfadp.art16.no_basis", "remote": "chfadp.art16.remote_access"},
}

citations := {
	"fadp1992": {"location": "FADP 1992 Art. 6(1)", "remote": "FADP 1992 Art. 6(1)"},
	"fadp": {"location": "FADP Art. 16(1); DPO Art. 8, Annex 1", "remote": "FADP Art. 16(1)"},
}

area := {
	"fadp1992": "Switzerland and the EEA (states whose legislation guarantees adequate protection)",
	"fadp": "Switzerland, the EEA and Annex 1 DPO",
}

law := {"fadp1992": "FADP 1992 Art. 6(2)", "fadp": "FADP Art. 16(2) or Art. 17"}

detail(f) := sprintf("site %s is in %s, outside %s as in force on %s (%s)", [f.site, f.countries[0], area[era], lib.today, lib.join(f.gaps)]) if {
	f.kind == "location"
} else := sprintf(
	"site %s can be administered by personnel in %s, outside %s; access from abroad is a disclosure abroad",
	[f.site, lib.join(f.countries), area[era]],
)

# METADATA
# title: Swiss personal data outside Switzerland, the EEA and Annex 1 DPO
# custom:
#   rules:
#     - id: chfadp.art16.no_basis
#       title: Swiss personal data outside Switzerland, the EEA and Annex 1 DPO
#       effect: deny
#       citation: FADP Art. 16(1); DPO Art. 8, Annex 1
#       source: https://www.fedlex.admin.ch/eli/cc/2022/568/en
#       example: a dataset with subject_jurisdictions [CH] at a site in JP (not listed in Annex 1), or a transfer there with a derogation naming no Art. 17 ground
#     - id: chfadp.art16.remote_access
#       title: Swiss personal data administered from outside Switzerland, the EEA and Annex 1 DPO
#       effect: deny
#       citation: FADP Art. 16(1)
#       source: https://www.fedlex.admin.ch/eli/cc/2022/491/en
#       example: a dataset with subject_jurisdictions [CH] at a CH site whose personnel_countries include IN
#     - id: chfadp.art6.no_basis
#       title: Swiss personal data outside Switzerland and the EEA under the FADP 1992
#       effect: deny
#       citation: FADP 1992 Art. 6(1), (2)
#       source: https://www.fedlex.admin.ch/eli/cc/1993/1945_1945_1945/en
#       example: on 2020-06-01, a dataset with subject_jurisdictions [CH] at a site in CA, or a transfer there without a mechanism
#     - id: chfadp.art6.remote_access
#       title: Swiss personal data administered from outside Switzerland and the EEA under the FADP 1992
#       effect: deny
#       citation: FADP 1992 Art. 6(1)
#       source: https://www.fedlex.admin.ch/eli/cc/1993/1945_1945_1945/en
#       example: on 2020-06-01, a dataset with subject_jurisdictions [CH] at a CH site whose personnel_countries include IN
placement_violations contains v if {
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		ids[era][f.kind],
		sprintf("Dataset %s holds %s; %s.", [f.dataset, tx.scoped(r)[f.index], detail(f)]),
		citations[era][f.kind],
	)
}

placement_obligations := set()

status := tx.status(r)

why_refused := "no safeguard or exception was given" if {
	status == "none"
} else := sprintf(
	"mechanism %s is not a safeguard of %s in force on %s",
	[lib.mechanism_label, law[era], lib.today],
) if {
	status == "unknown"
} else := sprintf(
	"exception %q is not one of the grounds of %s",
	[object.get(input.mechanism, "derogation", ""), law[era]],
) if {
	status == "unknown_ground"
}

transfer_violations contains v if {
	status in {"none", "unknown", "unknown_ground"}
	some f in tx.findings(r)
	v := lib.result(
		f.site,
		f.dataset,
		ids[era][f.kind],
		sprintf("Transfer of %s from %s to %s: %s; %s.", [f.dataset, input.from, input.to, detail(f), why_refused]),
		citations[era][f.kind],
	)
}

# METADATA
# scope: rule
# title: FADP 1992 exception for the specific case relied on for a repeated transfer
# custom:
#   id: chfadp.art6.derogation_not_occasional
#   effect: deny
#   citation: FADP 1992 Art. 6(2)(b), (d), (e)
#   source: https://www.fedlex.admin.ch/eli/cc/1993/1945_1945_1945/en
#   example: on 2020-06-01, transfer of CH personal data to IN with mechanism {kind derogation, derogation consent} and frequency repeated
transfer_violations contains v if {
	status == "not_occasional"
	some i, cs in tx.exposed(r)
	did := lib.dataset_id(input.datasets[i])
	v := lib.result(
		input.to,
		did,
		"chfadp.art6.derogation_not_occasional",
		sprintf(
			"Transfer of %s from %s to %s (%s) relies on the exception %s, which applies in the specific case only; this transfer is %s.",
			[did, input.from, input.to, lib.join(cs), input.mechanism.derogation, lib.frequency_label],
		),
		"FADP 1992 Art. 6(2)(b), (d), (e)",
	)
}

# METADATA
# scope: rule
# title: Obligations of the Swiss safeguard relied on
# custom:
#   rules:
#     - id: chfadp.art16.safeguards
#       title: FADP safeguard relied on - adequacy of the safeguard to be assessed and documented
#       effect: obligation
#       citation: FADP Art. 16(2); DPO Art. 9-12
#       source: https://www.fedlex.admin.ch/eli/cc/2022/568/en
#       example: transfer of CH personal data to IN with mechanism {kind scc}
#     - id: chfadp.art6.inform_fdpic
#       title: FADP 1992 safeguard relied on - inform the FDPIC
#       effect: obligation
#       citation: FADP 1992 Art. 6(3); VDSG Art. 6
#       source: https://www.fedlex.admin.ch/eli/cc/1993/1945_1945_1945/en
#       example: on 2020-06-01, transfer of CH personal data to IN with mechanism {kind scc} or {kind bcr}
transfer_obligations contains o if {
	some [i, "safeguards"] in tx.owed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		input.to,
		did,
		"chfadp.art16.safeguards",
		sprintf(
			"Transfer of %s from %s to %s relies on %s: assess the protection in %s, document it, and use clauses the FDPIC recognises (or inform it).",
			[did, input.from, input.to, lib.mechanism_label, lib.join(tx.relied(r)[i])],
		),
		"FADP Art. 16(2); DPO Art. 9-12",
	)
}

transfer_obligations contains o if {
	some [i, "inform_fdpic"] in tx.owed(r)
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		input.to,
		did,
		"chfadp.art6.inform_fdpic",
		sprintf(
			"Transfer of %s from %s to %s relies on %s: inform the Federal Data Protection and Information Commissioner of the safeguards for %s (FADP 1992 Art. 6(3)).",
			[did, input.from, input.to, lib.mechanism_label, lib.join(tx.relied(r)[i])],
		),
		"FADP 1992 Art. 6(3); VDSG Art. 6",
	)
}

report := tx.report(r, scope)
