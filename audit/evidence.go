package audit

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/transparency-dev/tessera/api/layout"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Members of an evidence pack, in the order they are written.
const (
	EvidenceReadme       = "README.md"
	EvidenceCheckpoint   = "checkpoint"
	EvidencePublicKeys   = SigningPublicKeysFile
	EvidenceLogKey       = LogVerifierKeyFile
	EvidenceQueryFile    = "query.json"
	EvidenceRecordsDir   = "records/"
	EvidenceManifestFile = "manifest.json"
)

// evidenceChunk is how many records one records/NNNNNNNN.jsonl holds.
const evidenceChunk = 8192

// EvidenceQuery is query.json: what the pack was asked to hold.
type EvidenceQuery struct {
	Format   string      `json:"format"`
	Query    ReportQuery `json:"query"`
	TimeSkew string      `json:"time_skew"`
	// Complete is true when the query selects by time alone: the pack then
	// holds every entry of the index window [FirstIndex, EndIndex), so that
	// it proves no record of the period is left out (see docs/reports.md).
	// A filtered pack holds only the selected records.
	Complete   bool   `json:"complete"`
	FirstIndex uint64 `json:"first_index"`
	EndIndex   uint64 `json:"end_index"`
	TreeSize   uint64 `json:"tree_size"`
}

// EvidenceManifest is manifest.json, written last.
type EvidenceManifest struct {
	Format   string   `json:"format"`
	Selected uint64   `json:"selected"`
	Entries  uint64   `json:"entries"`
	Chunks   []string `json:"chunks"`
}

// EvidenceLine is one line of records/*.jsonl. Entry is the log entry byte
// for byte (a canonical JSON envelope); Proof is its inclusion proof against
// the pack's checkpoint, leaf to root.
type EvidenceLine struct {
	Index uint64          `json:"index"`
	Role  string          `json:"role"` // "selected", or "context": in the index window, outside the query
	Entry json.RawMessage `json:"entry"`
	Proof [][]byte        `json:"proof"`
}

const evidenceReadme = `# Sovereign audit evidence pack

This archive holds records of a Sovereign audit log, each with an inclusion proof
against a signed checkpoint of the log, and everything needed to check them offline:

| member | what |
|---|---|
| checkpoint | the signed checkpoint (C2SP tlog-checkpoint) the proofs lead to |
| signing.pub | PEM public keys of the record signers |
| log.vkey | the checkpoint verifier key (note verifier, origin+hash+key) |
| query.json | the period and filters selected, the index window, whether the pack is complete |
| records/NNNNNNNN.jsonl | one JSON line per entry: index, role, the entry byte for byte, inclusion proof (base64 hashes) |
| manifest.json | counts and the list of record files |

To check it:

    sovereign audit verify --evidence pack.tar.gz [--public-key signing.pub --log-key log.vkey]

Pass the keys you already trust: without them the keys inside the pack are used, and
the command prints their ids for you to compare.

Checks: the checkpoint's signature; for every entry, its record signature and that
its RFC 6962 leaf hash SHA-256(0x00 || entry) with the proof gives the checkpoint's
root hash at that index; that selected records match the query. A complete pack
(query by time only) also holds every entry of the index window and the entries
just outside the period at both ends, which shows that no record of the period is
missing, given record times in index order to within time_skew.
`

type evidenceSink struct {
	ctx      context.Context
	gz       *gzip.Writer
	tw       *tar.Writer
	cp       *Checkpoint
	nodes    *nodeReader
	complete bool
	// checkedFirst: the window's first entry's proof was checked.
	checkedFirst bool
	buf          bytes.Buffer
	inChunk      int
	manifest     EvidenceManifest
	line         EvidenceLine
	now          time.Time
}

