#!/usr/bin/env python3
# Generates policies/reference/data.json, the dated reference data of the built-in
# policy bundle: the floor of the modelled period (modelled_from), jurisdiction
# groups as dated versions (one per period with no membership change), the EU,
# UK and Swiss transfer regimes (their periods, adequacy lists with scope
# qualifiers, transfer tools and derogations) and the localisation and transfer
# regimes. Every entry carries source, valid_from and valid_until; every regime's
# periods (`versions`) run without a gap from the floor (or earlier) to an open
# end, each with a status: modelled (its rules apply), not_in_force (the rule did
# not exist yet: an affirmative fact, sourced to the instrument that created it)
# or not_modelled (the library does not model the law of that period: data in
# scope is refused). Edit the tables here, then run `make reference`;
# policies/sovereign/lib/reference_test.rego checks the shape and the dates.
import json, collections

def entry(source, valid_from, valid_until=None, **kw):
    e = collections.OrderedDict()
    for k, v in kw.items():
        e[k] = v
    e["source"] = source
    e["valid_from"] = valid_from
    e["valid_until"] = valid_until
    return e

EU_SRC = "Treaty on European Union Art. 49, 52; EUR-Lex 'EU member countries'"
eu_members = {
    # founding members of the European Communities (Treaty of Rome in force 1958-01-01)
    "BE": ("Belgium", "1958-01-01", "Treaty of Rome (1957)"),
    "DE": ("Germany", "1958-01-01", "Treaty of Rome (1957)"),
    "FR": ("France", "1958-01-01", "Treaty of Rome (1957)"),
    "IT": ("Italy", "1958-01-01", "Treaty of Rome (1957)"),
    "LU": ("Luxembourg", "1958-01-01", "Treaty of Rome (1957)"),
    "NL": ("Netherlands", "1958-01-01", "Treaty of Rome (1957)"),
    "DK": ("Denmark", "1973-01-01", "Act of Accession 1972"),
    "IE": ("Ireland", "1973-01-01", "Act of Accession 1972"),
    "GR": ("Greece (EU code EL)", "1981-01-01", "Act of Accession 1979"),
    "ES": ("Spain", "1986-01-01", "Act of Accession 1985"),
    "PT": ("Portugal", "1986-01-01", "Act of Accession 1985"),
    "AT": ("Austria", "1995-01-01", "Act of Accession 1994"),
    "FI": ("Finland", "1995-01-01", "Act of Accession 1994"),
    "SE": ("Sweden", "1995-01-01", "Act of Accession 1994"),
    "CY": ("Cyprus", "2004-05-01", "Act of Accession 2003"),
    "CZ": ("Czechia", "2004-05-01", "Act of Accession 2003"),
    "EE": ("Estonia", "2004-05-01", "Act of Accession 2003"),
    "HU": ("Hungary", "2004-05-01", "Act of Accession 2003"),
    "LV": ("Latvia", "2004-05-01", "Act of Accession 2003"),
    "LT": ("Lithuania", "2004-05-01", "Act of Accession 2003"),
    "MT": ("Malta", "2004-05-01", "Act of Accession 2003"),
    "PL": ("Poland", "2004-05-01", "Act of Accession 2003"),
    "SK": ("Slovakia", "2004-05-01", "Act of Accession 2003"),
    "SI": ("Slovenia", "2004-05-01", "Act of Accession 2003"),
    "BG": ("Bulgaria", "2007-01-01", "Act of Accession 2005"),
    "RO": ("Romania", "2007-01-01", "Act of Accession 2005"),
    "HR": ("Croatia", "2013-07-01", "Act of Accession 2012"),
}
# Territories with their own ISO 3166-1 code that are part of the EU (outermost regions
# under TFEU Art. 349 / 355(1), and Aland under TFEU Art. 355(4)).
eu_territories = {
    "AX": ("Aland Islands (FI)", "1995-01-01", "TFEU Art. 355(4); Act of Accession 1994, Protocol No 2 on the Aland islands"),
    "GF": ("French Guiana (FR outermost region)", "1958-01-01", "TFEU Art. 349, 355(1)"),
    "GP": ("Guadeloupe (FR outermost region)", "1958-01-01", "TFEU Art. 349, 355(1)"),
    "MQ": ("Martinique (FR outermost region)", "1958-01-01", "TFEU Art. 349, 355(1)"),
    "RE": ("Reunion (FR outermost region)", "1958-01-01", "TFEU Art. 349, 355(1)"),
    "YT": ("Mayotte (FR outermost region)", "2014-01-01", "TFEU Art. 349, 355(1); European Council Decision 2012/419/EU"),
    "MF": ("Saint-Martin (FR outermost region)", "2007-07-15", "TFEU Art. 349, 355(1); ISO code since the collectivity was created (formerly part of GP)"),
}


import datetime

def day_before(d):
    return (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()

def compositions(table, first_source):
    """table: code -> (name, valid_from, valid_until or None, source). Returns the list of
    dated compositions: one entry per period in which the membership did not change."""
    events = sorted({v[1] for v in table.values()} | {day_after(v[2]) for v in table.values() if v[2]})
    out = []
    for i, start in enumerate(events):
        end = day_before(events[i + 1]) if i + 1 < len(events) else None
        mem = collections.OrderedDict()
        for code in sorted(table):
            name, f, u = table[code][:3]
            if f <= start and (u is None or start <= u):
                mem[code] = name
        joined = sorted(c for c, v in table.items() if v[1] == start)
        left = sorted(c for c, v in table.items() if v[2] and day_after(v[2]) == start)
        parts = []
        srcs = []
        for c in joined:
            if table[c][3] not in srcs:
                srcs.append(table[c][3])
        for c in left:
            if table[c][4 if len(table[c]) > 4 else 3] not in srcs:
                srcs.append(table[c][4] if len(table[c]) > 4 else table[c][3])
        if joined:
            parts.append("joined: " + " ".join(joined))
        if left:
            parts.append("left: " + " ".join(left))
        e = collections.OrderedDict()
        e["change"] = "; ".join(parts)
        e["source"] = first_source if i == 0 else "; ".join(srcs)
        e["valid_from"] = start
        e["valid_until"] = end
        e["members"] = mem
        out.append(e)
    return out

def day_after(d):
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=1)).isoformat()

eu_table = {c: (n, f, None, s) for c, (n, f, s) in {**eu_members, **eu_territories}.items()}
eu_table["GB"] = ("United Kingdom", "1973-01-01", "2020-01-31", "Act of Accession 1972",
                  "Withdrawal Agreement (OJ L 29, 31.1.2020): withdrawal on 31 Jan 2020")

eea_table = {}
for code, (name, since, _) in {**eu_members, **eu_territories}.items():
    if since < "1994-01-01":
        d, src = "1994-01-01", "EEA Agreement (OJ L 1, 3.1.1994), in force 1 Jan 1994"
    elif code in ("AT", "FI", "SE"):
        d, src = "1994-01-01", "EEA Agreement, in force 1 Jan 1994 (as EFTA states; EU members from 1995)"
    elif since == "2004-05-01":
        d, src = "2004-05-01", "EEA Enlargement Agreement 2004 (provisionally applied from 1 May 2004)"
    elif since == "2007-01-01":
        d, src = "2007-08-01", "EEA Enlargement Agreement 2007 (provisionally applied from 1 Aug 2007)"
    elif code == "HR":
        d, src = "2014-04-12", "Agreement on Croatia's participation in the EEA (provisionally applied from 12 Apr 2014)"
    else:
        d, src = since, "EEA Agreement Art. 126 (applies to the territories to which the EU Treaties apply)"
    eea_table[code] = (name, d if code in ("AT", "FI", "SE") else max(d, since), None, src)
eea_table["IS"] = ("Iceland", "1994-01-01", None, "EEA Agreement, in force 1 Jan 1994")
eea_table["NO"] = ("Norway", "1994-01-01", None, "EEA Agreement, in force 1 Jan 1994")
eea_table["LI"] = ("Liechtenstein", "1995-05-01", None, "EEA Agreement, in force for Liechtenstein 1 May 1995")
eea_table["GB"] = ("United Kingdom", "1994-01-01", "2020-01-31", "EEA Agreement, in force 1 Jan 1994",
                   "Withdrawal Agreement: the UK left the EU and the EEA on 31 Jan 2020")

