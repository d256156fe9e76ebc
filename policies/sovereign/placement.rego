# METADATA
# title: Placement decision
# description: >-
#   data.sovereign.placement.decision answers "at which candidate sites may these
#   datasets be stored or processed?" (docs/policy-contract.md). It collects the
#   placement_violations and placement_obligations of every regime package under
#   data.sovereign.rules (listed below).
#   The decision is undefined - and the request fails - unless the input is a
#   placement with a valid time and at least one dataset.
package sovereign.placement

import data.sovereign.lib
import data.sovereign.lib.exemptions

# METADATA
# entrypoint: true
decision := {"violations": violations, "obligations": obligations, "warnings": warnings, "exemptions": applied, "regimes": regimes} if {
	input.kind == "placement"
	lib.today
	count(input.datasets) > 0
	is_array(input.candidates)
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
	data.sovereign.rules.certification.placement_obligations,
	data.sovereign.rules.chfadp.placement_obligations,
	data.sovereign.rules.china.placement_obligations,
	data.sovereign.rules.dehealth.placement_obligations,
	data.sovereign.rules.gdpr.placement_obligations,
	data.sovereign.rules.india.placement_obligations,
	data.sovereign.rules.indonesia.placement_obligations,
	data.sovereign.rules.itar.placement_obligations,
	data.sovereign.rules.jurisdiction.placement_obligations,
	data.sovereign.rules.library.placement_obligations,
	data.sovereign.rules.residency.placement_obligations,
	data.sovereign.rules.russia.placement_obligations,
	data.sovereign.rules.saudi.placement_obligations,
	data.sovereign.rules.secnumcloud.placement_obligations,
	data.sovereign.rules.sovereignty.placement_obligations,
	data.sovereign.rules.turkey.placement_obligations,
	data.sovereign.rules.ukgdpr.placement_obligations,
	data.sovereign.rules.vietnam.placement_obligations,
})

regime_violations := union({
	data.sovereign.rules.certification.placement_violations,
	data.sovereign.rules.chfadp.placement_violations,
	data.sovereign.rules.china.placement_violations,
	data.sovereign.rules.dehealth.placement_violations,
	data.sovereign.rules.gdpr.placement_violations,
	data.sovereign.rules.india.placement_violations,
	data.sovereign.rules.indonesia.placement_violations,
	data.sovereign.rules.itar.placement_violations,
	data.sovereign.rules.jurisdiction.placement_violations,
	data.sovereign.rules.library.placement_violations,
	data.sovereign.rules.residency.placement_violations,
	data.sovereign.rules.russia.placement_violations,
	data.sovereign.rules.saudi.placement_violations,
	data.sovereign.rules.secnumcloud.placement_violations,
	data.sovereign.rules.sovereignty.placement_violations,
	data.sovereign.rules.turkey.placement_violations,
	data.sovereign.rules.ukgdpr.placement_violations,
	data.sovereign.rules.vietnam.placement_violations,
})

all_violations contains v if some v in regime_violations

# A candidate missing from the inventory, or without a country, is refused -
# never allowed by omission. Every candidate is a target unless one is missing,
# incomplete or named twice, so the common case costs one comparison.
all_violations contains v if {
	count(lib.targets) != count(input.candidates)
	sites := data.inventory.sites
	some id in input.candidates
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