func newEvidenceSink(w io.Writer, o ReportOptions, cp *Checkpoint, lo, hi uint64) (*evidenceSink, error) {
	if len(o.PublicKeysPEM) == 0 || o.LogVerifierKey == "" {
		return nil, errors.New("evidence: the public keys (PEM) and the log verifier key are required, to go in the pack")
	}
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	s := &evidenceSink{gz: gz, tw: tar.NewWriter(gz), cp: cp, nodes: newNodeReader(o.Source, cp.Size),
		complete: !o.Query.Filtered(), manifest: EvidenceManifest{Format: ReportFormatVersion, Chunks: []string{}}, now: time.Now().UTC()}
	skew := o.TimeSkew
	q, err := json.MarshalIndent(EvidenceQuery{Format: ReportFormatVersion, Query: o.Query, TimeSkew: skew.String(),
		Complete: s.complete, FirstIndex: lo, EndIndex: hi, TreeSize: cp.Size}, "", "  ")
	if err != nil {
		return nil, err
	}
	vkey := strings.TrimSpace(o.LogVerifierKey) + "\n"
	for _, m := range []struct {
		name string
		data []byte
	}{
		{EvidenceReadme, []byte(evidenceReadme)},
		{EvidenceCheckpoint, cp.Raw},
		{EvidencePublicKeys, o.PublicKeysPEM},
		{EvidenceLogKey, []byte(vkey)},
		{EvidenceQueryFile, append(q, '\n')},
	} {
		if err := s.file(m.name, m.data); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *evidenceSink) file(name string, data []byte) error {
	if err := s.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: s.now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := s.tw.Write(data)
	return err
}

func (s *evidenceSink) row(ctx context.Context, e *VerifiedEntry, selected bool) error {
	if !selected && !s.complete {
		return nil
	}
	p, err := s.nodes.inclusionProof(ctx, e.Index)
	// Self-check before shipping: the proofs are built from the log's hash
	// tiles above the entry bundles, which the window check does not read.
	// All entries of one bundle share their proof above the bundle (the
	// nodes inside it come from its verified leaves), so checking one proof
	// a bundle, and every one in the tree's last (partial) bundle, finds any
	// tile hash a proof uses that does not lead to the root, at a 256th of
	// the cost. The auditor's `audit verify --evidence` checks every proof.
	if err == nil && (e.Index%layout.EntryBundleWidth == 0 || e.Index/layout.EntryBundleWidth == (s.cp.Size-1)/layout.EntryBundleWidth || !s.checkedFirst) {
		s.checkedFirst = true
		err = proof.VerifyInclusion(rfc6962.DefaultHasher, e.Index, s.cp.Size, e.LeafHash, p, s.cp.Root)
	}
	if err != nil {
		return &VerifyError{Index: int64(e.Index), What: FailTile, Err: fmt.Errorf("inclusion proof: %w", err)}
	}
	s.line = EvidenceLine{Index: e.Index, Role: "context", Entry: e.Entry, Proof: p}
	if selected {
		s.line.Role = "selected"
		s.manifest.Selected++
	}
	s.manifest.Entries++
	// Written by hand: encoding/json would re-encode the entry (escaping
	// <, > and &), and the bytes must stay those the log holds.
	b := &s.buf
	b.WriteString(`{"index":`)
	b.WriteString(strconv.FormatUint(e.Index, 10))
	b.WriteString(`,"role":"` + s.line.Role + `","entry":`)
	b.Write(e.Entry)
	b.WriteString(`,"proof":[`)
	for i, h := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('"')
	}
	b.WriteString("]}\n")
	s.inChunk++
	if s.inChunk == evidenceChunk {
		return s.flush()
	}
	return nil
}

func (s *evidenceSink) flush() error {
	if s.inChunk == 0 {
		return nil
	}
	name := fmt.Sprintf("%s%08d.jsonl", EvidenceRecordsDir, len(s.manifest.Chunks))
	s.manifest.Chunks = append(s.manifest.Chunks, name)
	err := s.file(name, s.buf.Bytes())
	s.buf.Reset()
	s.inChunk = 0
	return err
}

func (s *evidenceSink) close(*ReportSummary) error {
	if err := s.flush(); err != nil {
		return err
	}
	m, err := json.MarshalIndent(s.manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := s.file(EvidenceManifestFile, append(m, '\n')); err != nil {
		return err
	}
	if err := s.tw.Close(); err != nil {
		return err
	}
	return s.gz.Close()
}

// EvidenceSummary describes a verified evidence pack.
type EvidenceSummary struct {
	Origin     string      `json:"origin"`
	TreeSize   uint64      `json:"tree_size"`
	RootHash   string      `json:"root_hash"`
	Query      ReportQuery `json:"query"`
	Complete   bool        `json:"complete"`
	Selected   uint64      `json:"selected"`
	Entries    uint64      `json:"entries"`
	KeyIDs     []string    `json:"key_ids"`
	KeysInPack bool        `json:"keys_from_pack"`
	// Checkpoint is the pack's signed checkpoint, with any witness
	// cosignatures (see CheckCosigned).
	Checkpoint string `json:"checkpoint,omitempty"`
}

// EvidenceError is a failed check of an evidence pack: Member is the archive
// member, Index the entry (-1 when none).
type EvidenceError struct {
	Member string
	Index  int64
	Err    error
}

func (e *EvidenceError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("evidence pack: %s: entry %d: %v", e.Member, e.Index, e.Err)
	}
	return fmt.Sprintf("evidence pack: %s: %v", e.Member, e.Err)
}

func (e *EvidenceError) Unwrap() error { return e.Err }

