package audit

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
)

// TestProofBuilder: the memoising builder gives, for every index in order
// (as an export asks), the proof Tessera's client builds, and it verifies.
//
// Sizes: complete bundles and a partial one; exactly one complete bundle
// (the last bundle complete); and the indices of two complete bundles and a
// partial one asked out of order, back and forth between bundles, as the
// builder keeps the proof above one bundle at a time.
func TestProofBuilder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		shuffled bool
	}{{"300", 300, false}, {"256", 256, false}, {"600 shuffled", 600, true}} {
		t.Run(tc.name, func(t *testing.T) { testProofBuilder(t, tc.size, tc.shuffled) })
	}
}

func testProofBuilder(t *testing.T, size int, shuffled bool) {
	tl, cp := smallLog(t, size)
	src := tl.Source
	ctx := context.Background()
	ours := NewProofBuilder(src, cp.Size)
	theirs, err := client.NewProofBuilder(ctx, cp.Size, src.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	order := make([]uint64, cp.Size)
	for i := range order {
		order[i] = uint64(i)
	}
	if shuffled {
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	if _, err := ours.InclusionProof(ctx, cp.Size); err == nil {
		t.Fatal("a proof of an index beyond the tree")
	}
	for _, i := range order {
		got, err := ours.InclusionProof(ctx, i)
		if err != nil {
			t.Fatalf("index %d: %v", i, err)
		}
		want, err := theirs.InclusionProof(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("index %d: proof %x, Tessera's %x", i, got, want)
		}
		entry, err := ReadEntry(ctx, src, i, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), got, cp.Root); err != nil {
			t.Fatalf("index %d: %v", i, err)
		}
	}
}
