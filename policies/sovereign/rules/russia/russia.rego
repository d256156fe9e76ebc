# METADATA
# title: Russia - localisation of Russian citizens' personal data and cross-border transfers
# description: >-
#   From 1 Sep 2015 (242-FZ) the primary database of Russian citizens' personal
#   data must be in Russia (152-FZ Art. 18(5); from 1 Jul 2025, as amended by
#   23-FZ, foreign databases may not be used at collection, by operators or
#   processors). A site abroad holding such data needs a ground: processing or
#   remote access of a primary kept in Russia, or a copy made from a Russian
#   primary (replicate, backup); storing or migrating the primary abroad is
#   refused. Personal data leaving Russia is a cross-border transfer (Art. 12):
#   the destination must ensure adequate protection (Convention 108 or
#   Roskomnadzor's list) or the subject's written consent must be held, and from
#   1 Mar 2023 (266-FZ) Roskomnadzor must be notified beforehand - obligations of
#   every allowed outcome abroad. Data subjects unnamed and collected in Russia are
#   taken to be Russian citizens.
package sovereign.rules.russia

import data.sovereign.lib

key := "ru"

scope := "personal data of Russian citizens, or collected in Russia"

v := lib.regime_period(key)

# The datasets of the query the regime governs, by index, with why.
in_scope[i] := why if {
	some i, d in input.datasets
	lib.personal(d)
	why := scope_reason(d)
}

scope_reason(d) := "personal data of Russian citizens" if {
	lib.subject_of(d, "RU")
} else := "personal data collected in Russia" if {
	d.origin_country == "RU"
}

# citizens: the datasets Art. 18(5) localises - of Russian citizens, named or
# (subjects unnamed) collected in Russia.
citizens contains i if {
	some i, _ in in_scope
	lib.citizens_of(input.datasets[i], "RU")
}

# Every target site of in-scope data needs a ground.
needs contains [i, id] if {
	some i, _ in in_scope
	some id, _ in lib.targets
}

grounds contains [i, id, "the site is in Russia"] if {
	some [i, id] in needs
	lib.targets[id].country == "RU"
}

grounds contains [i, id, g] if {
	some [i, id] in needs
	object.get(lib.targets[id], "country", "") != "RU" # a site in no stated country is outside
	g := abroad_ground(i)
}

# abroad_ground(i): why dataset i may be at a site abroad.
abroad_ground(i) := sprintf("no localisation duty on %s (152-FZ Art. 18(5) applies from 1 Sep 2015)", [lib.today]) if {
	v.localisation == false
} else := "Art. 18(5) localises the data of Russian citizens only" if {
	v.localisation
	not citizens[i]
} else := copy_ground

# copy_ground: the site abroad holds no primary database - the data is processed
# there, accessed remotely, or copied from a Russian primary.
copy_ground := "processing abroad of a primary database kept in Russia" if {
	input.kind == "placement"
	input.operation == "process"
} else := "remote access to a primary database kept in Russia" if {
	input.kind == "transfer"
	lib.remote_access
	from_russia
} else := sprintf("a copy (%s) of the primary database at %s in Russia", [input.type, input.from]) if {
	input.kind == "transfer"
	input.type in {"replicate", "backup"}
	from_russia
}

from_russia if data.inventory.sites[input.from].country == "RU"

# grounded: the needs with a ground - a set built once, so a lookup is a hash
# probe (a partial rule looked up with a bound key would rescan its body).
grounded := {[i, id] | some [i, id, _] in grounds}

default how := ""

how := sprintf(" (a %s from %s, not a copy of a Russian primary)", [input.type, input.from]) if {
	input.kind == "transfer"
	input.type
} else := " (a transfer of unstated type)" if {
	input.kind == "transfer"
}

gaps := {[i, id] |
	some [i, id] in needs
	not grounded[[i, id]]
}

