package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
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

// TestEd25519KeyMatchesStdlibEdgeCases: the cases where Ed25519 verifiers
// disagree (small-order keys and R, non-canonical encodings of R and of the
// key, S = 0), each compared with crypto/ed25519.Verify.
func TestEd25519KeyMatchesStdlibEdgeCases(t *testing.T) {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(n *big.Int) []byte { // 32 bytes, little endian
		b := n.FillBytes(make([]byte, 32))
		for i, j := 0, 31; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return b
	}
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Encodings of small-order points (and non-canonical ones of them).
	smallOrder := [][]byte{
		mustHex("0100000000000000000000000000000000000000000000000000000000000000"), // identity
		mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // order 2
		mustHex("0000000000000000000000000000000000000000000000000000000000000000"), // order 4
		mustHex("0000000000000000000000000000000000000000000000000000000000000080"), // order 4
		mustHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
		mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
		mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // identity, y = p+1
		mustHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y = p (order 4, non-canonical)
	}
	// R = [s]B for a scalar s we know: a key's public point and its
	// secret scalar (SHA-512 of the seed, clamped), reduced mod l.
	knownR := func() (r, s []byte) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h := sha512.Sum512(priv.Seed())
		h[0] &= 248
		h[31] &= 127
		h[31] |= 64
		a := make([]byte, 32)
		for i := range 32 {
			a[31-i] = h[i]
		}
		return pub, le(new(big.Int).Mod(new(big.Int).SetBytes(a), l))
	}
	msg := []byte("record")
	check := func(name string, pub ed25519.PublicKey, sig []byte) {
		t.Helper()
		want := ed25519.Verify(pub, msg, sig)
		k, ok := newEd25519Key(pub)
		if !ok {
			// Not expanded: KeySet verifies with the generic verifier.
			return
		}
		if got := k.verify(msg, sig); got != want {
			t.Errorf("%s: fast %v, crypto/ed25519 %v (key %x, sig %x)", name, got, want, pub, sig)
		}
	}
	accepted := 0
	for _, a := range smallOrder {
		// S = 0, R = identity: [0]B - [k]A is the identity when A is.
		for _, r := range smallOrder {
			sig := append(append([]byte(nil), r...), make([]byte, 32)...)
			check("small-order key, small-order R, S=0", a, sig)
			if ed25519.Verify(a, msg, sig) {
				accepted++
			}
		}
		// R = [s]B, S = s: valid when [k]A is the identity.
		for range 16 {
			r, s := knownR()
			check("small-order key, R = [s]B", a, append(r, s...))
		}
	}
	if accepted == 0 {
		t.Fatal("no small-order signature was accepted: the cases test nothing")
	}
	// A real key with small-order and non-canonical R.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(priv, msg)
	for _, r := range smallOrder {
		check("small-order R", pub, append(append([]byte(nil), r...), sig[32:]...))
	}
	check("valid", pub, sig)
}

// BenchmarkEd25519Verify: one record signature check, the bulk of a
// report's and `audit verify`'s CPU; crypto/ed25519 for comparison.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1100) // a placement record
	rand.Read(msg)
	sig := ed25519.Sign(priv, msg)
	b.Run("keyset", func(b *testing.B) {
		k, _ := newEd25519Key(pub)
		for b.Loop() {
			if !k.verify(msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
}
