package report

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-engine/sovereign/audit"
)

// EvidenceSummary describes a verified evidence pack.
type EvidenceSummary struct {
	Origin     string   `json:"origin"`
	TreeSize   uint64   `json:"tree_size"`
	RootHash   string   `json:"root_hash"`
	Query      Query    `json:"query"`
	Complete   bool     `json:"complete"`
	Selected   uint64   `json:"selected"`
	Entries    uint64   `json:"entries"`
	KeyIDs     []string `json:"key_ids"`
	KeysInPack bool     `json:"keys_from_pack"`
	// Checkpoint is the pack's signed checkpoint, with any witness
	// cosignatures (see audit.CheckCosigned).
	Checkpoint string `json:"checkpoint,omitempty"`
}

// EvidenceError is a failed check of an evidence pack: Member is the archive
// member, Index the entry (-1 when none).
type EvidenceError struct {
	Member string
	Index  int64
	Err    error
}

// Error names the member, and the entry when there is one.
func (e *EvidenceError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("evidence pack: %s: entry %d: %v", e.Member, e.Index, e.Err)
	}
	return fmt.Sprintf("evidence pack: %s: %v", e.Member, e.Err)
}

// Unwrap returns the check's own error.
func (e *EvidenceError) Unwrap() error { return e.Err }

// badEvidence is an *EvidenceError with a formatted message.
func badEvidence(member string, index int64, format string, args ...any) error {
	return &EvidenceError{Member: member, Index: index, Err: fmt.Errorf(format, args...)}
}

// Bounds on what VerifyEvidence holds of a pack. A pack comes from whoever
// hands it to the auditor, so its tar headers and gzip stream may claim
// anything: each member but the records is read whole, so each is held to a
// size from its tar header before a byte of it is read (a member was read up
// to 1 GiB, five of them in a pack); records are read line by line
// (maxEvidenceLine at most: an entry, its proof and a body); the record files are checked against the
// manifest by a running digest of their names, not a list. What is held is
// then a few MiB whatever the pack's size (TestEvidenceMemoryIsBounded).
const (
	// maxEvidenceLine bounds a line of a record file: an entry with its proof
	// (4 x audit.MaxEntrySize covers both, escaped) and the record's body.
	maxEvidenceLine = 4*audit.MaxEntrySize + audit.MaxBodySize
	// MaxEvidenceCheckpoint bounds checkpoint (a signed note with its
	// witnesses' cosignatures).
	MaxEvidenceCheckpoint = 1 << 20
	// MaxEvidencePublicKeys bounds signing.pub (every key that signed the
	// log, PEM).
	MaxEvidencePublicKeys = 1 << 20
	// MaxEvidenceSmall bounds log.vkey and query.json.
	MaxEvidenceSmall = 64 << 10
	// MaxEvidenceManifest bounds manifest.json (one name per 8,192 records:
	// 16 MiB lists some 500,000 files, four billion records).
	MaxEvidenceManifest = 16 << 20
	// maxMemberName bounds a member's name (a PAX header may carry a name of
	// up to 1 MiB; a pack's names are short).
	maxMemberName = 256
)

// VerifyEvidence checks an evidence pack offline (see the pack's README).
// keys and v are the auditor's own; nil means those in the pack. It holds a
// bounded amount of the pack in memory, whatever it claims (see
// MaxEvidenceManifest and the other bounds).
func VerifyEvidence(ctx context.Context, r io.Reader, keys []crypto.PublicKey, v note.Verifier) (*EvidenceSummary, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, &EvidenceError{Member: "archive", Index: -1, Err: err}
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	ev := &evidenceVerifier{keys: keys, v: v, sum: &EvidenceSummary{}, members: map[string]bool{}, chunkNames: sha256.New()}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &EvidenceError{Member: "archive", Index: -1, Err: err}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(h.Name) > maxMemberName {
			return nil, badEvidence(h.Name[:maxMemberName]+"…", -1, "member name of %d bytes: not a member of an evidence pack", len(h.Name))
		}
		if err := ev.member(path.Clean(h.Name), h.Size, tr); err != nil {
			return nil, err
		}
	}
	if err := ev.finish(); err != nil {
		return nil, err
	}
	return ev.sum, nil
}

