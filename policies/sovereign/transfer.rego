# METADATA
# title: Transfer decision
# description: >-
#   data.sovereign.transfer.decision answers "may these datasets move from site
#   from to site to, and under which obligations?" (docs/policy-contract.md). It
#   collects the transfer_violations and transfer_obligations of every regime
#   package under data.sovereign.rules (listed below). The decision is undefined
#   - and the request fails - unless the input is a transfer with a valid time,
#   both sites and at least one dataset.
package sovereign.transfer

import data.sovereign.lib
import data.sovereign.lib.exemptions

# METADATA
# entrypoint: true
decision := {"violations": violations, "obligations": obligations, "warnings": warnings, "exemptions": applied, "regimes": regimes} if {
	input.kind == "transfer"
	lib.today
	count(input.datasets) > 0
	is_string(input.from)
	is_string(input.to)
}

# Exemptions (lib/exemptions.rego) waive results of named rules; the decision
# lists each one it applied. Rules whose effect is warn are reported under
# warnings, apart from the obligations an allowed outcome owes.
violations := exemptions.keep(all_violations)

# No built-in rule has the effect warn today (ru.152fz.foreign_copy and
# cn.pipl.cumulative_volume were warnings until they became the obligations they
# are); the split stays for a bundle that adds one.
warn_rules := set()

findings contains o if {
	some o in regime_obligations
	not warn_rules[object.get(o, "rule", "")]
}

warning_findings contains o if {
	some o in regime_obligations
	warn_rules[o.rule]
}

warnings := array.concat(
	exemptions.keep(warning_findings),
	[w | some w in exemptions.stale(all_violations | regime_obligations)],
)

applied := exemptions.applied(all_violations | regime_obligations)

# Every regime package under data.sovereign.rules defines the four rules
# placement_violations, placement_obligations, transfer_violations and
# transfer_obligations (a set each, maybe empty). A regime joins by being listed
# here (a Go test fails for a regime package that is not). The references are
# static on purpose: data.sovereign.rules[x] would make OPA evaluate whole
# packages on every query.
obligations := exemptions.keep(findings)

regime_obligations := union({
	data.sovereign.rules.certification.transfer_obligations,
	data.sovereign.rules.chfadp.transfer_obligations,
	data.sovereign.rules.china.transfer_obligations,
	data.sovereign.rules.dehealth.transfer_obligations,
	data.sovereign.rules.gdpr.transfer_obligations,
	data.sovereign.rules.india.transfer_obligations,
	data.sovereign.rules.indonesia.transfer_obligations,
	data.sovereign.rules.itar.transfer_obligations,
	data.sovereign.rules.jurisdiction.transfer_obligations,
	data.sovereign.rules.library.transfer_obligations,
	data.sovereign.rules.residency.transfer_obligations,
	data.sovereign.rules.russia.transfer_obligations,
	data.sovereign.rules.saudi.transfer_obligations,
	data.sovereign.rules.secnumcloud.transfer_obligations,
	data.sovereign.rules.sovereignty.transfer_obligations,
	data.sovereign.rules.turkey.transfer_obligations,
	data.sovereign.rules.ukgdpr.transfer_obligations,
	data.sovereign.rules.vietnam.transfer_obligations,
})

regime_violations := union({
	data.sovereign.rules.certification.transfer_violations,
	data.sovereign.rules.chfadp.transfer_violations,
	data.sovereign.rules.china.transfer_violations,
	data.sovereign.rules.dehealth.transfer_violations,
	data.sovereign.rules.gdpr.transfer_violations,
	data.sovereign.rules.india.transfer_violations,
	data.sovereign.rules.indonesia.transfer_violations,
	data.sovereign.rules.itar.transfer_violations,
	data.sovereign.rules.jurisdiction.transfer_violations,
	data.sovereign.rules.library.transfer_violations,
	data.sovereign.rules.residency.transfer_violations,
	data.sovereign.rules.russia.transfer_violations,
	data.sovereign.rules.saudi.transfer_violations,
	data.sovereign.rules.secnumcloud.transfer_violations,
	data.sovereign.rules.sovereignty.transfer_violations,
	data.sovereign.rules.turkey.transfer_violations,
	data.sovereign.rules.ukgdpr.transfer_violations,
	data.sovereign.rules.vietnam.transfer_violations,
})

all_violations contains v if some v in regime_violations

# Either end missing from the inventory, or without a country, refuses the
# transfer - never allowed by omission.
all_violations contains v if {
	sites := data.inventory.sites
	some id in [input.from, input.to]
	not is_string(object.get(sites, [id, "country"], null))
	some d in input.datasets
	v := lib.inventory_violation(id, sites, d)
}

# The regimes considered, each with its period on the decision date and, for
# each dataset, whether it applies and why (or why not), with the affirmative
# grounds of the sites its data may stay at (docs/policy-contract.md). Every
# regime package's report is listed here (a Go test checks it).
regimes := [r | some r in reports]

reports contains data.sovereign.rules.certification.report

reports contains data.sovereign.rules.chfadp.report

reports contains data.sovereign.rules.china.report

reports contains data.sovereign.rules.dehealth.report

reports contains data.sovereign.rules.gdpr.report

reports contains data.sovereign.rules.india.report

reports contains data.sovereign.rules.indonesia.report

reports contains data.sovereign.rules.itar.report

reports contains data.sovereign.rules.jurisdiction.report

reports contains data.sovereign.rules.library.report

reports contains data.sovereign.rules.residency.report

reports contains data.sovereign.rules.russia.report

reports contains data.sovereign.rules.saudi.report

reports contains data.sovereign.rules.secnumcloud.report

reports contains data.sovereign.rules.sovereignty.report

reports contains data.sovereign.rules.turkey.report

reports contains data.sovereign.rules.ukgdpr.report

reports contains data.sovereign.rules.vietnam.report