# METADATA
# scope: rule
# title: Primary database of Russian citizens' personal data outside Russia
# custom:
#   id: ru.152fz.localisation
#   effect: deny
#   citation: 152-FZ Art. 18(5)
#   source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#   example: store a dataset with categories [personal] and subject_jurisdictions [RU] at a site in DE, or a transfer there that migrates it or names no type
violations contains r if {
	some [i, id] in gaps
	did := lib.dataset_id(input.datasets[i])
	site := lib.targets[id]
	r := lib.result(
		id,
		did,
		"ru.152fz.localisation",
		sprintf(
			"Dataset %s holds personal data of Russian citizens; its primary database must be in Russia (%s), and site %s is in %s%s.",
			[did, v.wording, id, lib.country_label(site), how],
		),
		v.citation,
	)
}

# A period the library does not model refuses every target.
violations contains r if some r in lib.not_modelled(key, lib.regime(key).name, v, object.keys(in_scope))

placement_violations contains r if some r in violations

transfer_violations contains r if some r in violations

# The outcomes abroad that are allowed: in-scope data at a target outside Russia
# without a gap.
abroad contains [i, id] if {
	some [i, id] in needs
	object.get(lib.targets[id], "country", "") != "RU" # a site in no stated country is outside
	not gaps[[i, id]]
}

# METADATA
# scope: rule
# title: Russian personal data abroad - the obligations of an allowed outcome
# custom:
#   rules:
#     - id: ru.152fz.foreign_copy
#       title: Copy or processing abroad of a Russian primary database - keep the primary in Russia current
#       effect: obligation
#       citation: 152-FZ Art. 18(5)
#       source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#       example: replicate a Russian-citizen dataset from mow-1 to a site in DE, or process it there
#     - id: ru.152fz.cross_border_basis
#       title: Personal data leaving Russia - adequate destination or written consent owed
#       effect: obligation
#       citation: 152-FZ Art. 12
#       source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#       example: replicate a dataset with categories [personal] and origin_country RU from mow-1 to a site in DE
#     - id: ru.152fz.transfer_notification
#       title: Cross-border transfer from Russia - notify Roskomnadzor beforehand
#       effect: obligation
#       citation: 152-FZ Art. 12(3)-(6) (as amended by 266-FZ)
#       source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#       example: on or after 2023-03-01, replicate a Russian-citizen dataset from mow-1 to a site in DE
obligations contains o if {
	v.localisation
	some [i, id] in abroad
	citizens[i]
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"ru.152fz.foreign_copy",
		sprintf(
			"Dataset %s at %s (%s) is %s: keep the primary database in Russia and update it there first; the data abroad may only mirror it.",
			[did, id, lib.country_label(lib.targets[id]), copy_ground],
		),
		"152-FZ Art. 18(5)",
	)
}

obligations contains o if {
	some [i, id] in abroad
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"ru.152fz.cross_border_basis",
		sprintf(
			"Personal data of %s reaches %s (%s) outside Russia: a cross-border transfer under %s.",
			[did, id, lib.country_label(lib.targets[id]), v.art12],
		),
		"152-FZ Art. 12",
	)
}

obligations contains o if {
	v.notification
	some [i, id] in abroad
	did := lib.dataset_id(input.datasets[i])
	o := lib.result(
		id,
		did,
		"ru.152fz.transfer_notification",
		sprintf(
			"Personal data of %s reaches %s (%s) outside Russia: before the first transfer, assess the recipient's protection and notify Roskomnadzor of the intended cross-border transfer; to a state without adequate protection, wait 10 working days after the notification.",
			[did, id, lib.country_label(lib.targets[id])],
		),
		"152-FZ Art. 12(3)-(6) (as amended by 266-FZ)",
	)
}

placement_obligations contains o if some o in obligations

transfer_obligations contains o if some o in obligations

report := lib.report(
	key,
	lib.regime(key).name,
	scope,
	lib.period_or_null(lib.regime(key).versions),
	in_scope,
	lib.ground_list(grounds),
)