// evidenceVerifier checks a pack as it streams past: the members before the
// records say what the records are checked against (start), each record is
// checked as it is read (checkLine), and the manifest against what was seen
// (finish).
type evidenceVerifier struct {
	// keys and v are the auditor's, or nil for the pack's.
	keys []crypto.PublicKey
	v    note.Verifier
	sum  *EvidenceSummary

	cpRaw, pubPEM, vkey []byte
	q                   *EvidenceQuery
	manifest            *EvidenceManifest
	members             map[string]bool

	// Set by start, once the records begin.
	cp   *audit.Checkpoint
	ks   *audit.KeySet
	skew time.Duration

	// The records seen so far: chunkNames digests the names of the record
	// files in order ("name\n" each), chunks counts them, lastChunk is the
	// last (names must increase, so none repeats).
	next       uint64
	seen       bool
	chunks     int
	chunkNames hash.Hash
	lastChunk  string
	lastTime   time.Time
	lineBuf    []byte
}

// member reads one archive member.
func (ev *evidenceVerifier) member(name string, size int64, r io.Reader) error {
	isRecords := strings.HasPrefix(name, EvidenceRecordsDir) && strings.HasSuffix(name, ".jsonl")
	readAll := func() ([]byte, error) {
		limit := int64(MaxEvidenceSmall)
		switch name {
		case EvidenceCheckpoint:
			limit = MaxEvidenceCheckpoint
		case EvidencePublicKeys:
			limit = MaxEvidencePublicKeys
		case EvidenceManifestFile:
			limit = MaxEvidenceManifest
		}
		if size > limit {
			return nil, fmt.Errorf("%d bytes, over the limit of %d", size, limit)
		}
		return io.ReadAll(io.LimitReader(r, size))
	}
	// Each member once, and nothing but records and the manifest after the
	// first records: a second query.json or checkpoint placed later would
	// change what the already-checked records were checked against. Record
	// files are not kept in the map (there may be many): their names must
	// increase instead.
	if !isRecords {
		if ev.members[name] {
			return badEvidence(name, -1, "appears twice in the pack")
		}
		ev.members[name] = true
	} else if ev.chunks > 0 && name <= ev.lastChunk {
		return badEvidence(name, -1, "appears twice in the pack, or after %s", ev.lastChunk)
	}
	if ev.cp != nil && !isRecords && name != EvidenceManifestFile {
		return badEvidence(name, -1, "comes after the records")
	}
	var err error
	switch {
	case name == EvidenceReadme:
	case name == EvidenceCheckpoint:
		ev.cpRaw, err = readAll()
	case name == EvidencePublicKeys:
		ev.pubPEM, err = readAll()
	case name == EvidenceLogKey:
		ev.vkey, err = readAll()
	case name == EvidenceQueryFile:
		var b []byte
		if b, err = readAll(); err == nil {
			ev.q = &EvidenceQuery{}
			if jerr := json.Unmarshal(b, ev.q); jerr != nil {
				return badEvidence(name, -1, "%w", jerr)
			}
		}
	case isRecords:
		return ev.records(name, r)
	case name == EvidenceManifestFile:
		var b []byte
		if b, err = readAll(); err == nil {
			ev.manifest = &EvidenceManifest{}
			if jerr := json.Unmarshal(b, ev.manifest); jerr != nil {
				return badEvidence(name, -1, "%w", jerr)
			}
		}
	default:
		return badEvidence(name, -1, "not a member of an evidence pack")
	}
	if err != nil {
		return &EvidenceError{Member: name, Index: -1, Err: err}
	}
	return nil
}

