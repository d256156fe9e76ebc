package audit

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// faultySource is a log source with one of its resources replaced.
type faultySource struct {
	Source
	kind byte
	data []byte
}

func (s faultySource) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	if s.kind%3 == 0 {
		return s.data, nil
	}
	return s.Source.ReadCheckpoint(ctx)
}

func (s faultySource) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	if s.kind%3 == 1 && level == 0 && index == 0 {
		return s.data, nil
	}
	return s.Source.ReadTile(ctx, level, index, p)
}

func (s faultySource) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	if s.kind%3 == 2 && index == 0 {
		return s.data, nil
	}
	return s.Source.ReadEntryBundle(ctx, index, p)
}

// What an auditor reads from a log comes from whoever serves it: a
// checkpoint, a hash tile or an entry bundle replaced by any bytes is
// refused with an error by verification, proofs, searches and reads, never
// a panic; and whatever verifies proves the same tree as the original.
func FuzzLogSource(f *testing.F) {
	dir := f.TempDir()
	l := openTest(f, dir)
	appendN(f, l, 20, 4)
	closeTest(f, l)
	src, err := NewSource(dir)
	if err != nil {
		f.Fatal(err)
	}
	keys, v := auditorKeys(f, dir)
	ctx := context.Background()
	want, err := VerifyLog(ctx, src, keys, v, nil)
	if err != nil {
		f.Fatal(err)
	}
	cp, _ := src.ReadCheckpoint(ctx)
	tile, _ := src.ReadTile(ctx, 0, 0, 20)
	bundle, _ := src.ReadEntryBundle(ctx, 0, 20)
	for kind, b := range [][]byte{cp, tile, bundle} {
		f.Add(byte(kind), b)
		f.Add(byte(kind), b[:len(b)/2])
		f.Add(byte(kind), append(bytes.Clone(b), b...))
	}
	f.Add(byte(0), []byte("sovereign/test\n18446744073709551615\nAAAA\n\n— sovereign/test AAAA\n"))
	f.Add(byte(2), []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		fs := faultySource{Source: src, kind: kind, data: data}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := VerifyLog(ctx, fs, keys, v, nil)
		if err == nil && (got.TreeSize != want.TreeSize || got.Root != want.Root) {
			t.Fatalf("a replaced resource verified as another tree: %d %s, want %d %s", got.TreeSize, got.Root, want.TreeSize, want.Root)
		}
		pb := NewProofBuilder(fs, want.TreeSize)
		for i := range want.TreeSize {
			_, _ = pb.InclusionProof(ctx, i)
		}
		_, _ = FindIndexByTime(ctx, fs, want.TreeSize, time.Now())
		for _, err := range Entries(ctx, fs, want.TreeSize, 0, want.TreeSize) {
			if err != nil {
				break
			}
		}
		if raw, err := fs.ReadCheckpoint(ctx); err == nil {
			_, _ = PeekCheckpoint(raw)
			_, _ = ParseCheckpoint(raw, v)
		}
	})
}
