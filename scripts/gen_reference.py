#!/usr/bin/env python3
# Generates policies/reference/data.json, the dated reference data of the built-in
# policy bundle: jurisdiction groups as dated versions (one per period with no
# membership change), EU adequacy decisions with scope qualifiers, GDPR data
# categories, transfer tools and derogations. Every entry carries source,
# valid_from and valid_until. Edit the tables here, then run `make reference`;
# policies/policies_test.go checks the shape and the dates of the result.
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
    "US": [
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
    "personal": ("GDPR Art. 4(1)", False),
    "special-category": ("GDPR Art. 9(1)", True),
    "health": ("GDPR Art. 4(15), 9(1)", True),
    "genetic": ("GDPR Art. 4(13), 9(1)", True),
    "biometric": ("GDPR Art. 4(14), 9(1)", True),
    "criminal-offence": ("GDPR Art. 10", False),
    "payment": ("GDPR Art. 4(1): payment and account data relate to identified card and account holders", False),
    "credit": ("GDPR Art. 4(1): credit information relates to identified borrowers", False),
}
for k in sorted(C):
    src, special = C[k]
    cats[k] = entry(src, GDPR, None, special_category=special)

tools = collections.OrderedDict()
T = {
    "scc": ("GDPR Art. 46(2)(c); Commission Implementing Decision (EU) 2021/914 (standard contractual clauses)", {}),
    "bcr": ("GDPR Art. 46(2)(b), 47 (binding corporate rules)", {}),
    "ad-hoc-clauses": ("GDPR Art. 46(3)(a) (contractual clauses authorised by the supervisory authority)", {"sa_authorisation": True}),
    "code-of-conduct": ("GDPR Art. 40, 46(2)(e) (approved code of conduct with binding commitments)", {}),
    "certification": ("GDPR Art. 42, 46(2)(f) (approved certification mechanism with binding commitments)", {}),
    "derogation": ("GDPR Art. 49(1) (derogations for specific situations)", {"derogation": True}),
}
for k in sorted(T):
    src, kw = T[k]
    tools[k] = entry(src, GDPR, None, **kw)

derogs = collections.OrderedDict()
D = {
    "consent": "GDPR Art. 49(1)(a)",
    "contract": "GDPR Art. 49(1)(b)",
    "contract-in-interest": "GDPR Art. 49(1)(c)",
    "public-interest": "GDPR Art. 49(1)(d)",
    "legal-claims": "GDPR Art. 49(1)(e)",
    "vital-interests": "GDPR Art. 49(1)(f)",
    "public-register": "GDPR Art. 49(1)(g)",
    "compelling-legitimate-interests": "GDPR Art. 49(1), second subparagraph",
}
for k in sorted(D):
    derogs[k] = entry(D[k], GDPR, None)


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
ref["groups"] = groups
ref["gdpr"] = collections.OrderedDict([
    ("adequacy", collections.OrderedDict([("name", "EU adequacy decisions (GDPR Art. 45; earlier decisions continued by Art. 45(9))"), ("source", "European Commission, adequacy decisions (commission.europa.eu, data protection, international dimension)"), ("valid_from", "2000-07-26"), ("valid_until", None), ("versions", adequacy_versions(A))])),
    ("data_categories", cats),
    ("transfer_tools", tools),
    ("derogations", derogs),
])
print(json.dumps(ref, indent=2, ensure_ascii=False))
