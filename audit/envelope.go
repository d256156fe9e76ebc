package audit

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
)

// sealer signs records into log entries.
type sealer struct {
	signer signature.Signer
	keyID  string
}

func newSealer(sv signature.SignerVerifier) (*sealer, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing key: public key: %w", err)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &sealer{signer: sv, keyID: id}, nil
}

// seal returns the entry bytes for a prepared record.
func (s *sealer) seal(r *Record) ([]byte, error) {
	rec, err := r.encode(true)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrInvalidRecord, err)
	}
	sig, err := s.signer.SignMessage(bytes.NewReader(rec))
	if err != nil {
		return nil, fmt.Errorf("%w: sign record: %w", ErrUnavailable, err)
	}
	return encodeEnvelope(s.keyID, rec, sig), nil
}

// encodeEnvelope writes the canonical envelope without a round trip through
// the canonicalizer: key_id and the base64 signature need no escaping, and rec
// is canonical already.
func encodeEnvelope(keyID string, rec, sig []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(rec) + len(keyID) + base64.StdEncoding.EncodedLen(len(sig)) + 48)
	b.WriteString(`{"key_id":`)
	writeCanonString(&b, keyID)
	b.WriteString(`,"record":`)
	b.Write(rec)
	b.WriteString(`,"signature":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(sig))
	b.WriteString(`"}`)
	return b.Bytes()
}

// Envelope is a decoded log entry.
type Envelope struct {
	KeyID string
	// RecordJSON is the canonical record exactly as signed.
	RecordJSON json.RawMessage
	Signature  []byte
}

// DecodeEnvelope splits a log entry into its parts without checking the
// signature. The entry must have the canonical layout this package writes
// ({"key_id":"<hex>","record":{…},"signature":"<base64>"}); anything else is
// an error. Parsing the layout directly, rather than with encoding/json, is a
// quarter of the cost of verifying a large log.
func DecodeEnvelope(entry []byte) (Envelope, error) {
	const (
		head   = `{"key_id":"`
		mid    = `","record":`
		sigKey = `,"signature":"`
		tail   = `"}`
	)
	bad := func(why string) (Envelope, error) {
		return Envelope{}, fmt.Errorf("entry is not a canonical envelope: %s", why)
	}
	rest, ok := bytes.CutPrefix(entry, []byte(head))
	if !ok {
		return bad("no key_id first")
	}
	keyID, rest, ok := bytes.Cut(rest, []byte(mid))
	if !ok || len(keyID) == 0 {
		return bad("no record after key_id")
	}
	for _, c := range keyID {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return bad("key_id is not lower-case hex")
		}
	}
	rest, ok = bytes.CutSuffix(rest, []byte(tail))
	if !ok {
		return bad("no closing signature")
	}
	i := bytes.LastIndex(rest, []byte(sigKey))
	if i < 0 {
		return bad("no signature after record")
	}
	rec, sigB64 := rest[:i], rest[i+len(sigKey):]
	if len(rec) < 2 || rec[0] != '{' || rec[len(rec)-1] != '}' {
		return bad("record is not an object")
	}
	sig := make([]byte, base64.StdEncoding.DecodedLen(len(sigB64)))
	n, err := base64.StdEncoding.Decode(sig, sigB64)
	if err != nil || n == 0 {
		return bad("signature is not base64")
	}
	return Envelope{KeyID: string(keyID), RecordJSON: rec, Signature: sig[:n]}, nil
}

// Record decodes the envelope's record.
func (e Envelope) Record() (*Record, error) {
	var r Record
	if err := json.Unmarshal(e.RecordJSON, &r); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return &r, nil
}

// KeySet holds the public keys a verifier accepts, by key id.
type KeySet struct {
	verifiers map[string]signature.Verifier
	// ed25519 holds the Ed25519 keys decoded once (ed25519fast.go).
	ed25519 map[string]*ed25519Key
}

// NewKeySet builds a KeySet; Ed25519 keys verify the message itself, ECDSA and
// RSA keys verify its SHA-256 (as the signers in this package sign).
func NewKeySet(keys ...crypto.PublicKey) (*KeySet, error) {
	ks := &KeySet{verifiers: make(map[string]signature.Verifier, len(keys)), ed25519: map[string]*ed25519Key{}}
	for _, k := range keys {
		id, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		v, err := signature.LoadVerifier(k, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", id, err)
		}
		ks.verifiers[id] = v
		if pub, ok := k.(ed25519.PublicKey); ok {
			if fast, ok := newEd25519Key(pub); ok {
				ks.ed25519[id] = fast
			}
		}
	}
	return ks, nil
}

// KeyIDs lists the ids of the keys in the set.
func (ks *KeySet) KeyIDs() []string {
	ids := make([]string, 0, len(ks.verifiers))
	for id := range ks.verifiers {
		ids = append(ids, id)
	}
	return ids
}

// Verify checks the envelope's signature over its record bytes.
func (ks *KeySet) Verify(e Envelope) error {
	if k, ok := ks.ed25519[e.KeyID]; ok {
		if !k.verify(e.RecordJSON, e.Signature) {
			return fmt.Errorf("signature by key %s does not verify: invalid Ed25519 signature", e.KeyID)
		}
		return nil
	}
	v, ok := ks.verifiers[e.KeyID]
	if !ok {
		return fmt.Errorf("signed by unknown key %s", e.KeyID)
	}
	if err := v.VerifySignature(bytes.NewReader(e.Signature), bytes.NewReader(e.RecordJSON)); err != nil {
		return fmt.Errorf("signature by key %s does not verify: %w", e.KeyID, err)
	}
	return nil
}
