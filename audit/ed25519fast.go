package audit

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// ed25519Key verifies Ed25519 signatures (RFC 8032, pure Ed25519, the checks
// crypto/ed25519.Verify makes) with the public key's point decoded once.
// crypto/ed25519 decodes and decompresses the key on every call, ≈ 5 % of
// a million-record verification; reports and `audit verify` check one
// signature per record, so the key is decoded once per key set instead.
// TestEd25519KeyMatchesStdlib holds it to crypto/ed25519 on valid, altered
// and malformed signatures.
type ed25519Key struct {
	pub    ed25519.PublicKey
	minusA *edwards25519.Point
}

func newEd25519Key(pub ed25519.PublicKey) (*ed25519Key, bool) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, false
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, false
	}
	return &ed25519Key{pub: pub, minusA: new(edwards25519.Point).Negate(A)}, true
}

// verify reports whether sig is k's signature of msg, as ed25519.Verify.
func (k *ed25519Key) verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.pub)
	h.Write(msg)
	var digest [sha512.Size]byte
	kh, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(kh, k.minusA, S)
	return subtle.ConstantTimeCompare(sig[:32], R.Bytes()) == 1
}