// VerifyEvidence checks an evidence pack offline (see the pack's README).
// keys and v are the auditor's own; nil means those in the pack.
func VerifyEvidence(ctx context.Context, r io.Reader, keys []crypto.PublicKey, v note.Verifier) (*EvidenceSummary, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, &EvidenceError{Member: "archive", Index: -1, Err: err}
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	bad := func(member string, index int64, format string, args ...any) error {
		return &EvidenceError{Member: member, Index: index, Err: fmt.Errorf(format, args...)}
	}
	sum := &EvidenceSummary{}
	var (
		cpRaw, pubPEM, vkey []byte
		cp                  *Checkpoint
		ks                  *KeySet
		q                   *EvidenceQuery
		skew                time.Duration
		manifest            *EvidenceManifest
		next                uint64
		seen                bool
		chunks              []string
		lastTime            time.Time
		members             = map[string]bool{}
	)
	start := func() error {
		if cp != nil {
			return nil
		}
		if cpRaw == nil || q == nil || (keys == nil && pubPEM == nil) || (v == nil && vkey == nil) {
			return bad(EvidenceRecordsDir, -1, "records come before the checkpoint, keys and query.json")
		}
		if keys == nil {
			sum.KeysInPack = true
			if keys, err = ParsePublicKeys(pubPEM); err != nil {
				return bad(EvidencePublicKeys, -1, "%w", err)
			}
		}
		if v == nil {
			if v, err = NoteVerifier(string(vkey)); err != nil {
				return bad(EvidenceLogKey, -1, "%w", err)
			}
		}
		if cp, err = ParseCheckpoint(cpRaw, v); err != nil {
			return bad(EvidenceCheckpoint, -1, "%w", err)
		}
		sum.Checkpoint = string(cpRaw)
		if ks, err = NewKeySet(keys...); err != nil {
			return bad(EvidencePublicKeys, -1, "%w", err)
		}
		if q.TreeSize != cp.Size {
			return bad(EvidenceQueryFile, -1, "tree_size %d, the checkpoint's %d", q.TreeSize, cp.Size)
		}
		if skew, err = time.ParseDuration(q.TimeSkew); err != nil {
			return bad(EvidenceQueryFile, -1, "time_skew: %w", err)
		}
		if q.FirstIndex > q.EndIndex || q.EndIndex > cp.Size {
			return bad(EvidenceQueryFile, -1, "index window [%d, %d) does not fit the tree of %d", q.FirstIndex, q.EndIndex, cp.Size)
		}
		if q.Complete {
			// A complete window is bounded by proven entries: the first and
			// the last of the log where the period is open at that end, and
			// otherwise boundary entries whose times are checked below. So it
			// is never empty in a non-empty log.
			if cp.Size > 0 && q.EndIndex == q.FirstIndex {
				return bad(EvidenceQueryFile, -1, "a complete pack of a non-empty log cannot hold an empty window")
			}
			if q.Query.From.IsZero() && q.FirstIndex != 0 {
				return bad(EvidenceQueryFile, -1, "a complete pack without a start must begin at entry 0, not %d", q.FirstIndex)
			}
			if q.Query.To.IsZero() && q.EndIndex != cp.Size {
				return bad(EvidenceQueryFile, -1, "a complete pack without an end must reach the checkpoint's size %d, not %d", cp.Size, q.EndIndex)
			}
		}
		next = q.FirstIndex
		sum.Origin, sum.TreeSize, sum.RootHash = cp.Origin, cp.Size, fmt.Sprintf("%x", cp.Root)
		sum.Query, sum.Complete, sum.KeyIDs = q.Query, q.Complete, ks.KeyIDs()
		return nil
	}
	checkLine := func(member string, raw []byte) error {
		var l EvidenceLine
		if err := json.Unmarshal(raw, &l); err != nil {
			return bad(member, -1, "line: %w", err)
		}
		idx := int64(l.Index)
		if seen && l.Index < next {
			return bad(member, idx, "index out of order or repeated (expected at least %d)", next)
		}
		if q.Complete && l.Index != next {
			return bad(member, idx, "a complete pack must hold every entry of [%d, %d): entry %d is missing", q.FirstIndex, q.EndIndex, next)
		}
		if l.Index < q.FirstIndex || l.Index >= q.EndIndex {
			return bad(member, idx, "outside the index window [%d, %d)", q.FirstIndex, q.EndIndex)
		}
		seen, next = true, l.Index+1
		entry := []byte(l.Entry)
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, l.Index, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), l.Proof, cp.Root); err != nil {
			return bad(member, idx, "inclusion proof does not lead to the checkpoint's root: %w", err)
		}
		env, err := DecodeEnvelope(entry)
		if err != nil {
			return bad(member, idx, "%w", err)
		}
		if err := ks.Verify(env); err != nil {
			return bad(member, idx, "%w", err)
		}
		row, err := parseReportRow(env.RecordJSON)
		if err != nil {
			return bad(member, idx, "%w", err)
		}
		row.Index = l.Index
		match := q.Query.matches(row)
		switch l.Role {
		case "selected":
			if !match {
				return bad(member, idx, "marked selected but outside the query")
			}
			sum.Selected++
		case "context":
			if !q.Complete {
				return bad(member, idx, "a context entry in a pack that is not complete")
			}
			if match {
				return bad(member, idx, "in the query but not marked selected")
			}
		default:
			return bad(member, idx, "role %q", l.Role)
		}
		if q.Complete {
			if !lastTime.IsZero() && row.Time.Before(lastTime.Add(-skew)) {
				return bad(member, idx, "record time %s is earlier than a preceding record's by more than time_skew %s", row.Time, skew)
			}
			if row.Time.After(lastTime) {
				lastTime = row.Time
			}
			if l.Index == q.FirstIndex && l.Index > 0 && !q.Query.From.IsZero() && !row.Time.Before(q.Query.From.Add(-skew)) {
				return bad(member, idx, "the first entry of the window is not before the period less time_skew: earlier records may be missing")
			}
			if l.Index+1 == q.EndIndex && q.EndIndex < cp.Size && !q.Query.To.IsZero() && row.Time.Before(q.Query.To.Add(skew)) {
				return bad(member, idx, "the last entry of the window is not after the period plus time_skew: later records may be missing")
			}
		}
		sum.Entries++
		return nil
	}
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
		name := path.Clean(h.Name)
		readAll := func() ([]byte, error) {
			if h.Size > 1<<30 {
				return nil, bad(name, -1, "too large")
			}
			return io.ReadAll(tr)
		}
		// Each member once, and nothing but records and the manifest after the
		// first records: a second query.json or checkpoint placed later would
		// change what the already-checked records were checked against.
		if members[name] {
			return nil, bad(name, -1, "appears twice in the pack")
		}
		members[name] = true
		isRecords := strings.HasPrefix(name, EvidenceRecordsDir) && strings.HasSuffix(name, ".jsonl")
		if cp != nil && !isRecords && name != EvidenceManifestFile {
			return nil, bad(name, -1, "comes after the records")
		}
		switch {
		case name == EvidenceReadme:
		case name == EvidenceCheckpoint:
			cpRaw, err = readAll()
		case name == EvidencePublicKeys:
			pubPEM, err = readAll()
		case name == EvidenceLogKey:
			vkey, err = readAll()
		case name == EvidenceQueryFile:
			var b []byte
			if b, err = readAll(); err == nil {
				q = &EvidenceQuery{}
				if jerr := json.Unmarshal(b, q); jerr != nil {
					return nil, bad(name, -1, "%w", jerr)
				}
			}
		case strings.HasPrefix(name, EvidenceRecordsDir) && strings.HasSuffix(name, ".jsonl"):
			if err := start(); err != nil {
				return nil, err
			}
			if manifest != nil {
				return nil, bad(name, -1, "after the manifest")
			}
			chunks = append(chunks, name)
			sc := bufio.NewScanner(tr)
			sc.Buffer(make([]byte, 0, 1<<20), 4*MaxEntrySize)
			for sc.Scan() {
				if err := checkLine(name, sc.Bytes()); err != nil {
					return nil, err
				}
			}
			if err := sc.Err(); err != nil {
				return nil, bad(name, -1, "%w", err)
			}
		case name == EvidenceManifestFile:
			var b []byte
			if b, err = readAll(); err == nil {
				manifest = &EvidenceManifest{}
				if jerr := json.Unmarshal(b, manifest); jerr != nil {
					return nil, bad(name, -1, "%w", jerr)
				}
			}
		default:
			return nil, bad(name, -1, "not a member of an evidence pack")
		}
		if err != nil {
			return nil, &EvidenceError{Member: name, Index: -1, Err: err}
		}
	}
	if err := start(); err != nil {
		return nil, err
	}
	if manifest == nil {
		return nil, bad(EvidenceManifestFile, -1, "missing")
	}
	if manifest.Selected != sum.Selected || manifest.Entries != sum.Entries {
		return nil, bad(EvidenceManifestFile, -1, "says %d selected of %d entries, the pack holds %d of %d", manifest.Selected, manifest.Entries, sum.Selected, sum.Entries)
	}
	if strings.Join(manifest.Chunks, ",") != strings.Join(chunks, ",") {
		return nil, bad(EvidenceManifestFile, -1, "lists record files %v, the pack holds %v", manifest.Chunks, chunks)
	}
	if q.Complete && next != q.EndIndex {
		return nil, bad(EvidenceRecordsDir, int64(next), "a complete pack must hold every entry of [%d, %d)", q.FirstIndex, q.EndIndex)
	}
	return sum, nil
}
