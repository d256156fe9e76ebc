package audit

import (
	"context"
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
)

// ProofBuilder builds inclusion proofs in the tree of a checkpoint from the
// log's hash tiles. Unlike client.ProofBuilder it memoises computed nodes,
// so proofs for consecutive indices (an export walks the log in order) cost
// a few hashes each instead of hundreds; both caches are bounded. The tiles
// are not checked: a proof that matters is checked against the checkpoint's
// root (proof.VerifyInclusion). It is not safe for concurrent use.
//
// All entries of a complete entry bundle share their proof above the
// bundle: the bundle's 256 leaves form a complete subtree, a node of the
// tree, so an entry's proof is its 8 siblings inside the bundle and then
// the bundle's own proof. The builder keeps that upper part of the last
// complete bundle it built a whole proof in, and builds its other entries'
// proofs from their 8 siblings (memoised nodes) and that part.
type ProofBuilder struct {
	src   Source
	size  uint64
	tiles map[[2]uint64][][]byte
	nodes map[compact.NodeID][]byte
	// above is the part above the bundle of the proofs of aboveBundle's
	// entries; nil until a proof in a complete bundle was built whole.
	above       [][]byte
	aboveBundle uint64
}

// bundleHeight is the height of an entry bundle's subtree:
// layout.EntryBundleWidth is 1 << bundleHeight.
const bundleHeight = 8

const (
	proofBuilderMaxTiles = 256
	proofBuilderMaxNodes = 1 << 14
)

// NewProofBuilder reads the tree of size entries (a checkpoint's) from src.
func NewProofBuilder(src Source, size uint64) *ProofBuilder {
	return &ProofBuilder{src: src, size: size, tiles: map[[2]uint64][][]byte{}, nodes: map[compact.NodeID][]byte{}}
}

func (n *ProofBuilder) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if h, ok := n.nodes[id]; ok {
		return h, nil
	}
	tileLevel, tileIndex, nodeLevel, nodeIndex := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	key := [2]uint64{tileLevel, tileIndex}
	t, ok := n.tiles[key]
	if !ok {
		p := layout.PartialTileSize(tileLevel, tileIndex, n.size)
		raw, err := n.src.ReadTile(ctx, tileLevel, tileIndex, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", layout.TilePath(tileLevel, tileIndex, p), err)
		}
		var tile api.HashTile
		if err := tile.UnmarshalText(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", layout.TilePath(tileLevel, tileIndex, p), err)
		}
		if len(n.tiles) >= proofBuilderMaxTiles {
			clear(n.tiles)
		}
		t = tile.Nodes
		n.tiles[key] = t
	}
	width := uint64(1) << nodeLevel
	lo, hi := nodeIndex*width, (nodeIndex+1)*width
	if hi > uint64(len(t)) {
		return nil, fmt.Errorf("tile %d/%d has %d nodes, node %v needs [%d, %d)", tileLevel, tileIndex, len(t), id, lo, hi)
	}
	var h []byte
	if width == 1 {
		h = t[lo]
	} else {
		// Children first, so they are memoised for the neighbours' proofs.
		left, err := n.node(ctx, compact.NewNodeID(id.Level-1, id.Index*2))
		if err != nil {
			return nil, err
		}
		right, err := n.node(ctx, compact.NewNodeID(id.Level-1, id.Index*2+1))
		if err != nil {
			return nil, err
		}
		h = hashChildren(left, right)
	}
	if len(n.nodes) >= proofBuilderMaxNodes {
		clear(n.nodes)
	}
	n.nodes[id] = h
	return h, nil
}

// InclusionProof builds the RFC 6962 inclusion proof of index in the tree.
// The hashes of the proofs it returns may be shared between proofs: they
// must not be modified.
func (n *ProofBuilder) InclusionProof(ctx context.Context, index uint64) ([][]byte, error) {
	if index >= n.size {
		return nil, fmt.Errorf("index %d is beyond the tree of %d entries", index, n.size)
	}
	bundle := index >> bundleHeight
	complete := (bundle+1)<<bundleHeight <= n.size
	if complete && n.above != nil && n.aboveBundle == bundle {
		p := make([][]byte, bundleHeight, bundleHeight+len(n.above))
		for level := range bundleHeight {
			h, err := n.node(ctx, compact.NewNodeID(uint(level), (index>>level)^1))
			if err != nil {
				return nil, err
			}
			p[level] = h
		}
		return append(p, n.above...), nil
	}
	nodes, err := proof.Inclusion(index, n.size)
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		if hashes[i], err = n.node(ctx, id); err != nil {
			return nil, err
		}
	}
	p, err := nodes.Rehash(hashes, hashChildren)
	if err != nil {
		return nil, err
	}
	if complete && len(p) >= bundleHeight {
		n.above, n.aboveBundle = slices.Clone(p[bundleHeight:]), bundle
	}
	return p, nil
}