// records checks a records/NNNNNNNN.jsonl member, line by line.
func (ev *evidenceVerifier) records(name string, r io.Reader) error {
	if err := ev.start(); err != nil {
		return err
	}
	if ev.manifest != nil {
		return badEvidence(name, -1, "after the manifest")
	}
	ev.chunks++
	ev.lastChunk = name
	io.WriteString(ev.chunkNames, name+"\n")
	// One line buffer for every record file: a new 1 MiB buffer per file
	// made a pack of 100,000 empty files cost 100 MiB and 90 s.
	if ev.lineBuf == nil {
		ev.lineBuf = make([]byte, 0, 64<<10)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(ev.lineBuf, maxEvidenceLine)
	for sc.Scan() {
		if err := ev.checkLine(name, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return badEvidence(name, -1, "%w", err)
	}
	return nil
}

// start sets up, before the first record, what the records are checked
// against: the keys (the auditor's, or else the pack's), the checkpoint and
// the query.
func (ev *evidenceVerifier) start() error {
	if ev.cp != nil {
		return nil
	}
	if ev.cpRaw == nil || ev.q == nil || (ev.keys == nil && ev.pubPEM == nil) || (ev.v == nil && ev.vkey == nil) {
		return badEvidence(EvidenceRecordsDir, -1, "records come before the checkpoint, keys and query.json")
	}
	var err error
	if ev.keys == nil {
		ev.sum.KeysInPack = true
		if ev.keys, err = audit.ParsePublicKeys(ev.pubPEM); err != nil {
			return badEvidence(EvidencePublicKeys, -1, "%w", err)
		}
	}
	if ev.v == nil {
		if ev.v, err = audit.NoteVerifier(string(ev.vkey)); err != nil {
			return badEvidence(EvidenceLogKey, -1, "%w", err)
		}
	}
	if ev.cp, err = audit.ParseCheckpoint(ev.cpRaw, ev.v); err != nil {
		return badEvidence(EvidenceCheckpoint, -1, "%w", err)
	}
	ev.sum.Checkpoint = string(ev.cpRaw)
	if ev.ks, err = audit.NewKeySet(ev.keys...); err != nil {
		return badEvidence(EvidencePublicKeys, -1, "%w", err)
	}
	if err := ev.checkQuery(); err != nil {
		return err
	}
	cp, q := ev.cp, ev.q
	ev.next = q.FirstIndex
	ev.sum.Origin, ev.sum.TreeSize, ev.sum.RootHash = cp.Origin, cp.Size, fmt.Sprintf("%x", cp.Root)
	ev.sum.Query, ev.sum.Complete, ev.sum.KeyIDs = q.Query, q.Complete, ev.ks.KeyIDs()
	return nil
}

// checkQuery checks query.json against the checkpoint: its window fits the
// tree and, for a complete pack, is bounded as a complete one must be.
func (ev *evidenceVerifier) checkQuery() error {
	cp, q := ev.cp, ev.q
	if q.TreeSize != cp.Size {
		return badEvidence(EvidenceQueryFile, -1, "tree_size %d, the checkpoint's %d", q.TreeSize, cp.Size)
	}
	var err error
	if ev.skew, err = time.ParseDuration(q.TimeSkew); err != nil {
		return badEvidence(EvidenceQueryFile, -1, "time_skew: %w", err)
	}
	if q.FirstIndex > q.EndIndex || q.EndIndex > cp.Size {
		return badEvidence(EvidenceQueryFile, -1, "index window [%d, %d) does not fit the tree of %d", q.FirstIndex, q.EndIndex, cp.Size)
	}
	if !q.Complete {
		return nil
	}
	// A complete window is bounded by proven entries: the first and the last
	// of the log where the period is open at that end, and otherwise
	// boundary entries whose times are checked in checkTimes. So it is never
	// empty in a non-empty log.
	if cp.Size > 0 && q.EndIndex == q.FirstIndex {
		return badEvidence(EvidenceQueryFile, -1, "a complete pack of a non-empty log cannot hold an empty window")
	}
	if q.Query.From.IsZero() && q.FirstIndex != 0 {
		return badEvidence(EvidenceQueryFile, -1, "a complete pack without a start must begin at entry 0, not %d", q.FirstIndex)
	}
	if q.Query.To.IsZero() && q.EndIndex != cp.Size {
		return badEvidence(EvidenceQueryFile, -1, "a complete pack without an end must reach the checkpoint's size %d, not %d", cp.Size, q.EndIndex)
	}
	return nil
}

// checkLine checks one record of the pack: its place in the window, its
// inclusion proof, its signature and its role.
func (ev *evidenceVerifier) checkLine(member string, raw []byte) error {
	cp, q := ev.cp, ev.q
	var l EvidenceLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return badEvidence(member, -1, "line: %w", err)
	}
	idx := int64(l.Index)
	if ev.seen && l.Index < ev.next {
		return badEvidence(member, idx, "index out of order or repeated (expected at least %d)", ev.next)
	}
	if q.Complete && l.Index != ev.next {
		return badEvidence(member, idx, "a complete pack must hold every entry of [%d, %d): entry %d is missing", q.FirstIndex, q.EndIndex, ev.next)
	}
	if l.Index < q.FirstIndex || l.Index >= q.EndIndex {
		return badEvidence(member, idx, "outside the index window [%d, %d)", q.FirstIndex, q.EndIndex)
	}
	ev.seen, ev.next = true, l.Index+1
	entry := []byte(l.Entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, l.Index, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), l.Proof, cp.Root); err != nil {
		return badEvidence(member, idx, "inclusion proof does not lead to the checkpoint's root: %w", err)
	}
	env, err := audit.DecodeEnvelope(entry)
	if err != nil {
		return badEvidence(member, idx, "%w", err)
	}
	if err := ev.ks.Verify(env); err != nil {
		return badEvidence(member, idx, "%w", err)
	}
	ref, err := audit.RecordBody(env.RecordJSON)
	if err != nil {
		return badEvidence(member, idx, "%w", err)
	}
	var body []byte
	switch {
	case ref == nil && l.Body != nil:
		return badEvidence(member, idx, "a body for a record that names none")
	case ref != nil && l.Body == nil:
		return badEvidence(member, idx, "the record's body %s is missing", ref.SHA256)
	case ref != nil:
		if err := audit.CheckBody(ref, l.Body); err != nil {
			return badEvidence(member, idx, "%w", err)
		}
		body = l.Body
	}
	rec, err := audit.ResolveRecord(env.RecordJSON, body)
	if err != nil {
		return badEvidence(member, idx, "%w", err)
	}
	row, err := parseRow(rec)
	if err != nil {
		return badEvidence(member, idx, "%w", err)
	}
	row.Index = l.Index
	match := q.Query.matches(row)
	switch l.Role {
	case "selected":
		if !match {
			return badEvidence(member, idx, "marked selected but outside the query")
		}
		ev.sum.Selected++
	case "context":
		if !q.Complete {
			return badEvidence(member, idx, "a context entry in a pack that is not complete")
		}
		if match {
			return badEvidence(member, idx, "in the query but not marked selected")
		}
	default:
		return badEvidence(member, idx, "role %q", l.Role)
	}
	if q.Complete {
		if err := ev.checkTimes(member, l.Index, row.Time); err != nil {
			return err
		}
	}
	ev.sum.Entries++
	return nil
}

