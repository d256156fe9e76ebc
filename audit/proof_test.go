package audit

import (
	"context"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
)

// TestProofBuilder: the memoising builder gives, for every index in order
// (as an export asks), the proof Tessera's client builds, and it verifies.
func TestProofBuilder(t *testing.T) {
	tl, cp := smallLog(t, 300)
	src := tl.Source
	ctx := context.Background()
	ours := NewProofBuilder(src, cp.Size)
	theirs, err := client.NewProofBuilder(ctx, cp.Size, src.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cp.Size {
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