efta_table = {
    "CH": ("Switzerland", "1960-05-03", None, "EFTA Convention (Stockholm, 1960)"),
    "NO": ("Norway", "1960-05-03", None, "EFTA Convention (Stockholm, 1960)"),
    "IS": ("Iceland", "1970-03-01", None, "EFTA Convention; accession of Iceland 1970"),
    "LI": ("Liechtenstein", "1991-09-01", None, "EFTA Convention; accession of Liechtenstein 1991"),
}

groups = collections.OrderedDict()
groups["EU"] = entry("TEU Art. 52; TFEU Art. 349, 355 (territorial scope)", "1958-01-01", None,
                     name="European Union (European Communities before 1 Nov 1993)",
                     note="ISO codes with their own entry that are part of the EU: AX GF GP MQ RE YT MF. Greece is GR (the EU writes EL).",
                     versions=compositions(eu_table, "Treaty establishing the European Economic Community (Rome, 1957), in force 1 Jan 1958; TFEU Art. 349, 355(1) for the French overseas departments"))
groups["EEA"] = entry("Agreement on the European Economic Area (OJ L 1, 3.1.1994)", "1994-01-01", None,
                      name="European Economic Area", note="EU member states (with the same territories) plus IS, LI, NO",
                      versions=compositions(eea_table, "Agreement on the European Economic Area (OJ L 1, 3.1.1994), in force 1 Jan 1994"))
groups["EFTA"] = entry("Convention establishing the European Free Trade Association (1960)", "1960-05-03", None,
                       name="European Free Trade Association",
                       note="current members only; former members (AT, DK, FI, GB, PT, SE) are not modelled",
                       versions=compositions(efta_table, "Convention establishing the European Free Trade Association (Stockholm, 1960)"))

GDPR = "2018-05-25"
GDPR_EVE = "2018-05-24"
DIR95 = "1998-10-24"

# The floor: the earliest decision date the library models at all. From it on,
# every regime's periods are modelled or affirmatively not in force; before it,
# the library refuses (library.before_modelled_period) and the engine answers 422.
FLOOR = "2008-01-01"
modelled_from = entry(
    "Sovereign policy library (docs/policy-contract.md, 'The modelled period'); Federal Act of 24 Mar 2006 amending the Swiss FADP (AS 2007 4983), in force 1 Jan 2008",
    FLOOR, None,
    name="Earliest decision date the library models",
    date=FLOOR,
    note="1 Jan 2008 is the entry into force of the revised Swiss FADP Art. 6 (safeguards, exceptions, duty to inform the FDPIC), "
         "the latest-starting predecessor regime the library models in full; the original FADP Art. 6 (1993-2007) and the "
         "transposition of Directive 95/46/EC into each Member State's law before then are not modelled. Every regime's "
         "periods begin on or before this date.")


def period(status, src, since, until=None, **kw):
    """A period of a regime: status modelled | not_in_force | not_modelled."""
    assert status in ("modelled", "not_in_force", "not_modelled"), status
    return entry(src, since, until, status=status, **kw)


def table(rows, since, until=None):
    """rows: key -> (source, {fields}) or (source, valid_from, valid_until, {fields})."""
    out = collections.OrderedDict()
    for k in sorted(rows):
        r = rows[k]
        if len(r) == 2:
            out[k] = entry(r[0], since, until, **r[1])
        else:
            out[k] = entry(r[0], r[1], r[2], **r[3])
    return out

def adeq(src, since, until=None, scope=None, note=None, name=None):
    kw = {"name": name}
    kw["scope"] = scope or {}
    if note:
        kw["note"] = note
    return entry(src, since, until, **kw)

adequacy = collections.OrderedDict()
A = {
    "AD": [adeq("Commission Decision 2010/625/EU of 19 Oct 2010 (continued by GDPR Art. 45(9))", "2010-10-19", name="Andorra")],
    "AR": [adeq("Commission Decision 2003/490/EC of 30 Jun 2003 (continued by GDPR Art. 45(9))", "2003-06-30", name="Argentina")],
    "BR": [adeq("Commission Implementing Decision (EU) 2026/179 of 26 Jan 2026 (OJ 28 Jan 2026)", "2026-01-26", name="Brazil",
                note="entry-into-force date taken as the date of adoption; verify against the OJ text")],
    "CA": [adeq("Commission Decision 2002/2/EC of 20 Dec 2001 (continued by GDPR Art. 45(9))", "2001-12-20", name="Canada",
                scope={"recipient_sectors": ["commercial"]},
                note="covers recipients subject to PIPEDA: organisations in the course of commercial activities")],
    "CH": [adeq("Commission Decision 2000/518/EC of 26 Jul 2000 (continued by GDPR Art. 45(9))", "2000-07-26", name="Switzerland")],
    "FO": [adeq("Commission Decision 2010/146/EU of 5 Mar 2010 (continued by GDPR Art. 45(9))", "2010-03-05", name="Faroe Islands")],
    "GB": [adeq("Commission Implementing Decision (EU) 2021/1772 of 28 Jun 2021; extended to 27 Dec 2025; renewed 19 Dec 2025 until 27 Dec 2031",
                "2021-06-28", "2031-12-27", name="United Kingdom")],
    "GG": [adeq("Commission Decision 2003/821/EC of 21 Nov 2003 (continued by GDPR Art. 45(9))", "2003-11-21", name="Guernsey")],
    "IL": [adeq("Commission Decision 2011/61/EU of 31 Jan 2011 (continued by GDPR Art. 45(9))", "2011-01-31", name="Israel")],
    "IM": [adeq("Commission Decision 2004/411/EC of 28 Apr 2004 (continued by GDPR Art. 45(9))", "2004-04-28", name="Isle of Man")],
    "JE": [adeq("Commission Decision 2008/393/EC of 8 May 2008 (continued by GDPR Art. 45(9))", "2008-05-08", name="Jersey")],
    "JP": [adeq("Commission Implementing Decision (EU) 2019/419 of 23 Jan 2019", "2019-01-23", name="Japan",
                scope={"recipient_sectors": ["commercial"]},
                note="covers business operators handling personal information under the APPI and the Supplementary Rules (private sector)")],
    "KR": [adeq("Commission Implementing Decision (EU) 2022/254 of 17 Dec 2021", "2021-12-17", name="Republic of Korea",
                scope={"excluded_categories": ["credit"]},
                note="PIPA scope; personal credit information processed under the Credit Information Act by FSC-supervised entities is excluded (verify further exclusions)")],
    "NZ": [adeq("Commission Implementing Decision 2013/65/EU of 19 Dec 2012 (continued by GDPR Art. 45(9))", "2012-12-19", name="New Zealand")],
    "HU": [adeq("Commission Decision 2000/519/EC of 26 Jul 2000 (OJ L 215, 25.8.2000); without object from Hungary's accession to the EU on 1 May 2004",
                "2000-07-26", "2004-04-30", name="Hungary")],
    "US": [
        adeq("Commission Decision 2000/520/EC of 26 Jul 2000 (Safe Harbour, OJ L 215, 25.8.2000); declared invalid by CJEU C-362/14 Schrems (6 Oct 2015)",
             "2000-07-26", "2015-10-05", name="United States",
             scope={"recipient_certification": "US-Safe-Harbor"},
             note="covered only organisations self-certified to the Safe Harbour principles"),
        adeq("Commission Implementing Decision (EU) 2016/1250 (EU-US Privacy Shield); invalidated by CJEU C-311/18 (Schrems II) on 16 Jul 2020",
             "2016-07-12", "2020-07-15", name="United States",
             scope={"recipient_certification": "EU-US-Privacy-Shield"}),
        adeq("Commission Implementing Decision (EU) 2023/1795 of 10 Jul 2023 (EU-US Data Privacy Framework); upheld in T-553/23 Latombe (3 Sep 2025), appeal C-703/25 P pending",
             "2023-07-10", name="United States",
             scope={"recipient_certification": "EU-US-DPF"},
             note="covers only organisations certified under the EU-US DPF; treat as revocable"),
    ],
    "UY": [adeq("Commission Implementing Decision 2012/484/EU of 21 Aug 2012 (continued by GDPR Art. 45(9))", "2012-08-21", name="Uruguay")],
}
for k in sorted(A):
    adequacy[k] = A[k]