// checkTimes checks, in a complete pack, that record times are in index
// order to within the skew and that the window's first and last entries lie
// outside the period by the skew: then no record of the period can be
// missing.
func (ev *evidenceVerifier) checkTimes(member string, index uint64, t time.Time) error {
	cp, q, skew, idx := ev.cp, ev.q, ev.skew, int64(index)
	if !ev.lastTime.IsZero() && t.Before(ev.lastTime.Add(-skew)) {
		return badEvidence(member, idx, "record time %s is earlier than a preceding record's by more than time_skew %s", t, skew)
	}
	if t.After(ev.lastTime) {
		ev.lastTime = t
	}
	if index == q.FirstIndex && index > 0 && !q.Query.From.IsZero() && !t.Before(q.Query.From.Add(-skew)) {
		return badEvidence(member, idx, "the first entry of the window is not before the period less time_skew: earlier records may be missing")
	}
	if index+1 == q.EndIndex && q.EndIndex < cp.Size && !q.Query.To.IsZero() && t.Before(q.Query.To.Add(skew)) {
		return badEvidence(member, idx, "the last entry of the window is not after the period plus time_skew: later records may be missing")
	}
	return nil
}

// finish checks, at the end of the pack, that the manifest lists what was
// read and that a complete pack held its whole window.
func (ev *evidenceVerifier) finish() error {
	if err := ev.start(); err != nil {
		return err
	}
	m, sum, q := ev.manifest, ev.sum, ev.q
	if m == nil {
		return badEvidence(EvidenceManifestFile, -1, "missing")
	}
	if m.Selected != sum.Selected || m.Entries != sum.Entries {
		return badEvidence(EvidenceManifestFile, -1, "says %d selected of %d entries, the pack holds %d of %d", m.Selected, m.Entries, sum.Selected, sum.Entries)
	}
	listed := sha256.New()
	for _, c := range m.Chunks {
		io.WriteString(listed, c+"\n")
	}
	if len(m.Chunks) != ev.chunks || !bytes.Equal(listed.Sum(nil), ev.chunkNames.Sum(nil)) {
		return badEvidence(EvidenceManifestFile, -1, "lists %d record files, the pack holds %d (or others than listed)", len(m.Chunks), ev.chunks)
	}
	if q.Complete && ev.next != q.EndIndex {
		return badEvidence(EvidenceRecordsDir, int64(ev.next), "a complete pack must hold every entry of [%d, %d)", q.FirstIndex, q.EndIndex)
	}
	return nil
}
