package report

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// An evidence pack is whatever whoever hands it to an auditor made it: any
// bytes end in a summary or an error (an *EvidenceError for the pack's own
// faults), never a panic, and nothing but the untouched pack verifies.
func FuzzVerifyEvidence(f *testing.F) {
	fx := newReportFixture(f)
	pack, _ := fx.write(f, fx.opts, FormatEvidence)
	f.Add(pack)
	members := packMembers(f, pack)
	if path := f.TempDir() + "/empty.tar.gz"; writeHostilePack(f, path, nil) == nil {
		f.Add(readFile(f, path))
	}
	// The preamble alone, and the preamble with one record file emptied.
	for _, cut := range []int{1, 3, len(members) - 1} {
		if cut <= 0 || cut > len(members) {
			continue
		}
		path := f.TempDir() + "/cut.tar.gz"
		if err := writeHostilePack(f, path, members[:cut]); err == nil {
			f.Add(readFile(f, path))
		}
	}
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, err := VerifyEvidence(context.Background(), bytes.NewReader(b), nil, nil)
		if err == nil {
			if !bytes.Equal(b, pack) {
				// A pack that differs from the one written may still verify
				// (gzip and tar framing carry no signature), but it must say
				// what the original says.
				if sum.TreeSize == 0 || sum.Origin == "" {
					t.Fatalf("a rewritten pack verified with an empty summary: %+v", sum)
				}
			}
			return
		}
		var ee *EvidenceError
		if !errors.As(err, &ee) && !errors.Is(err, context.Canceled) {
			t.Fatalf("not an *EvidenceError: %v", err)
		}
	})
}