cats = collections.OrderedDict()
C = {
    "personal": ("GDPR Art. 4(1); Directive 95/46/EC Art. 2(a)", False),
    "special-category": ("GDPR Art. 9(1); Directive 95/46/EC Art. 8(1)", True),
    "health": ("GDPR Art. 4(15), 9(1); Directive 95/46/EC Art. 8(1)", True),
    "genetic": ("GDPR Art. 4(13), 9(1)", True),
    "biometric": ("GDPR Art. 4(14), 9(1)", True),
    "criminal-offence": ("GDPR Art. 10; Directive 95/46/EC Art. 8(5)", False),
    "payment": ("GDPR Art. 4(1): payment and account data relate to identified card and account holders", False),
    "credit": ("GDPR Art. 4(1): credit information relates to identified borrowers", False),
}
for k in sorted(C):
    src, special = C[k]
    cats[k] = entry(src, DIR95, None, special_category=special)

# Transfer tools. tia: a transfer impact assessment is owed (Schrems II);
# sa_authorisation / authorisation: the supervisory authority (GDPR) or the
# Member State (Directive) must authorise first; derogation: the tool is a
# derogation, which must name one of the period's grounds.
tools = table({
    "scc": ("GDPR Art. 46(2)(c); Commission Implementing Decision (EU) 2021/914 (standard contractual clauses)", {"tia": True}),
    "bcr": ("GDPR Art. 46(2)(b), 47 (binding corporate rules)", {"tia": True}),
    "ad-hoc-clauses": ("GDPR Art. 46(3)(a) (contractual clauses authorised by the supervisory authority)", {"tia": True, "sa_authorisation": True}),
    "code-of-conduct": ("GDPR Art. 40, 46(2)(e) (approved code of conduct with binding commitments)", {"tia": True}),
    "certification": ("GDPR Art. 42, 46(2)(f) (approved certification mechanism with binding commitments)", {"tia": True}),
    "derogation": ("GDPR Art. 49(1) (derogations for specific situations)", {"derogation": True}),
}, GDPR)

# Derogations. occasional: the ground covers only occasional (one-off)
# transfers; inform_sa: the supervisory authority must be informed.
derogs = table({
    "consent": ("GDPR Art. 49(1)(a)", {"occasional": True}),
    "contract": ("GDPR Art. 49(1)(b)", {"occasional": True}),
    "contract-in-interest": ("GDPR Art. 49(1)(c)", {"occasional": True}),
    "public-interest": ("GDPR Art. 49(1)(d)", {"occasional": True}),
    "legal-claims": ("GDPR Art. 49(1)(e)", {"occasional": True}),
    "vital-interests": ("GDPR Art. 49(1)(f)", {"occasional": True}),
    "public-register": ("GDPR Art. 49(1)(g)", {"occasional": True}),
    "compelling-legitimate-interests": ("GDPR Art. 49(1), second subparagraph; Art. 49(6)", {"occasional": True, "inform_sa": True}),
}, GDPR)

# Directive 95/46/EC, Arts 25-26 (the GDPR's predecessor, repealed by GDPR Art. 94
# with effect from 25 May 2018). Commission adequacy findings (Art. 25(6)) are the
# adequacy list above (decisions continued by GDPR Art. 45(9)).
DIR_SRC = "Directive 95/46/EC (OJ L 281, 23.11.1995, p. 31) Arts 25-26; transposition due by 24 Oct 1998 (Art. 32(1)); repealed by GDPR Art. 94 from 25 May 2018"
dir_tools = table({
    "scc": ("Directive 95/46/EC Art. 26(2), (4); Commission Decisions 2001/497/EC (15 Jun 2001), 2002/16/EC (27 Dec 2001), 2004/915/EC (27 Dec 2004) and 2010/87/EU (5 Feb 2010) on standard contractual clauses",
            "2001-06-15", GDPR_EVE, {}),
    "bcr": ("Directive 95/46/EC Art. 26(2): binding corporate rules as adequate safeguards, authorised by the Member State (Article 29 Working Party, WP74 of 3 Jun 2003)",
            DIR95, GDPR_EVE, {"authorisation": True}),
    "ad-hoc-clauses": ("Directive 95/46/EC Art. 26(2): contractual clauses adduced by the controller, authorised by the Member State", DIR95, GDPR_EVE, {"authorisation": True}),
    "derogation": ("Directive 95/46/EC Art. 26(1) (derogations)", DIR95, GDPR_EVE, {"derogation": True}),
}, DIR95)
dir_derogs = table({
    "consent": ("Directive 95/46/EC Art. 26(1)(a) (unambiguous consent)", {"occasional": True}),
    "contract": ("Directive 95/46/EC Art. 26(1)(b)", {"occasional": True}),
    "contract-in-interest": ("Directive 95/46/EC Art. 26(1)(c)", {"occasional": True}),
    "public-interest": ("Directive 95/46/EC Art. 26(1)(d) (important public interest grounds)", {"occasional": True}),
    "legal-claims": ("Directive 95/46/EC Art. 26(1)(d) (legal claims)", {"occasional": True}),
    "vital-interests": ("Directive 95/46/EC Art. 26(1)(e)", {"occasional": True}),
    "public-register": ("Directive 95/46/EC Art. 26(1)(f)", {"occasional": True}),
}, DIR95, GDPR_EVE)
dir_derogs_note = "restrictive reading, occasional transfers only: Article 29 Working Party, WP114 (25 Nov 2005)"


def adequacy_versions(A):
    # A: country -> list of decision entries (with valid_from/valid_until/scope/source/name/note)
    decs = []
    for c, lst in A.items():
        for d in lst:
            decs.append((c, d))
    events = sorted({d["valid_from"] for _, d in decs} | {day_after(d["valid_until"]) for _, d in decs if d["valid_until"]})
    out = []
    for i, start in enumerate(events):
        end = day_before(events[i + 1]) if i + 1 < len(events) else None
        countries = collections.OrderedDict()
        for c, d in sorted(decs, key=lambda x: x[0]):
            if d["valid_from"] <= start and (d["valid_until"] is None or start <= d["valid_until"]):
                e = collections.OrderedDict()
                e["name"] = d["name"]
                e["decision"] = d["source"]
                e["decision_valid_from"] = d["valid_from"]
                e["decision_valid_until"] = d["valid_until"]
                e["scope"] = d["scope"]
                if "note" in d:
                    e["note"] = d["note"]
                assert c not in countries, (c, start)
                countries[c] = e
        import re
        def num(src):
            m = re.search(r"(\(EU\) \d{4}/\d+|\d{4}/\d+/E[CU])", src)
            return m.group(1) if m else src
        added = [c + " (" + num(d["source"]) + ")" for c, d in decs if d["valid_from"] == start]
        ended = [c for c, d in decs if d["valid_until"] and day_after(d["valid_until"]) == start]
        v = collections.OrderedDict()
        parts = []
        if added: parts.append("in force: " + ", ".join(sorted(added)))
        if ended: parts.append("ended: " + ", ".join(sorted(ended)))
        v["change"] = "; ".join(parts)
        srcs = [d["source"] for c, d in decs if d["valid_from"] == start] + [d["source"] for c, d in decs if d["valid_until"] and day_after(d["valid_until"]) == start]
        v["source"] = "; ".join(sorted(set(srcs)))
        v["valid_from"] = start
        v["valid_until"] = end
        v["countries"] = countries
        out.append(v)
    return out

