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
uk_tools = collections.OrderedDict()
for k, (src, f, u, kw) in sorted({
    "idta": ("UK GDPR Art. 46(2)(d); International Data Transfer Agreement (ICO, laid 2 Feb 2022, in force 21 Mar 2022)", "2022-03-21", None, {}),
    "uk-addendum": ("UK GDPR Art. 46(2)(d); International Data Transfer Addendum to the EU SCCs (in force 21 Mar 2022)", "2022-03-21", None, {}),
    "scc": ("UK GDPR Art. 46(2)(d); the pre-2021 EU SCCs (2001/497/EC, 2004/915/EC, 2010/87/EU) as UK clauses - transitional: contracts concluded on or before 21 Sep 2022, usable until 21 Mar 2024", UK_START, "2024-03-21", {}),
    "bcr": ("UK GDPR Art. 46(2)(b), 47", UK_START, None, {}),
    "derogation": ("UK GDPR Art. 49(1)", UK_START, None, {"derogation": True}),
}.items()):
    uk_tools[k] = entry(src, f, u, **kw)
ref["uk_gdpr"] = collections.OrderedDict([
    ("name", "UK GDPR Chapter V"),
    ("source", "UK GDPR (retained Regulation (EU) 2016/679) Arts 44-49, in force 1 Jan 2021; ico.org.uk international transfers guidance"),
    ("valid_from", UK_START), ("valid_until", None),
    ("home", ["GB"]),
    ("adequate_groups", ["EEA"]),
    ("adequacy", collections.OrderedDict([("name", "UK adequacy regulations (data bridges)"), ("source", "DPA 2018 s.17A; handleygill.co.uk/uk-adequacy-regulations (secondary)"), ("valid_from", UK_START), ("valid_until", None), ("versions", adequacy_versions(UK))])),
    ("transfer_tools", uk_tools),
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
ch_tools = collections.OrderedDict()
for k, (src, kw) in sorted({
    "scc": ("FADP Art. 16(2)(d); EU SCCs (2021/914) recognised by the FDPIC with Swiss adaptations", {}),
    "bcr": ("FADP Art. 16(2)(e) (binding corporate rules approved by the FDPIC)", {}),
    "certification": ("FADP Art. 16(2); DPO Art. 12 (certified safeguards)", {}),
    "derogation": ("FADP Art. 17 (exceptions)", {"derogation": True}),
}.items()):
    ch_tools[k] = entry(src, CH_START, None, **kw)
ref["ch_fadp"] = collections.OrderedDict([
    ("name", "Swiss FADP cross-border disclosure"),
    ("source", "Federal Act on Data Protection (FADP, SR 235.1) Arts 16-17, in force 1 Sep 2023 (bj.admin.ch)"),
    ("valid_from", CH_START), ("valid_until", None),
    ("home", ["CH"]),
    ("adequate_groups", ["EEA"]),
    ("adequacy", collections.OrderedDict([("name", "Annex 1 DPO: states with adequate protection"), ("source", CHR), ("valid_from", CH_START), ("valid_until", None), ("versions", adequacy_versions(CH))])),
    ("transfer_tools", ch_tools),
])

# ---------------------------------------------------------------------------
# Localisation and transfer regimes. Each regime is a list of dated versions
# (contiguous; the last may be open) whose fields the rules read.
def versions(*vs):
    return [entry(src, f, u, **kw) for (src, f, u, kw) in vs]

regimes = collections.OrderedDict()
regimes["ru"] = entry("Federal Law 152-FZ on Personal Data, Art. 18(5)", "2015-09-01", None,
    name="Russia: localisation of Russian citizens' personal data",
    versions=versions(
        ("Federal Law 242-FZ of 21 Jul 2014 (152-FZ Art. 18(5)), in force 1 Sep 2015 (b1.ru)", "2015-09-01", "2025-06-30",
         {"citation": "152-FZ Art. 18(5) (as introduced by 242-FZ)", "url": "http://www.consultant.ru/document/cons_doc_LAW_61801/",
          "wording": "record, systematise, accumulate, store and retrieve Russian citizens' personal data using databases located in Russia"}),
        ("Federal Law 23-FZ of 28 Feb 2025 (152-FZ Art. 18(5)), in force 1 Jul 2025 (denuo.legal)", "2025-07-01", None,
         {"citation": "152-FZ Art. 18(5) (as amended by 23-FZ)", "url": "http://www.consultant.ru/document/cons_doc_LAW_61801/",
          "wording": "the use of databases located outside Russia for collecting Russian citizens' personal data is prohibited, for operators and processors"}),
    ))
regimes["cn"] = entry("PIPL Arts 38-40; CSL Art. 37; DSL Art. 31; CAC Provisions on Promoting and Regulating Cross-Border Data Flows (22 Mar 2024)",
    "2022-09-01", None,
    name="China: outbound transfers of personal information and important data",
    ciio_categories=["cn-ciio", "cn-important-data"],
    sensitive_categories=["special-category", "health", "genetic", "biometric", "payment", "financial-account", "location", "minor", "cn-sensitive"],
    note="volumes are read from dataset.subject_count; the law counts a handler's cumulative exports since 1 January, which the inventory does not hold (limitation: warned as cn.pipl.cumulative_volume)",
    versions=versions(
        ("CAC Measures for the Security Assessment of Outbound Data Transfers (7 Jul 2022), Art. 4, in force 1 Sep 2022; CAC Standard Contract Measures (in force 1 Jun 2023) - simplified, verify",
         "2022-09-01", "2024-03-21",
         {"citation": "PIPL Art. 38, 40; CAC Security Assessment Measures 2022 Art. 4",
          "assessment_over": 100000, "sensitive_assessment_over": 10000, "exempt_under": 0, "sensitive_exempt_under": 0,
          "url": "http://www.cac.gov.cn/2022-07/07/c_1658811536396503.htm"}),
        ("CAC Provisions on Promoting and Regulating Cross-Border Data Flows of 22 Mar 2024, Arts 5, 7, 8 (jonesday.com; fangdalaw.com)",
         "2024-03-22", None,
         {"citation": "PIPL Art. 38; CAC Cross-Border Data Flow Provisions 2024 Arts 5, 7, 8",
          "assessment_over": 1000000, "sensitive_assessment_over": 10000, "exempt_under": 100000, "sensitive_exempt_under": 1,
          "url": "https://www.cac.gov.cn/2024-03/22/c_1712776611775634.htm"}),
    ))
regimes["in_rbi"] = entry("RBI circular DPSS.CO.OD No.2785/06.08.005/2017-2018 of 6 Apr 2018 (Storage of Payment System Data); FAQ of 26 Jun 2019 (biia.com; azbpartners.com)",
    "2018-10-15", None, name="India: payment-system data stored only in India",
    categories=["payment"], return_hours=24,
    note="compliance deadline six months after the circular (RBI: 15 Oct 2018); processing abroad allowed if the data is deleted abroad and brought back within one business day or 24 hours")
regimes["id_gr71"] = entry("Government Regulation 71/2019 on Electronic Systems and Transactions, Art. 20(2) (rouse.com; bakermckenzie)",
    "2019-10-10", None, name="Indonesia: public electronic system operators process and store in Indonesia",
    categories=["government", "public-sector"])
regimes["vn_decree53"] = entry("Decree 53/2022/ND-CP Art. 26 (Cybersecurity Law Art. 26(3)), in force 1 Oct 2022 (freshfields) - verify details",
    "2022-10-01", None, name="Vietnam: data of Vietnamese users stored in Vietnam", months=24)
regimes["vn_pdpl"] = entry("Personal Data Protection Law 91/2025/QH15 with Decree 356/2025, in force 1 Jan 2026 (recordinglaw.com) - verify details",
    "2026-01-01", None, name="Vietnam: cross-border transfer impact assessment dossier", dossier="MPS form A05")
regimes["sa_pdpl"] = entry("PDPL (Royal Decree M/19 of 1443H) Art. 29; Regulation on Personal Data Transfer outside the Kingdom (amended, published 1 Sep 2024) (bakermckenzie; clydeco.com Mar 2025)",
    "2024-09-14", None, name="Saudi Arabia: transfers of personal data outside the Kingdom",
    adequacy=[], transfer_tools={"scc": True, "bcr": True, "certification": True},
    note="no adequacy list published yet; safeguards require a transfer risk assessment")
regimes["tr_kvkk"] = entry("Law 7499 (OG 12 Mar 2024) amending KVKK Art. 9, in force 1 Jun 2024; By-Law on transfers (OG 10 Jul 2024) Art. 14 (prighter.com)",
    "2024-06-01", None, name="Turkey: transfers of personal data abroad",
    adequacy=[], notify_business_days=5,
    transfer_tools={"tr-standard-contract": "notify", "bcr": "approval", "derogation": "incidental"},
    note="no adequacy decision issued yet (verify)")
regimes["de_sgbv393"] = entry("§393 SGB V (Digital-Gesetz), in force 1 Jul 2024 (gesetze-im-internet.de/sgb_5/__393.html)",
    "2024-07-01", None, name="Germany: cloud processing of health and social data",
    categories=["health", "social"], locations=["DE", "EEA", "CH"], establishment="DE", scheme="C5",
    versions=versions(
        ("§393(4) SGB V: C5 Type 1 attestation suffices until 30 Jun 2025", "2024-07-01", "2025-06-30", {"levels": ["type1", "type2"]}),
        ("§393(4) SGB V: C5 Type 2 attestation from 1 Jul 2025", "2025-07-01", None, {"levels": ["type2"]}),
    ))
regimes["fr_secnumcloud"] = entry("Loi n° 2024-449 du 21 mai 2024 (SREN) Art. 31; ANSSI SecNumCloud 3.2 (19.6 immunity from non-European law) (numericite.eu)",
    "2024-05-23", None, name="France: data requiring a SecNumCloud-qualified offer",
    categories=["fr-state-sensitive"], scheme="SecNumCloud", owners=["EU"],
    note="capital-control thresholds (~24% individual / 39% collective, verify) are approximated by the operator's and every parent's country")
regimes["itar"] = entry("22 CFR 120.54(a)(5) (85 FR 3819, FR 2019-27438, effective 25 Mar 2020); 22 CFR 126.1", "2020-03-25", None,
    name="US ITAR: technical data", categories=["export-controlled", "itar"],
    us_persons_label="sovereign-engine.io/us-persons-only",
    proscribed=collections.OrderedDict((c, n) for c, n in sorted({
        "AF": "Afghanistan", "BY": "Belarus", "MM": "Burma", "KH": "Cambodia", "CF": "Central African Republic", "CN": "China",
        "CD": "Democratic Republic of the Congo", "CU": "Cuba", "CY": "Cyprus", "ER": "Eritrea", "HT": "Haiti", "IR": "Iran",
        "IQ": "Iraq", "KP": "North Korea", "LB": "Lebanon", "LY": "Libya", "NI": "Nicaragua", "RU": "Russia (also named in 120.54(a)(5))",
        "SO": "Somalia", "SS": "South Sudan", "SD": "Sudan", "SY": "Syria", "VE": "Venezuela", "ZW": "Zimbabwe"}.items())),
    note="22 CFR 126.1 list as of 2025 (eCFR); verify before relying on it - countries are added and removed by Federal Register notice")
ref["regimes"] = regimes

print(json.dumps(ref, indent=2, ensure_ascii=False))
