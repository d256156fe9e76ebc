package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"
)

// TestEd25519KeyMatchesStdlib: the key-cached verifier accepts exactly what
// crypto/ed25519.Verify accepts: valid signatures, and altered messages,
// altered signatures, non-canonical S, set high bits and wrong lengths.
func TestEd25519KeyMatchesStdlib(t *testing.T) {
	// l, the order of the base point: S+l is the non-canonical twin of S.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	for i := range 400 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := newEd25519Key(pub)
		if !ok {
			t.Fatal("key did not decode")
		}
		msg := make([]byte, i%97)
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		cases := map[string][2][]byte{"valid": {msg, sig}}
		flip := func(b []byte, bit int) []byte {
			c := append([]byte(nil), b...)
			if len(c) > 0 {
				c[(bit/8)%len(c)] ^= 1 << (bit % 8)
			}
			return c
		}
		var r [4]byte
		rand.Read(r[:])
		bit := int(binary.BigEndian.Uint32(r[:]) % 512)
		cases["sig bit"] = [2][]byte{msg, flip(sig, bit)}
		cases["msg bit"] = [2][]byte{flip(msg, bit), sig}
		cases["short"] = [2][]byte{msg, sig[:63]}
		cases["long"] = [2][]byte{msg, append(append([]byte(nil), sig...), 0)}
		hi := append([]byte(nil), sig...)
		hi[63] |= 0x80
		cases["high bits"] = [2][]byte{msg, hi}
		// S + l, little endian.
		s := make([]byte, 32)
		for j := range 32 {
			s[31-j] = sig[32+j]
		}
		sl := new(big.Int).Add(new(big.Int).SetBytes(s), l).FillBytes(make([]byte, 32))
		nc := append([]byte(nil), sig[:32]...)
		for j := range 32 {
			nc = append(nc, sl[31-j])
		}
		cases["non-canonical S"] = [2][]byte{msg, nc}
		for name, c := range cases {
			if got, want := k.verify(c[0], c[1]), ed25519.Verify(pub, c[0], c[1]); got != want {
				t.Fatalf("case %d %s: fast %v, crypto/ed25519 %v", i, name, got, want)
			}
		}
		if !k.verify(msg, sig) {
			t.Fatal("a valid signature does not verify")
		}
	}
}
