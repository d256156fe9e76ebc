package report

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/sovereign-engine/sovereign/audit"
)

// Members of an evidence pack, in the order they are written.
const (
	EvidenceReadme       = "README.md"
	EvidenceCheckpoint   = "checkpoint"
	EvidencePublicKeys   = audit.SigningPublicKeysFile
	EvidenceLogKey       = audit.LogVerifierKeyFile
	EvidenceQueryFile    = "query.json"
	EvidenceRecordsDir   = "records/"
	EvidenceManifestFile = "manifest.json"
)

// A records/NNNNNNNN.jsonl holds at most evidenceChunk records, and is
// written once it reaches evidenceChunkBytes: a tar member's size comes
// before its bytes, so each is built in memory first.
const (
	evidenceChunk      = 8192
	evidenceChunkBytes = 4 << 20
)

// EvidenceQuery is query.json: what the pack was asked to hold.
type EvidenceQuery struct {
	Format   string `json:"format"`
	Query    Query  `json:"query"`
	TimeSkew string `json:"time_skew"`
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
// the pack's checkpoint, leaf to root. Body is the record's body byte for
// byte, for a record that names one (audit.BodyRef); absent otherwise.
type EvidenceLine struct {
	Index uint64          `json:"index"`
	Role  string          `json:"role"` // "selected", or "context": in the index window, outside the query
	Entry json.RawMessage `json:"entry"`
	Proof [][]byte        `json:"proof"`
	Body  json.RawMessage `json:"body,omitempty"`
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
| records/NNNNNNNN.jsonl | one JSON line per entry: index, role, the entry byte for byte, inclusion proof (base64 hashes), and the record's body when it names one |
| manifest.json | counts and the list of record files |

To check it:

    sovereign audit verify --evidence pack.tar.gz [--public-key signing.pub --log-key log.vkey]

Pass the keys you already trust: without them the keys inside the pack are used, and
the command prints their ids for you to compare.

Checks: the checkpoint's signature; for every entry, its record signature, that a
body the record names is there with the SHA-256 and size the record gives, and that
its RFC 6962 leaf hash SHA-256(0x00 || entry) with the proof gives the checkpoint's
root hash at that index; that selected records match the query. A complete pack
(query by time only) also holds every entry of the index window and the entries
just outside the period at both ends, which shows that no record of the period is
missing, given record times in index order to within time_skew.
`

type evidenceSink struct {
	gz       *gzip.Writer
	tw       *tar.Writer
	cp       *audit.Checkpoint
	nodes    *audit.ProofBuilder
	complete bool
	// checkedFirst: the window's first entry's proof was checked.
	checkedFirst bool
	// buf is the record file being built.
	buf      []byte
	inChunk  int
	manifest EvidenceManifest
	now      time.Time
}

func newEvidenceSink(w io.Writer, o Options, cp *audit.Checkpoint, lo, hi uint64) (*evidenceSink, error) {
	if len(o.Log.KeysPEM) == 0 || o.Log.VerifierKey == "" {
		return nil, errors.New("evidence: the public keys (PEM) and the log verifier key are required, to go in the pack")
	}
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	s := &evidenceSink{gz: gz, tw: tar.NewWriter(gz), cp: cp, nodes: audit.NewProofBuilder(o.Log.Source, cp.Size),
		complete: !o.Query.Filtered(), manifest: EvidenceManifest{Format: FormatVersion, Chunks: []string{}}, now: time.Now().UTC()}
	skew := o.TimeSkew
	q, err := json.MarshalIndent(EvidenceQuery{Format: FormatVersion, Query: o.Query, TimeSkew: skew.String(),
		Complete: s.complete, FirstIndex: lo, EndIndex: hi, TreeSize: cp.Size}, "", "  ")
	if err != nil {
		return nil, err
	}
	vkey := strings.TrimSpace(o.Log.VerifierKey) + "\n"
	for _, m := range []struct {
		name string
		data []byte
	}{
		{EvidenceReadme, []byte(evidenceReadme)},
		{EvidenceCheckpoint, cp.Raw},
		{EvidencePublicKeys, o.Log.KeysPEM},
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

func (s *evidenceSink) row(ctx context.Context, e *audit.VerifiedEntry, _ *Row, selected bool) error {
	if !selected && !s.complete {
		return nil
	}
	p, err := s.nodes.InclusionProof(ctx, e.Index)
	// Self-check before shipping: the proofs are built from the log's hash
	// tiles above the entry bundles, which the window check does not read.
	// All entries of one bundle share their proof above the bundle (the
	// nodes inside it come from its verified leaves), so checking one proof
	// a bundle, and every one in the tree's last (partial) bundle, finds any
	// tile hash a proof uses that does not lead to the root, at a 256th of
	// the cost. The builder builds a bundle's first proof whole and the
	// others from it (audit.ProofBuilder), so the bundle's last entry is
	// checked too: a proof put together that way. The auditor's `audit
	// verify --evidence` checks every proof.
	if pos := e.Index % layout.EntryBundleWidth; err == nil && (pos == 0 || pos == layout.EntryBundleWidth-1 ||
		e.Index/layout.EntryBundleWidth == (s.cp.Size-1)/layout.EntryBundleWidth || !s.checkedFirst) {
		s.checkedFirst = true
		err = proof.VerifyInclusion(rfc6962.DefaultHasher, e.Index, s.cp.Size, e.LeafHash, p, s.cp.Root)
	}
	if err != nil {
		return &audit.VerifyError{Index: int64(e.Index), What: audit.FailTile, Err: fmt.Errorf("inclusion proof: %w", err)}
	}
	role := "context"
	if selected {
		role = "selected"
		s.manifest.Selected++
	}
	s.manifest.Entries++
	// Written by hand: encoding/json would re-encode the entry (escaping
	// <, > and &), and the bytes must stay those the log holds.
	b := s.buf
	b = append(b, `{"index":`...)
	b = strconv.AppendUint(b, e.Index, 10)
	b = append(b, `,"role":"`...)
	b = append(b, role...)
	b = append(b, `","entry":`...)
	b = append(b, e.Entry...)
	b = append(b, `,"proof":[`...)
	for i, h := range p {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, h)
		b = append(b, '"')
	}
	b = append(b, ']')
	if e.Body != nil {
		b = append(b, `,"body":`...)
		b = append(b, e.Body...)
	}
	b = append(b, "}\n"...)
	s.buf = b
	s.inChunk++
	if s.inChunk == evidenceChunk || len(b) >= evidenceChunkBytes {
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
	err := s.file(name, s.buf)
	s.buf = s.buf[:0]
	s.inChunk = 0
	return err
}

func (s *evidenceSink) close(*Summary) error {
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