ref = collections.OrderedDict()
ref["modelled_from"] = modelled_from
ref["groups"] = groups
ref["gdpr"] = collections.OrderedDict([
    ("name", "EU data protection: transfers of personal data to third countries"),
    ("source", "Directive 95/46/EC Arts 25-26 (until 24 May 2018); Regulation (EU) 2016/679 (GDPR) Chapter V (from 25 May 2018)"),
    ("valid_from", DIR95), ("valid_until", None),
    ("home", []),
    ("adequate_groups", ["EEA"]),
    ("subject_groups", ["EEA"]),
    # Jurisdictions the regime treats as part of its own area for a time: the UK in
    # the transition period (its data subjects under the GDPR, transfers to it not
    # third-country transfers) and under the TCA bridge (transfers only).
    ("treated_as_home", [
        entry("Withdrawal Agreement (OJ L 29, 31.1.2020) Arts 126, 127(1): Union law, the GDPR included, applied to and in the UK until the end of the transition period",
              "2020-02-01", "2020-12-31", country="GB", roles=["zone", "subjects"]),
        entry("EU-UK Trade and Cooperation Agreement Art. FINPROV.10A (OJ L 444, 31.12.2020; Art. 782 of OJ L 149, 30.4.2021): transmission of personal data from the Union to the UK was not a transfer to a third country for the specified period, which ended when the UK adequacy decisions were adopted on 28 Jun 2021",
              "2021-01-01", "2021-06-27", country="GB", roles=["zone"]),
    ]),
    ("adequacy", collections.OrderedDict([("name", "EU adequacy decisions (Directive 95/46/EC Art. 25(6); GDPR Art. 45; earlier decisions continued by Art. 45(9))"), ("source", "European Commission, adequacy decisions (commission.europa.eu, data protection, international dimension)"), ("valid_from", "2000-07-26"), ("valid_until", None), ("versions", adequacy_versions(A))])),
    ("data_categories", cats),
    ("versions", [
        period("modelled", DIR_SRC, DIR95, GDPR_EVE, id="dir95", name="Directive 95/46/EC Arts 25-26",
               note="remote administration from a third country is treated as a transfer, as under the GDPR; Member State adequacy findings under Art. 25(2) are not modelled (Commission findings only); derogations: " + dir_derogs_note,
               transfer_tools=dir_tools, derogations=dir_derogs),
        period("modelled", "Regulation (EU) 2016/679 (GDPR, OJ L 119, 4.5.2016) Chapter V (Arts 44-49), applicable from 25 May 2018 (Art. 99(2))", GDPR, None,
               id="gdpr", name="GDPR Chapter V", transfer_tools=tools, derogations=derogs),
    ]),
])

# ---------------------------------------------------------------------------
# Known jurisdictions: every ISO 3166-1 alpha-2 code the library can judge. A site
# in a code outside this table (a user-assigned code such as XK or ZZ, or an
# uninhabited territory without a legal order of its own) is refused by
# jurisdiction.unknown: never allowed by omission.
ISO_CODES = """AF AX AL DZ AS AD AO AI AG AR AM AW AU AT AZ BS BH BD BB BY BE BZ BJ BM BT BO BQ BA BW BR IO BN BG BF BI
KH CM CA CV KY CF TD CL CN CX CC CO KM CG CD CK CR CI HR CU CW CY CZ DK DJ DM DO EC EG SV GQ ER EE ET FK FO FJ FI FR GF PF
TF GA GM GE DE GH GI GR GL GD GP GU GT GG GN GW GY HT VA HN HK HU IS IN ID IR IQ IE IM IL IT JM JP JE JO KZ KE KI KP KR KW
KG LA LV LB LS LR LY LI LT LU MO MK MG MW MY MV ML MT MH MQ MR MU YT MX FM MD MC MN ME MS MA MZ MM NA NR NP NL NC NZ NI NE
NG NU NF MP NO OM PK PW PS PA PG PY PE PH PN PL PT PR QA RE RO RU RW BL SH KN LC MF PM VC WS SM ST SA SN RS SC SL SG SX SK
SI SB SO ZA GS SS ES LK SD SR SJ SZ SE CH SY TW TJ TZ TH TL TG TK TO TT TN TR TM TC TV UG UA AE GB US UM UY UZ VU VE VN VG
VI WF EH YE ZM ZW""".split()
NOT_JURISDICTIONS = {"AQ": "Antarctica (Antarctic Treaty: no territorial sovereignty)", "BV": "Bouvet Island (uninhabited)",
                     "HM": "Heard Island and McDonald Islands (uninhabited)"}
ref["jurisdictions"] = entry(
    "ISO 3166-1 (ISO 3166 Maintenance Agency, www.iso.org/iso-3166-country-codes.html), officially assigned alpha-2 codes",
    "1974-01-01", None,
    name="Jurisdictions the library can judge",
    note="user-assigned codes (XK, ZZ, ...) and " + ", ".join(f"{k} {v}" for k, v in sorted(NOT_JURISDICTIONS.items())) + " are not listed: a site there is refused",
    codes=collections.OrderedDict((c, True) for c in sorted(set(ISO_CODES))),
)
assert len(ref["jurisdictions"]["codes"]) == 246, len(ref["jurisdictions"]["codes"])

