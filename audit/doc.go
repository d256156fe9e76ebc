// Package audit remembers: every decision and every bundle or inventory change
// becomes a signed record in an append-only Tessera log whose signed
// checkpoints and tiles let an auditor verify it offline (DESIGN §5).
//
// # Entries
//
// A log entry is the canonical JSON (see Canonicalize) of an envelope:
//
//	{"key_id":"<hex sha256 of the signer's PKIX public key>",
//	 "record":{…canonical record…},
//	 "signature":"<std base64 signature over the record's bytes>"}
//
// The bytes of "record" are exactly the bytes signed: an Ed25519 signature
// over the message itself, or ECDSA / RSA over its SHA-256 for KMS keys. The
// Receipt's EntrySHA256 is the SHA-256 of the whole entry; the Merkle leaf is
// the RFC 6962 hash of it. docs/audit.md describes the record's fields.
//
// A record whose entry would exceed MaxEntrySize (the C2SP tlog-tiles limit)
// is version 2: its request and result are a body, the canonical JSON
// {"request":…,"result":…} stored under its SHA-256 in log/bodies/, and the
// signed record names it ({"body":{"sha256","size"},…,"version":2}).
//
// # Files
//
// The data directory holds signing.key (0600, optionally encrypted),
// signing.pub (every public key that signed records, PEM), log.key (0600, the
// checkpoint note key), log.vkey (its verifier key) and log/ (the POSIX
// Tessera log in the C2SP tlog-tiles layout, and bodies/ beside its tiles).
// An auditor needs log/, signing.pub and log.vkey, nothing else.
package audit
