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

decision := {"violations": violations, "obligations": obligations} if {
	input.kind == "transfer"
	lib.today
	count(input.datasets) > 0
	is_string(input.from)
	is_string(input.to)
}

violations := [v | some v in all_violations]

# Every regime package under data.sovereign.rules defines the four rules
# placement_violations, placement_obligations, transfer_violations and
# transfer_obligations (a set each, maybe empty). A regime joins by being listed
# here (a Go test fails for a regime package that is not). The references are
# static on purpose: data.sovereign.rules[x] would make OPA evaluate whole
# packages on every query.
obligations := [o | some o in regime_obligations]

regime_obligations := union({
	data.sovereign.rules.certification.transfer_obligations,
	data.sovereign.rules.gdpr.transfer_obligations,
	data.sovereign.rules.residency.transfer_obligations,
	data.sovereign.rules.sovereignty.transfer_obligations,
})

regime_violations := union({
	data.sovereign.rules.certification.transfer_violations,
	data.sovereign.rules.gdpr.transfer_violations,
	data.sovereign.rules.residency.transfer_violations,
	data.sovereign.rules.sovereignty.transfer_violations,
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
