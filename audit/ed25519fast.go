package audit

import (
	"crypto/ed25519"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// ed25519Key verifies Ed25519 signatures (RFC 8032, pure Ed25519) with the
// checks crypto/ed25519.Verify makes — cofactorless, canonical S and R,
// small-order and non-canonical A accepted (voi's VerifyOptionsStdLib) —
// with the public key expanded once. Reports and `audit verify` check one
// signature per record, which is most of their CPU: crypto/ed25519 decodes
// the key on every call, and curve25519-voi's double scalar multiplication
// (a precomputed table for the key, AVX2 where the CPU has it) takes about
// two thirds of the CPU time of filippo.io/edwards25519's, which
// crypto/ed25519 uses (BENCHMARKS.md, "a quarter less CPU per record";
// BenchmarkEd25519Verify).
// TestEd25519KeyMatchesStdlib holds it to crypto/ed25519 on valid, altered,
// malformed and small-order signatures and keys.
type ed25519Key struct {
	expanded *voi.ExpandedPublicKey
}

// ed25519StdLib: accept exactly what crypto/ed25519.Verify accepts.
var ed25519StdLib = &voi.Options{Verify: voi.VerifyOptionsStdLib}

func newEd25519Key(pub ed25519.PublicKey) (*ed25519Key, bool) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, false
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil, false
	}
	return &ed25519Key{expanded: x}, true
}

// verify reports whether sig is k's signature of msg, as ed25519.Verify.
func (k *ed25519Key) verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyExpandedWithOptions(k.expanded, msg, sig, ed25519StdLib)
}
