package audit

import (
	"errors"
	"fmt"
	"os"
	"strings"

	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

// FailWitness names a checkpoint that lacks a required witness cosignature
// (VerifyError.What).
const FailWitness = "witness"

// ParseWitnessPolicy reads a witness policy for Options.Witnesses, in the
// format Tessera reads (Sigsum's policy format with C2SP cosignature/v1
// verifier keys):
//
//	witness cp <witness vkey> https://control-plane.example/v1/witness
//	quorum cp
//
// Checkpoints are then submitted to each witness's URL + "/add-checkpoint".
func ParseWitnessPolicy(policy []byte) (*tessera.WitnessGroup, error) {
	wg, err := tessera.NewWitnessGroupFromPolicy(policy)
	if err != nil {
		return nil, fmt.Errorf("witness policy: %w", err)
	}
	if len(wg.Endpoints()) == 0 {
		return nil, errors.New("witness policy: no witness in the quorum (\"quorum none\" witnesses nothing; leave the policy out instead)")
	}
	return &wg, nil
}

// WitnessVerifier parses a witness's verifier key: the key itself
// ("<name>+<hash>+<base64>", as in the witness's witness.vkey), or the path of
// a file holding it.
func WitnessVerifier(keyOrFile string) (note.Verifier, error) {
	vkey := strings.TrimSpace(keyOrFile)
	if !strings.Contains(vkey, "+") {
		b, err := os.ReadFile(keyOrFile)
		if err != nil {
			return nil, fmt.Errorf("witness key: %w", err)
		}
		vkey = strings.TrimSpace(string(b))
	}
	v, err := f_note.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness key %q: %w", vkey, err)
	}
	return v, nil
}

// CheckCosigned reports, as a *VerifyError, every witness in ws that has not
// cosigned the checkpoint raw. A checkpoint verified against the log's key
// but not cosigned is one the witness never accepted: the log may be showing
// this reader a different history from the one everyone else sees.
func CheckCosigned(raw []byte, ws ...note.Verifier) error {
	var missing []string
	for _, w := range ws {
		if _, err := note.Open(raw, note.VerifierList(w)); err != nil {
			missing = append(missing, w.Name())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	size := "?"
	if cp, err := PeekCheckpoint(raw); err == nil {
		size = fmt.Sprint(cp.Size)
	}
	return &VerifyError{Index: -1, What: FailWitness, Err: fmt.Errorf(
		"checkpoint of size %s has no valid cosignature of witness %s: the witness never accepted this tree, which may be a split view (a history other readers are not shown)",
		size, strings.Join(missing, ", "))}
}
