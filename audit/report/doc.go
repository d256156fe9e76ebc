// Package report presents the audit log to an auditor: it selects the
// records of a period and scope, verifies what it reads against a signed
// checkpoint (audit.ScanWindow, or audit.VerifyLog over the whole log), and
// writes what was decided as a report, or as an evidence pack that
// VerifyEvidence checks offline (docs/reports.md).
//
// # Rows
//
// A Row is what a report knows of one record: the record's own fields, and
// the tenant, datasets, sites, outcome and rules it derives from the
// request and result. A Summary counts the rows of the period and lists its
// denials, overrides and policy timeline.
//
// # Bytes
//
// Write writes one of the Formats to the writer it is given and nothing
// else: JSON ({"format":"sovereign-audit-report/v1","records":[…],
// "summary":{…}}), CSV (the CSVColumns), a self-contained HTML page, a PDF,
// or an evidence pack: a gzip'd tar of README.md, checkpoint, signing.pub,
// log.vkey, query.json, records/NNNNNNNN.jsonl (each entry byte for byte
// with its inclusion proof) and manifest.json.
package report