# ---------------------------------------------------------------------------
# UK GDPR and Swiss FADP: each exporting regime has its own adequacy list (with
# scope qualifiers and dates), its own home jurisdictions and its own tools.
UKR = "UK GDPR Art. 45 and DPA 2018 s.17A; DPPEC Regulations 2019 Sch. 21 para 4-5 (adequacy regulations carried over on 1 Jan 2021)"
UK_START = "2021-01-01"
UK = {
    "AD": [adeq(UKR, UK_START, name="Andorra")],
    "AR": [adeq(UKR, UK_START, name="Argentina")],
    "CA": [adeq(UKR, UK_START, name="Canada", scope={"recipient_sectors": ["commercial"]}, note="PIPEDA scope (commercial organisations)")],
    "CH": [adeq(UKR, UK_START, name="Switzerland")],
    "FO": [adeq(UKR, UK_START, name="Faroe Islands", note="verify: listed in the UK carry-over per secondary sources")],
    "GG": [adeq(UKR, UK_START, name="Guernsey")],
    "GI": [adeq("DPA 2018 s.17A; DPPEC Regulations 2019 Sch. 21 para 4(1)(c)", UK_START, name="Gibraltar")],
    "IL": [adeq(UKR, UK_START, name="Israel")],
    "IM": [adeq(UKR, UK_START, name="Isle of Man")],
    "JE": [adeq(UKR, UK_START, name="Jersey")],
    "JP": [adeq(UKR, UK_START, name="Japan", scope={"recipient_sectors": ["commercial"]}, note="APPI scope (private sector)")],
    "KR": [adeq("The Data Protection (Adequacy) (Republic of Korea) Regulations 2022, SI 2022/1213", "2022-12-19", name="Republic of Korea",
                scope={"excluded_categories": ["credit"]}, note="PIPA scope; verify exclusions")],
    "NZ": [adeq(UKR, UK_START, name="New Zealand")],
    "US": [adeq("The Data Protection (Adequacy) (United States of America) Regulations 2023, SI 2023/1028 (UK Extension to the EU-US DPF)",
                "2023-10-12", name="United States", scope={"recipient_certification": "UK-US-DPF"},
                note="only organisations certified under the UK Extension to the EU-US DPF")],
    "UY": [adeq(UKR, UK_START, name="Uruguay")],
}
uk_tools = table({
    "idta": ("UK GDPR Art. 46(2)(d); International Data Transfer Agreement (ICO, laid 2 Feb 2022, in force 21 Mar 2022)", "2022-03-21", None, {"tra": True}),
    "uk-addendum": ("UK GDPR Art. 46(2)(d); International Data Transfer Addendum to the EU SCCs (in force 21 Mar 2022)", "2022-03-21", None, {"tra": True}),
    "scc": ("UK GDPR Art. 46(2)(d); the pre-2021 EU SCCs (2001/497/EC, 2004/915/EC, 2010/87/EU) as UK clauses - transitional: contracts concluded on or before 21 Sep 2022, usable until 21 Mar 2024", UK_START, "2024-03-21", {"tra": True}),
    "bcr": ("UK GDPR Art. 46(2)(b), 47", UK_START, None, {"tra": True}),
    "derogation": ("UK GDPR Art. 49(1)", UK_START, None, {"derogation": True}),
}, UK_START)
uk_derogs = table({
    "consent": ("UK GDPR Art. 49(1)(a)", {"occasional": True}),
    "contract": ("UK GDPR Art. 49(1)(b)", {"occasional": True}),
    "contract-in-interest": ("UK GDPR Art. 49(1)(c)", {"occasional": True}),
    "public-interest": ("UK GDPR Art. 49(1)(d), (4); DPA 2018 s.18", {"occasional": True}),
    "legal-claims": ("UK GDPR Art. 49(1)(e)", {"occasional": True}),
    "vital-interests": ("UK GDPR Art. 49(1)(f)", {"occasional": True}),
    "public-register": ("UK GDPR Art. 49(1)(g)", {"occasional": True}),
    "compelling-legitimate-interests": ("UK GDPR Art. 49(1), second subparagraph; Art. 49(6)", {"occasional": True, "inform_sa": True}),
}, UK_START)
ref["uk_gdpr"] = collections.OrderedDict([
    ("name", "UK GDPR Chapter V"),
    ("source", "UK GDPR (retained Regulation (EU) 2016/679) Arts 44-49, in force 1 Jan 2021; ico.org.uk international transfers guidance"),
    ("valid_from", FLOOR), ("valid_until", None),
    ("home", ["GB"]),
    ("adequate_groups", ["EEA"]),
    ("subject_groups", []),
    ("treated_as_home", []),
    ("adequacy", collections.OrderedDict([("name", "UK adequacy regulations (data bridges)"), ("source", "DPA 2018 s.17A; handleygill.co.uk/uk-adequacy-regulations (secondary)"), ("valid_from", UK_START), ("valid_until", None), ("versions", adequacy_versions(UK))])),
    ("versions", [
        period("not_in_force", "European Union (Withdrawal) Act 2018 s.3 and DPPEC Regulations 2019 (SI 2019/419): the UK GDPR exists from the end of the transition period, 1 Jan 2021", FLOOR, "2020-12-31",
               id="eu_law", name="EU law governed UK personal data",
               note="until 31 Dec 2020 UK personal data were governed by EU law - Directive 95/46/EC as implemented by the DPA 1998 (8th principle), then the GDPR, which applied to and in the UK during the transition period (Withdrawal Agreement Art. 127): the gdpr regime decides them"),
        period("modelled", "UK GDPR Chapter V (Arts 44-49) and DPA 2018 ss.17A-18, in force 1 Jan 2021 (DPPEC Regulations 2019, SI 2019/419)", UK_START, None,
               id="ukgdpr", name="UK GDPR Chapter V", transfer_tools=uk_tools, derogations=uk_derogs),
    ]),
])

CHR = "FADP Art. 16(1); Data Protection Ordinance (DPO) Art. 8 and Annex 1 (Federal Council), in force 1 Sep 2023"
CH_START = "2023-09-01"
CH = {c: [adeq(CHR, CH_START, name=n)] for c, n in {
    "AD": "Andorra", "AR": "Argentina", "FO": "Faroe Islands", "GI": "Gibraltar", "GG": "Guernsey", "IM": "Isle of Man",
    "IL": "Israel", "JE": "Jersey", "NZ": "New Zealand", "UY": "Uruguay"}.items()}
CH["CA"] = [adeq(CHR, CH_START, name="Canada", scope={"recipient_sectors": ["commercial"]}, note="PIPEDA or equivalent provincial law (commercial organisations)")]
CH["MC"] = [adeq(CHR, CH_START, name="Monaco", note="verify against the current Annex 1 DPO")]
CH["GB"] = [adeq(CHR, CH_START, name="United Kingdom", note="verify against the current Annex 1 DPO")]
CH["US"] = [adeq("DPO Annex 1 as amended by the Federal Council on 14 Aug 2024 (Swiss-US Data Privacy Framework), in force 15 Sep 2024",
                 "2024-09-15", name="United States", scope={"recipient_certification": "Swiss-US-DPF"},
                 note="only organisations certified under the Swiss-US DPF")]
ch_tools = table({
    "scc": ("FADP Art. 16(2)(d); EU SCCs (2021/914) recognised by the FDPIC with Swiss adaptations", {"safeguards": True}),
    "bcr": ("FADP Art. 16(2)(e) (binding corporate rules approved by the FDPIC)", {"safeguards": True}),
    "certification": ("FADP Art. 16(2); DPO Art. 12 (certified safeguards)", {"safeguards": True}),
    "derogation": ("FADP Art. 17 (exceptions)", {"derogation": True}),
}, CH_START)
ch_derogs = table({
    "consent": ("FADP Art. 17(1)(a) (express consent)", {"occasional": False}),
    "contract": ("FADP Art. 17(1)(b)(1)", {"occasional": False}),
    "contract-in-interest": ("FADP Art. 17(1)(b)(2)", {"occasional": False}),
    "public-interest": ("FADP Art. 17(1)(c)(1)", {"occasional": False}),
    "legal-claims": ("FADP Art. 17(1)(c)(2)", {"occasional": False}),
    "vital-interests": ("FADP Art. 17(1)(d)", {"occasional": False}),
    "made-public": ("FADP Art. 17(1)(e) (data made generally accessible by the data subject)", {"occasional": False}),
    "public-register": ("FADP Art. 17(1)(f)", {"occasional": False}),
}, CH_START)

# The FADP of 19 Jun 1992 (SR 235.1, AS 1993 1945) Art. 6 as revised by the
# Federal Act of 24 Mar 2006 (AS 2007 4983), in force 1 Jan 2008 to 31 Aug 2023.
FADP92 = "FADP of 19 Jun 1992 (SR 235.1, AS 1993 1945) Art. 6 as revised by the Federal Act of 24 Mar 2006 (AS 2007 4983), in force 1 Jan 2008; repealed by the FADP of 25 Sep 2020 from 1 Sep 2023"
CH92_END = "2023-08-31"
ch92_tools = table({
    "scc": ("FADP 1992 Art. 6(2)(a): sufficient safeguards, in particular contractual clauses; the FDPIC must be informed of them (Art. 6(3); VDSG Art. 6)", {"inform_fdpic": True}),
    "bcr": ("FADP 1992 Art. 6(2)(g): data protection rules within a group of companies; the FDPIC must be informed of them (Art. 6(3); VDSG Art. 6)", {"inform_fdpic": True}),
    "derogation": ("FADP 1992 Art. 6(2)(b)-(f) (exceptions)", {"derogation": True}),
}, FLOOR, CH92_END)
ch92_derogs = table({
    "consent": ("FADP 1992 Art. 6(2)(b): consent in the specific case", {"occasional": True}),
    "contract": ("FADP 1992 Art. 6(2)(c): directly connected with the conclusion or performance of a contract, data of a contractual party", {"occasional": False}),
    "public-interest": ("FADP 1992 Art. 6(2)(d): overriding public interest, in the specific case", {"occasional": True}),
    "legal-claims": ("FADP 1992 Art. 6(2)(d): legal claims before the courts, in the specific case", {"occasional": True}),
    "vital-interests": ("FADP 1992 Art. 6(2)(e): life or physical integrity, in the specific case", {"occasional": True}),
    "made-public": ("FADP 1992 Art. 6(2)(f): data made generally accessible by the data subject", {"occasional": False}),
}, FLOOR, CH92_END)
ref["ch_fadp"] = collections.OrderedDict([
    ("name", "Swiss FADP cross-border disclosure"),
    ("source", "Federal Act on Data Protection: FADP 1992 Art. 6 (from 1 Jan 2008 as revised), FADP 2020 Arts 16-17 (from 1 Sep 2023) (bj.admin.ch; fedlex.admin.ch)"),
    ("valid_from", FLOOR), ("valid_until", None),
    ("home", ["CH"]),
    ("adequate_groups", ["EEA"]),
    ("subject_groups", []),
    ("treated_as_home", []),
    ("adequacy", collections.OrderedDict([("name", "Annex 1 DPO: states with adequate protection"), ("source", CHR), ("valid_from", CH_START), ("valid_until", None), ("versions", adequacy_versions(CH))])),
    ("versions", [
        period("modelled", FADP92, FLOOR, CH92_END, id="fadp1992", name="FADP 1992 Art. 6 (as revised in 2006)",
               note="adequate legislation: Switzerland and the EEA states (which implemented Directive 95/46/EC); the FDPIC's non-binding list of further states (VDSG Art. 7) is not modelled, so elsewhere a safeguard or an exception is needed. Access from abroad counts as disclosure abroad.",
               transfer_tools=ch92_tools, derogations=ch92_derogs),
        period("modelled", "FADP of 25 Sep 2020 (SR 235.1) Arts 16-17 and DPO of 31 Aug 2022 (SR 235.11) Art. 8, Annex 1, in force 1 Sep 2023", CH_START, None,
               id="fadp", name="FADP 2020 Arts 16-17", transfer_tools=ch_tools, derogations=ch_derogs),
    ]),
])

