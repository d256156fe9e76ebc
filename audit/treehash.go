package audit

import (
	"crypto/sha256"
	"hash"

	"github.com/transparency-dev/merkle/rfc6962"
)

// hashChildren is rfc6962.DefaultHasher.HashChildren, SHA-256(0x01 || l ||
// r), without allocating a hasher for each node: a report's window check
// and an evidence pack's proofs hash a node or more per record, and the
// hasher was most of what they allocated. Hashes of another size than
// SHA-256's (which no tile holds) take rfc6962's path.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	sum := sha256.Sum256(b[:])
	return sum[:]
}

// leafHasher computes RFC 6962 leaf hashes, SHA-256(0x00 || entry), with
// one hasher. It is not safe for concurrent use.
type leafHasher struct{ h hash.Hash }

func newLeafHasher() *leafHasher { return &leafHasher{h: sha256.New()} }

// hashLeaf appends entry's leaf hash to dst.
func (l *leafHasher) hashLeaf(dst, entry []byte) []byte {
	l.h.Reset()
	l.h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
	l.h.Write(entry)
	return l.h.Sum(dst)
}
