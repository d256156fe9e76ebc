package audit

import (
	"context"
	"crypto"
	"errors"

	"golang.org/x/mod/sumdb/note"
)

// TrustedLog is a log as an auditor trusts it: where to read it, the keys
// its records must be signed with, the key its checkpoints must be signed
// with, and the witnesses that must have cosigned them. Verifying a log,
// reporting on it and replaying its decisions all start from one, built once
// (from the command line's flags, or with NewTrustedLog).
type TrustedLog struct {
	// Location names the log (a directory or URL) in summaries.
	Location string
	Source   Source
	// Keys verify record signatures; KeysPEM is the same keys as read
	// (signing.pub), for an evidence pack to carry.
	Keys    []crypto.PublicKey
	KeysPEM []byte
	// Verifier checks checkpoint signatures; VerifierKey is its key as read
	// (log.vkey), for an evidence pack to carry.
	Verifier    note.Verifier
	VerifierKey string
	// Witnesses, if any, must each have cosigned the checkpoint: one they
	// never accepted may be a split view (see CheckCosigned).
	Witnesses []note.Verifier
}

// NewTrustedLog is the log at location, read through src, as trusted with
// keysPEM (the record signing public keys, signing.pub) and verifierKey (the
// checkpoint verifier key, log.vkey).
func NewTrustedLog(location string, src Source, keysPEM []byte, verifierKey string) (*TrustedLog, error) {
	keys, err := ParsePublicKeys(keysPEM)
	if err != nil {
		return nil, err
	}
	v, err := NoteVerifier(verifierKey)
	if err != nil {
		return nil, err
	}
	return &TrustedLog{Location: location, Source: src, Keys: keys, KeysPEM: keysPEM, Verifier: v, VerifierKey: verifierKey}, nil
}

// Validate reports what t lacks to verify a log: a source, public keys that
// can verify signatures, and a checkpoint verifier.
func (t *TrustedLog) Validate() error {
	if t == nil || t.Source == nil || t.Verifier == nil || len(t.Keys) == 0 {
		return errors.New("a log, its public keys and its checkpoint verifier key are required")
	}
	_, err := NewKeySet(t.Keys...)
	return err
}

// Verify checks the whole log, as VerifyLog does (with pin, if not nil),
// then that every witness cosigned its checkpoint. The Summary is filled as
// far as verification got.
func (t *TrustedLog) Verify(ctx context.Context, pin *Checkpoint) (Summary, error) {
	sum, err := VerifyLog(ctx, t.Source, t.Keys, t.Verifier, pin)
	if err == nil && len(t.Witnesses) > 0 {
		err = CheckCosigned([]byte(sum.Checkpoint), t.Witnesses...)
	}
	return sum, err
}

// Checkpoint returns the log's latest checkpoint once it is trusted: its
// signature verifies and every witness cosigned it. With full, the whole log
// is verified against it first (Verify). A failure is a *VerifyError
// (FailCheckpoint when the checkpoint cannot be read or its signature does
// not verify), or ctx's error.
func (t *TrustedLog) Checkpoint(ctx context.Context, full bool) (*Checkpoint, error) {
	var raw []byte
	if full {
		sum, err := VerifyLog(ctx, t.Source, t.Keys, t.Verifier, nil)
		if err != nil {
			return nil, err
		}
		raw = []byte(sum.Checkpoint)
	} else {
		var err error
		if raw, err = t.Source.ReadCheckpoint(ctx); err != nil {
			return nil, &VerifyError{Index: -1, What: FailCheckpoint, Err: err}
		}
	}
	cp, err := ParseCheckpoint(raw, t.Verifier)
	if err != nil {
		return nil, &VerifyError{Index: -1, What: FailCheckpoint, Err: err}
	}
	if err := CheckCosigned(raw, t.Witnesses...); err != nil {
		return nil, err
	}
	return cp, nil
}