# ---------------------------------------------------------------------------
# Localisation and transfer regimes. Each regime's `versions` are its periods:
# contiguous dated entries from the floor (or earlier) to an open end, each with
# a status (modelled / not_in_force / not_modelled) and the fields its rules read.
def versions(*vs):
    return [period(st, src, f, u, **kw) for (st, src, f, u, kw) in vs]

regimes = collections.OrderedDict()

RU_URL = "http://www.consultant.ru/document/cons_doc_LAW_61801/"
RU_ART12 = ("152-FZ Art. 12: cross-border transfer to a state party to Council of Europe Convention 108 or on Roskomnadzor's list of states with adequate protection "
            "(Order No. 274 of 15 Mar 2013; Order No. 128 of 5 Aug 2022 from 1 Mar 2023), otherwise only on the data subject's written consent or another ground of Art. 12(4)")
RU_LOC_242 = "record, systematise, accumulate, store and retrieve Russian citizens' personal data using databases located in Russia"
RU_LOC_23 = "the use of databases located outside Russia for collecting Russian citizens' personal data is prohibited, for operators and processors"
regimes["ru"] = entry("Federal Law 152-FZ of 27 Jul 2006 on Personal Data (in force 26 Jan 2007), Arts 12, 18(5)", "2007-01-26", None,
    name="Russia: localisation of Russian citizens' personal data and cross-border transfers",
    versions=versions(
        ("modelled", "Federal Law 152-FZ of 27 Jul 2006, Art. 12 (in force 26 Jan 2007, Art. 25); no localisation duty before 242-FZ", "2007-01-26", "2015-08-31",
         {"id": "152fz", "localisation": False, "notification": False, "url": RU_URL, "art12": RU_ART12}),
        ("modelled", "Federal Law 242-FZ of 21 Jul 2014 (152-FZ Art. 18(5)), in force 1 Sep 2015 (b1.ru)", "2015-09-01", "2023-02-28",
         {"id": "242fz", "localisation": True, "notification": False, "citation": "152-FZ Art. 18(5) (as introduced by 242-FZ)", "url": RU_URL,
          "wording": RU_LOC_242, "art12": RU_ART12}),
        ("modelled", "Federal Law 266-FZ of 14 Jul 2022 (152-FZ Art. 12(3)-(6): notification of Roskomnadzor before a cross-border transfer, assessment of the recipient), in force 1 Mar 2023", "2023-03-01", "2025-06-30",
         {"id": "266fz", "localisation": True, "notification": True, "citation": "152-FZ Art. 18(5) (as introduced by 242-FZ)", "url": RU_URL,
          "wording": RU_LOC_242, "art12": RU_ART12}),
        ("modelled", "Federal Law 23-FZ of 28 Feb 2025 (152-FZ Art. 18(5)), in force 1 Jul 2025 (denuo.legal)", "2025-07-01", None,
         {"id": "23fz", "localisation": True, "notification": True, "citation": "152-FZ Art. 18(5) (as amended by 23-FZ)", "url": RU_URL,
          "wording": RU_LOC_23, "art12": RU_ART12}),
    ))

CN_SENSITIVE = ["special-category", "health", "genetic", "biometric", "payment", "financial-account", "location", "minor", "cn-sensitive"]
NO_LIMIT = 9223372036854775807  # no volume threshold: every export is in the tier
regimes["cn"] = entry("CSL Art. 37 (from 1 Jun 2017); DSL Art. 31 (from 1 Sep 2021); PIPL Arts 38-40 (from 1 Nov 2021); CAC Provisions on Promoting and Regulating Cross-Border Data Flows (22 Mar 2024)",
    FLOOR, None,
    name="China: outbound transfers of personal information and important data",
    sensitive_categories=CN_SENSITIVE,
    note="volumes are read from dataset.subject_count; the law counts a handler's cumulative exports since 1 January, which the inventory does not hold (the exempt tier owes cn.pipl.cumulative_volume). Sector rules (e.g. PBOC 2011 on personal financial information, NHC 2014 on population health information) are not modelled.",
    versions=versions(
        ("not_in_force", "Cybersecurity Law of 7 Nov 2016 (in force 1 Jun 2017) Art. 37 set the first general rule on exporting personal information and important data", FLOOR, "2017-05-31",
         {"id": "none"}),
        ("modelled", "Cybersecurity Law (CSL) Art. 37, in force 1 Jun 2017: CIIOs store personal information and important data in China and export it after a security assessment", "2017-06-01", "2021-08-31",
         {"id": "csl", "ciio_categories": ["cn-ciio"], "pi": False, "pia": False, "filing": False,
          "citation": "CSL Art. 37", "accepted": {"ciio": ["cn-security-assessment"]}}),
        ("modelled", "Data Security Law (DSL) Art. 31, in force 1 Sep 2021: important data exported under CAC rules", "2021-09-01", "2021-10-31",
         {"id": "dsl", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": False, "pia": False, "filing": False,
          "citation": "CSL Art. 37; DSL Art. 31", "accepted": {"ciio": ["cn-security-assessment"]}}),
        ("modelled", "Personal Information Protection Law (PIPL) Arts 38-40, in force 1 Nov 2021: every export needs a security assessment, a certification or a standard contract, none of which was yet available", "2021-11-01", "2022-08-31",
         {"id": "pipl2021", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": True, "pia": True, "filing": False,
          "citation": "PIPL Art. 38, 40",
          "assessment_over": NO_LIMIT, "sensitive_assessment_over": NO_LIMIT, "exempt_under": 0, "sensitive_exempt_under": 0,
          "accepted": {"ciio": [], "assessment": [], "contract": []}}),
        ("modelled", "CAC Measures for the Security Assessment of Outbound Data Transfers (7 Jul 2022), Art. 4, in force 1 Sep 2022 (cac.gov.cn)", "2022-09-01", "2022-11-03",
         {"id": "cac2022", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": True, "pia": True, "filing": False,
          "citation": "PIPL Art. 38, 40; CAC Security Assessment Measures 2022 Art. 4",
          "assessment_over": 100000, "sensitive_assessment_over": 10000, "exempt_under": 0, "sensitive_exempt_under": 0,
          "url": "http://www.cac.gov.cn/2022-07/07/c_1658811536396503.htm",
          "accepted": {"ciio": ["cn-security-assessment"], "assessment": ["cn-security-assessment"], "contract": ["cn-security-assessment"]}}),
        ("modelled", "SAMR and CAC Announcement on Implementing Personal Information Protection Certification (4 Nov 2022)", "2022-11-04", "2023-05-31",
         {"id": "cac2022-cert", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": True, "pia": True, "filing": False,
          "citation": "PIPL Art. 38, 40; CAC Security Assessment Measures 2022 Art. 4",
          "assessment_over": 100000, "sensitive_assessment_over": 10000, "exempt_under": 0, "sensitive_exempt_under": 0,
          "accepted": {"ciio": ["cn-security-assessment"], "assessment": ["cn-security-assessment"], "contract": ["cn-certification", "cn-security-assessment"]}}),
        ("modelled", "CAC Measures on the Standard Contract for Outbound Transfer of Personal Information (24 Feb 2023), in force 1 Jun 2023", "2023-06-01", "2024-03-21",
         {"id": "cac2023", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": True, "pia": True, "filing": True,
          "citation": "PIPL Art. 38, 40; CAC Security Assessment Measures 2022 Art. 4",
          "assessment_over": 100000, "sensitive_assessment_over": 10000, "exempt_under": 0, "sensitive_exempt_under": 0,
          "url": "http://www.cac.gov.cn/2023-02/24/c_1678884830036813.htm",
          "accepted": {"ciio": ["cn-security-assessment"], "assessment": ["cn-security-assessment"], "contract": ["cn-standard-contract", "cn-certification", "cn-security-assessment"]}}),
        ("modelled", "CAC Provisions on Promoting and Regulating Cross-Border Data Flows of 22 Mar 2024, Arts 5, 7, 8 (jonesday.com; fangdalaw.com)", "2024-03-22", None,
         {"id": "cac2024", "ciio_categories": ["cn-ciio", "cn-important-data"], "pi": True, "pia": True, "filing": True,
          "citation": "PIPL Art. 38; CAC Cross-Border Data Flow Provisions 2024 Arts 5, 7, 8",
          "assessment_over": 1000000, "sensitive_assessment_over": 10000, "exempt_under": 100000, "sensitive_exempt_under": 1,
          "url": "https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm",
          "accepted": {"ciio": ["cn-security-assessment"], "assessment": ["cn-security-assessment"], "contract": ["cn-standard-contract", "cn-certification", "cn-security-assessment"]}}),
    ))

