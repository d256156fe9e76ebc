package report

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/sovereign-engine/sovereign/internal/rss"
)

// hostileMember is a member of a hostile pack: data, or (nil data) size zero
// bytes streamed through the compressor, so a member may claim and hold far
// more than the writer keeps in memory.
type hostileMember struct {
	name string
	size int64
	data []byte // nil: size zero bytes
}

// writeHostilePack writes to path a pack of members (t's failures aside).
func writeHostilePack(t testing.TB, path string, members []hostileMember) error {
	t.Helper()
	return writeHostilePackFunc(path, slices.Values(members))
}

// readFile reads path or fails t.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeHostilePackFunc writes to path a pack of members made one at a time.
func writeHostilePackFunc(path string, members iter.Seq[hostileMember]) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gw := gzip.NewWriter(f)
	tw := tar.NewWriter(gw)
	zeros := make([]byte, 1<<20)
	for m := range members {
		if m.data != nil {
			m.size = int64(len(m.data))
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: m.size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if m.data != nil {
			if _, err := tw.Write(m.data); err != nil {
				return err
			}
			continue
		}
		for left := m.size; left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := tw.Write(zeros[:n]); err != nil {
				return err
			}
			left -= n
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gw.Close()
}

// packMembers reads the members of a pack, in order.
func packMembers(t testing.TB, pack []byte) []hostileMember {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(pack))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []hostileMember
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hostileMember{name: h.Name, data: b})
	}
}

// An evidence pack is whatever its giver made it: members that claim (and
// inflate to) hundreds of MiB, and hundreds of thousands of record files, are
// refused or checked holding a few MiB. Before, each of five members was read
// whole up to 1 GiB, and every record file name was kept.
func TestEvidenceMemoryIsBounded(t *testing.T) {
	// Before rss.Measure: the child makes its own fixture, unmeasured.
	f := newReportFixture(t)
	pack, _ := f.write(t, f.opts, FormatEvidence)
	var preamble []hostileMember
	for _, m := range packMembers(t, pack) {
		if strings.HasPrefix(m.name, EvidenceRecordsDir) {
			break
		}
		preamble = append(preamble, m)
	}
	dir := t.TempDir()
	const files = 100_000
	manyFiles := func(yield func(hostileMember) bool) {
		for _, m := range preamble {
			if !yield(m) {
				return
			}
		}
		for i := range files {
			if !yield(hostileMember{name: fmt.Sprintf("%s%08d-%s.jsonl", EvidenceRecordsDir, i, strings.Repeat("x", 80)), data: []byte{}}) {
				return
			}
		}
		yield(hostileMember{name: EvidenceManifestFile, data: []byte(`{"format":"sovereign-evidence/v1","selected":0,"entries":0,"chunks":[]}`)})
	}
	cases := []struct {
		name    string
		members iter.Seq[hostileMember]
		says    string
	}{
		{"a 512 MiB query.json", slices.Values([]hostileMember{{name: EvidenceQueryFile, size: 512 << 20}}), "over the limit"},
		{"a 512 MiB manifest after the records", slices.Values(append(append([]hostileMember{}, preamble...),
			hostileMember{name: EvidenceRecordsDir + "00000000.jsonl", data: []byte{}},
			hostileMember{name: EvidenceManifestFile, size: 512 << 20})), "over the limit"},
		{"100,000 record files", manyFiles, "lists 0 record files, the pack holds 100000"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("%d.tar.gz", i))
			res := rss.Measure(t, func() error {
				if err := writeHostilePackFunc(path, tc.members); err != nil {
					return err
				}
				in, err := os.Open(path)
				if err != nil {
					return err
				}
				defer in.Close()
				_, err = VerifyEvidence(context.Background(), in, nil, nil)
				if err == nil {
					return errors.New("hostile pack accepted")
				}
				return err
			})
			if !strings.Contains(res.Err, tc.says) {
				t.Errorf("%s: %s, want a refusal saying %q", tc.name, res.Err, tc.says)
			}
			t.Logf("%s: peak RSS growth %d MiB: %s", tc.name, res.PeakGrowth>>20, res.Err)
			if res.PeakGrowth > 24<<20 {
				t.Errorf("%s: peak RSS growth %d MiB, want under 24 MiB", tc.name, res.PeakGrowth>>20)
			}
		})
	}
}
