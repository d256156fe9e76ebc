# METADATA
# title: Russia - localisation of Russian citizens' personal data
# description: >-
#   The primary database of Russian citizens' personal data must be in Russia
#   (152-FZ Art. 18(5); since 1 Jul 2025, as amended by 23-FZ, foreign databases
#   may not be used at collection, by operators or processors). A placement
#   stores the primary copy; a copy made from a Russian primary is allowed with a
#   warning; moving the primary abroad is refused.
package sovereign.rules.russia

import data.sovereign.lib

version := lib.current(lib.regime("ru").versions)

scoped contains d if {
	some d in input.datasets
	lib.personal(d)
	lib.subject_of(d, "RU")
}

outside contains [id, site] if {
	some id, site in lib.targets
	site.country != "RU"
}

# METADATA
# title: Primary database of Russian citizens' personal data outside Russia
# custom:
#   id: ru.152fz.localisation
#   effect: deny
#   citation: 152-FZ Art. 18(5)
#   source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#   example: store a dataset with categories [personal] and subject_jurisdictions [RU] at a site in DE
placement_violations contains v if {
	not input.operation == "process"
	some v in localisation
}

localisation contains v if {
	ver := version
	some d in scoped
	did := lib.dataset_id(d)
	some [id, site] in outside
	v := lib.result(id, did, "ru.152fz.localisation", sprintf("Dataset %s holds personal data of Russian citizens; its primary database must be in Russia (%s), and site %s is in %s.", [did, ver.wording, id, site.country]), ver.citation)
}

# METADATA
# title: Copy or processing of Russian citizens' personal data abroad
# custom:
#   id: ru.152fz.foreign_copy
#   effect: warn
#   citation: 152-FZ Art. 12, 18(5)
#   source: http://www.consultant.ru/document/cons_doc_LAW_61801/
#   example: replicate a Russian-citizen dataset from mow-1 to a site in DE, or process it there
placement_obligations contains o if {
	input.operation == "process"
	some v in localisation
	o := object.union(v, {"rule": "ru.152fz.foreign_copy", "message": sprintf("%s Processing abroad is a cross-border transfer: keep the primary database in Russia and update it first.", [v.message]), "citation": "152-FZ Art. 12, 18(5)"})
}

from_russia if data.inventory.sites[input.from].country == "RU"

copy if {
	from_russia
	input.type != "migrate"
}

transfer_violations contains v if {
	not copy
	some v in localisation
}

transfer_obligations contains o if {
	copy
	some v in localisation
	o := object.union(v, {"rule": "ru.152fz.foreign_copy", "message": sprintf("Transfer of %s from %s (RU) to %s: a copy abroad of a Russian primary database is allowed only while the primary in Russia is kept current; flagged as a risk.", [v.dataset, input.from, input.to]), "citation": "152-FZ Art. 12, 18(5)"})
}