regimes["in_rbi"] = entry("RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 of 6 Apr 2018 (Storage of Payment System Data); FAQ of 26 Jun 2019 (biia.com; azbpartners.com)",
    FLOOR, None, name="India: payment-system data stored only in India",
    categories=["payment"], return_hours=24,
    note="processing abroad allowed if the data is deleted abroad and brought back within one business day or 24 hours",
    versions=versions(
        ("not_in_force", "RBI circular of 6 Apr 2018 created the duty, with a compliance deadline six months later (15 Oct 2018)", FLOOR, "2018-10-14", {"id": "none"}),
        ("modelled", "RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 of 6 Apr 2018: compliance deadline 15 Oct 2018", "2018-10-15", None, {"id": "rbi2018"}),
    ))

regimes["id_gr71"] = entry("Government Regulations 82/2012 (Art. 17(2)) and 71/2019 (Art. 20(2)) on Electronic Systems and Transactions (rouse.com; bakermckenzie)",
    FLOOR, None, name="Indonesia: public electronic systems process and store in Indonesia",
    categories=["government", "public-sector"],
    versions=versions(
        ("not_in_force", "Government Regulation 82/2012 (promulgated 15 Oct 2012) Art. 17(2) set the first data-centre placement duty; Law 11/2008 on Electronic Information and Transactions had none", FLOOR, "2012-10-14", {"id": "none"}),
        ("modelled", "Government Regulation 82/2012 on Electronic Systems and Transactions, Art. 17(2): operators of electronic systems for public services place their data centre and disaster recovery centre in Indonesia (promulgated 15 Oct 2012; transitional period for existing operators not modelled)", "2012-10-15", "2019-10-09",
         {"id": "gr82", "citation": "GR 82/2012 Art. 17(2)"}),
        ("modelled", "Government Regulation 71/2019 on Electronic Systems and Transactions, Art. 20(2) (in force 10 Oct 2019; repealed GR 82/2012)", "2019-10-10", None,
         {"id": "gr71", "citation": "GR 71/2019 Art. 20(2)"}),
    ))

regimes["vn_decree53"] = entry("Decree 53/2022/ND-CP Art. 26 (Cybersecurity Law Art. 26(3)), in force 1 Oct 2022 (freshfields) - verify details",
    FLOOR, None, name="Vietnam: data of Vietnamese users stored in Vietnam", months=24,
    note="sector server duties before it (Decree 72/2013 for certain online services) are not modelled",
    versions=versions(
        ("not_in_force", "Cybersecurity Law 2018 Art. 26(3) (in force 1 Jan 2019) took effect through Decree 53/2022/ND-CP, in force 1 Oct 2022", FLOOR, "2022-09-30", {"id": "none"}),
        ("modelled", "Decree 53/2022/ND-CP Arts 26-27, in force 1 Oct 2022", "2022-10-01", None, {"id": "decree53"}),
    ))
regimes["vn_pdpl"] = entry("Decree 13/2023/ND-CP Art. 25 (from 1 Jul 2023); Personal Data Protection Law 91/2025/QH15 with Decree 356/2025 (from 1 Jan 2026) (recordinglaw.com) - verify details",
    FLOOR, None, name="Vietnam: cross-border transfer impact assessment dossier",
    versions=versions(
        ("not_in_force", "Decree 13/2023/ND-CP on Personal Data Protection (17 Apr 2023, in force 1 Jul 2023) was the first general personal-data regulation with a cross-border transfer dossier", FLOOR, "2023-06-30", {"id": "none"}),
        ("modelled", "Decree 13/2023/ND-CP of 17 Apr 2023 on Personal Data Protection, Art. 25: transfer impact assessment dossier, original sent to the Ministry of Public Security (A05) within 60 days of processing; in force 1 Jul 2023", "2023-07-01", "2025-12-31",
         {"id": "decree13", "dossier": "Decree 13/2023 Art. 25; original to MPS A05 within 60 days", "citation": "Decree 13/2023/ND-CP Art. 25"}),
        ("modelled", "Personal Data Protection Law 91/2025/QH15 with Decree 356/2025, in force 1 Jan 2026", "2026-01-01", None,
         {"id": "pdpl2025", "dossier": "MPS form A05", "citation": "PDP Law 91/2025/QH15; Decree 356/2025"}),
    ))

SA_TOOLS = table({
    "scc": ("Transfer Regulation Art. 5: standard contractual clauses issued by SDAIA", {}),
    "bcr": ("Transfer Regulation Art. 5: binding common rules", {}),
    "certification": ("Transfer Regulation Art. 5: certification of appropriate protection", {}),
}, "2023-09-14")
regimes["sa_pdpl"] = entry("PDPL (Royal Decree M/19 of 9/2/1443H, amended by M/148 of 5/9/1444H) Art. 29, in force 14 Sep 2023; Regulation on Personal Data Transfer outside the Kingdom (published 7 Sep 2023, amended 1 Sep 2024) (bakermckenzie; clydeco.com Mar 2025; dlapiperdataprotection.com)",
    FLOOR, None, name="Saudi Arabia: transfers of personal data outside the Kingdom",
    adequacy=[],
    note="no adequacy list published yet; safeguards require a transfer risk assessment; the one-year compliance grace period to 14 Sep 2024 deferred enforcement, not the law. The regulation's limited no-safeguard cases are not modelled.",
    versions=versions(
        ("not_in_force", "PDPL Art. 43 (as amended): the PDPL, Saudi Arabia's first general personal-data law, entered into force on 14 Sep 2023", FLOOR, "2023-09-13", {"id": "none"}),
        ("modelled", "PDPL Art. 29 and the Transfer Regulation, in force 14 Sep 2023 (compliance grace period to 14 Sep 2024)", "2023-09-14", None,
         {"id": "pdpl", "transfer_tools": SA_TOOLS, "derogations": {}}),
    ))

