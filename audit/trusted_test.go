package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func TestTrustedLogValidate(t *testing.T) {
	tl, _ := smallLog(t, 3)
	if err := tl.Validate(); err != nil {
		t.Fatalf("a whole trusted log: %v", err)
	}
	for name, edit := range map[string]func(*TrustedLog){
		"no source":   func(t *TrustedLog) { t.Source = nil },
		"no keys":     func(t *TrustedLog) { t.Keys = nil },
		"no verifier": func(t *TrustedLog) { t.Verifier = nil },
		"a key that verifies nothing": func(t *TrustedLog) {
			t.Keys = append(t.Keys, "not a key")
		},
	} {
		broken := *tl
		edit(&broken)
		if err := broken.Validate(); err == nil {
			t.Errorf("%s: Validate passed", name)
		}
	}
	if err := (*TrustedLog)(nil).Validate(); err == nil {
		t.Error("nil: Validate passed")
	}
}

// TestTrustedLogWitnesses: a checkpoint is trusted only once every witness
// named has cosigned it, in window and full verification alike.
func TestTrustedLogWitnesses(t *testing.T) {
	tl, _ := smallLog(t, 5)
	ctx := context.Background()
	skey, _, err := note.GenerateKey(rand.Reader, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	witness, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	tl.Witnesses = []note.Verifier{witness.Verifier()}
	for _, full := range []bool{false, true} {
		_, err := tl.Checkpoint(ctx, full)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.What != FailWitness {
			t.Fatalf("full %t: checkpoint the witness never saw: %v, want a %s failure", full, err, FailWitness)
		}
	}
	if _, err := tl.Verify(ctx, nil); !errors.As(err, new(*VerifyError)) {
		t.Fatalf("Verify of a checkpoint the witness never saw: %v", err)
	}

	// The witness cosigns the published checkpoint.
	path := filepath.Join(tl.Location, LogDir, "checkpoint")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(raw, note.VerifierList(tl.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, witness)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, cosigned, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		if cp, err := tl.Checkpoint(ctx, full); err != nil || cp.Size != 5 {
			t.Fatalf("full %t: cosigned checkpoint: %+v, %v", full, cp, err)
		}
	}
	if _, err := tl.Verify(ctx, nil); err != nil {
		t.Fatalf("Verify of a cosigned log: %v", err)
	}
}