TR_NEW = "2024-06-01"
TR_CONSENT_END = "2024-08-31"
tr2016_tools = table({
    "derogation": ("KVKK Art. 9(1) (2016): explicit consent of the data subject", {"derogation": True}),
    "bcr": ("KVKK Art. 9(2) (2016): written undertaking of adequate protection with the Board's permission (undertakings; binding corporate rules from the Board's announcement of 10 Apr 2020)", {"approval": True}),
}, "2016-10-07", "2024-05-31")
tr2016_derogs = table({
    "consent": ("KVKK Art. 9(1) (2016): explicit consent", {"occasional": False}),
}, "2016-10-07", "2024-05-31")
tr_tools = table({
    "tr-standard-contract": ("KVKK Art. 9(4) (as amended); By-Law (OG 10 Jul 2024) Art. 14: notify the Authority within 5 business days of signature", {"notify": True}),
    "bcr": ("KVKK Art. 9(4)(c) (as amended): binding corporate rules approved by the Board", {"approval": True}),
    "derogation": ("KVKK Art. 9(6) (as amended): incidental transfers", {"derogation": True}),
}, TR_NEW)
TR_DEROGS = {
    "consent": ("KVKK Art. 9(6)(a): explicit consent, informed of the risks", {"occasional": True}),
    "contract": ("KVKK Art. 9(6)(b)", {"occasional": True}),
    "contract-in-interest": ("KVKK Art. 9(6)(c)", {"occasional": True}),
    "public-interest": ("KVKK Art. 9(6)(ç)", {"occasional": True}),
    "legal-claims": ("KVKK Art. 9(6)(d)", {"occasional": True}),
    "vital-interests": ("KVKK Art. 9(6)(e)", {"occasional": True}),
    "public-register": ("KVKK Art. 9(6)(f)", {"occasional": True}),
}
tr_derogs = table(TR_DEROGS, TR_NEW)
tr_transition_derogs = table(dict(TR_DEROGS, consent=("Law 7499 provisional article: explicit consent under the former KVKK Art. 9(1) remained a basis until 1 Sep 2024", {"occasional": False})), TR_NEW, TR_CONSENT_END)
regimes["tr_kvkk"] = entry("KVKK (Law 6698, OG 29677 of 7 Apr 2016) Art. 9, in force 7 Oct 2016; Law 7499 (OG 12 Mar 2024) amending Art. 9, in force 1 Jun 2024; By-Law on transfers (OG 10 Jul 2024) Art. 14 (prighter.com; mondaq.com)",
    FLOOR, None, name="Turkey: transfers of personal data abroad",
    adequacy=[], notify_business_days=5,
    note="no adequacy decision issued under either version (verify); written undertakings of the 2016 version are represented by mechanism kind bcr (Board permission owed)",
    versions=versions(
        ("not_in_force", "KVKK (Law 6698) Art. 9, Turkey's first general rule on transfers abroad, entered into force on 7 Oct 2016 (six months after publication, Art. 32)", FLOOR, "2016-10-06", {"id": "none"}),
        ("modelled", "KVKK Art. 9 (2016): explicit consent, or an adequate country declared by the Board (none), or a written undertaking with the Board's permission", "2016-10-07", "2024-05-31",
         {"id": "kvkk2016", "citation": "KVKK Art. 9 (2016)", "transfer_tools": tr2016_tools, "derogations": tr2016_derogs}),
        ("modelled", "KVKK Art. 9 as amended by Law 7499, in force 1 Jun 2024; explicit consent under the former Art. 9(1) usable until 1 Sep 2024 (Law 7499 provisional article)", TR_NEW, TR_CONSENT_END,
         {"id": "kvkk2024-transition", "citation": "KVKK Art. 9 (as amended by Law 7499)", "transfer_tools": tr_tools, "derogations": tr_transition_derogs}),
        ("modelled", "KVKK Art. 9 as amended by Law 7499; By-Law on transfers (OG 10 Jul 2024)", "2024-09-01", None,
         {"id": "kvkk2024", "citation": "KVKK Art. 9 (as amended by Law 7499)", "transfer_tools": tr_tools, "derogations": tr_derogs}),
    ))

regimes["de_sgbv393"] = entry("§393 SGB V (Digital-Gesetz), in force 1 Jul 2024 (gesetze-im-internet.de/sgb_5/__393.html)",
    FLOOR, None, name="Germany: cloud processing of health and social data",
    categories=["health", "social"], locations=["DE", "EEA", "CH"], establishment="DE", scheme="C5",
    versions=versions(
        ("not_modelled", "before §393 SGB V, cloud processing of health and social data was governed by §80 SGB X (social data processed on behalf) and the Länder hospital laws, which the library does not model", FLOOR, "2024-06-30", {"id": "none"}),
        ("modelled", "§393(4) SGB V: C5 Type 1 attestation suffices until 30 Jun 2025", "2024-07-01", "2025-06-30", {"id": "sgbv393", "levels": ["type1", "type2"]}),
        ("modelled", "§393(4) SGB V: C5 Type 2 attestation from 1 Jul 2025", "2025-07-01", None, {"id": "sgbv393-type2", "levels": ["type2"]}),
    ))

regimes["fr_secnumcloud"] = entry("Loi n° 2024-449 du 21 mai 2024 (SREN) Art. 31; ANSSI SecNumCloud 3.2 (19.6 immunity from non-European law) (numericite.eu)",
    FLOOR, None, name="France: data requiring a SecNumCloud-qualified offer",
    categories=["fr-state-sensitive"], scheme="SecNumCloud", owners=["EU"],
    note="capital-control thresholds (~24% individual / 39% collective, verify) are approximated by the operator's and every parent's country; a dataset that requires SecNumCloud by its required_certifications is held to these rules on every date (contractual)",
    versions=versions(
        ("not_modelled", "before the SREN law, sensitive State data fell under the 'cloud au centre' doctrine (circulars of the Prime Minister of 5 Jul 2021 and 31 May 2023) and II 901, which the library does not model", FLOOR, "2024-05-22", {"id": "none"}),
        ("modelled", "Loi n° 2024-449 du 21 mai 2024 (SREN) Art. 31, in force 23 May 2024", "2024-05-23", None, {"id": "sren"}),
    ))

ITAR_PROSCRIBED = collections.OrderedDict((c, n) for c, n in sorted({
    "AF": "Afghanistan", "BY": "Belarus", "MM": "Burma", "KH": "Cambodia", "CF": "Central African Republic", "CN": "China",
    "CD": "Democratic Republic of the Congo", "CU": "Cuba", "CY": "Cyprus", "ER": "Eritrea", "HT": "Haiti", "IR": "Iran",
    "IQ": "Iraq", "KP": "North Korea", "LB": "Lebanon", "LY": "Libya", "NI": "Nicaragua", "RU": "Russia (also named in 120.54(a)(5))",
    "SO": "Somalia", "SS": "South Sudan", "SD": "Sudan", "SY": "Syria", "VE": "Venezuela", "ZW": "Zimbabwe"}.items()))
regimes["itar"] = entry("22 CFR Parts 120-130 (ITAR); 22 CFR 120.54(a)(5) (85 FR 3819, FR 2019-27438, effective 25 Mar 2020); 22 CFR 126.1", FLOOR, None,
    name="US ITAR: technical data", categories=["export-controlled", "itar"],
    us_persons_label="sovereign-engine.io/us-persons-only",
    proscribed=ITAR_PROSCRIBED,
    note="22 CFR 126.1 list as of 2025 (eCFR); verify before relying on it - countries are added and removed by Federal Register notice",
    versions=versions(
        ("modelled", "ITAR (22 CFR 120.17 and 125 before the 2020 reorganisation): sending or taking technical data abroad, encrypted or not, is an export; the encryption carve-out did not exist before 25 Mar 2020 (85 FR 3819)", FLOOR, "2020-03-24",
         {"id": "itar", "carveout": False}),
        ("modelled", "22 CFR 120.54(a)(5) (85 FR 3819, effective 25 Mar 2020): end-to-end encrypted storage or transit abroad is not an export, except in a 126.1 country or Russia", "2020-03-25", None,
         {"id": "itar-120.54", "carveout": True}),
    ))
ref["regimes"] = regimes

print(json.dumps(ref, indent=2, ensure_ascii=False))
