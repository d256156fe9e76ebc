package main

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-engine/sovereign/audit"
)

// trustedLogFlags name the log an auditor reads and what it is trusted with:
// the record signing keys, the checkpoint verifier key and the witnesses that
// must have cosigned the checkpoint. 'audit verify', 'audit export' and
// 'diff --replay' share them, so each reads them one way, every key file
// once, into one audit.TrustedLog.
type trustedLogFlags struct {
	log, publicKey, logKey string
	witnessKeys            []string
}

// register adds to cmd the log's flag as --<logFlag> with logUsage, and
// --public-key, --log-key and --witness-key with their usage after prefix
// (diff says "with --replay: ").
func (f *trustedLogFlags) register(cmd *cobra.Command, logFlag, logUsage, prefix string) {
	fs := cmd.Flags()
	fs.StringVar(&f.log, logFlag, "", logUsage)
	fs.StringVar(&f.publicKey, "public-key", "", prefix+"PEM file of the record signing public keys (signing.pub)")
	fs.StringVar(&f.logKey, "log-key", "", prefix+"the log's checkpoint verifier key (log.vkey; default: next to --public-key)")
	fs.StringArrayVar(&f.witnessKeys, "witness-key", nil, prefix+"require the checkpoint to be cosigned by this witness: its verifier key or a file holding it (witness.vkey); repeat for several")
}

// open makes the trusted log of the flags: --log-key defaults to log.vkey
// beside --public-key.
func (f *trustedLogFlags) open() (*audit.TrustedLog, error) {
	witnesses, err := f.witnesses()
	if err != nil {
		return nil, err
	}
	src, err := audit.NewSource(f.log)
	if err != nil {
		return nil, err
	}
	pemBytes, keys, err := readPublicKeys(f.publicKey)
	if err != nil {
		return nil, err
	}
	logKey := f.logKey
	if logKey == "" {
		logKey = filepath.Join(filepath.Dir(f.publicKey), audit.LogVerifierKeyFile)
	}
	vkey, v, err := readLogKey(logKey)
	if err != nil {
		return nil, err
	}
	return &audit.TrustedLog{Location: f.log, Source: src, Keys: keys, KeysPEM: pemBytes, Verifier: v, VerifierKey: vkey, Witnesses: witnesses}, nil
}

// auditorKeys reads --public-key and --log-key where given, for a check that
// can fall back on keys of its own (an evidence pack's): nil where not.
func (f *trustedLogFlags) auditorKeys() ([]crypto.PublicKey, note.Verifier, error) {
	var keys []crypto.PublicKey
	var v note.Verifier
	var err error
	if f.publicKey != "" {
		if _, keys, err = readPublicKeys(f.publicKey); err != nil {
			return nil, nil, err
		}
	}
	if f.logKey != "" {
		if _, v, err = readLogKey(f.logKey); err != nil {
			return nil, nil, err
		}
	}
	return keys, v, nil
}

// witnesses parses --witness-key.
func (f *trustedLogFlags) witnesses() ([]note.Verifier, error) {
	witnesses := make([]note.Verifier, 0, len(f.witnessKeys))
	for _, k := range f.witnessKeys {
		w, err := audit.WitnessVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("--witness-key: %w", err)
		}
		witnesses = append(witnesses, w)
	}
	return witnesses, nil
}

// readPublicKeys reads a PEM file of record signing public keys.
func readPublicKeys(file string) ([]byte, []crypto.PublicKey, error) {
	pemBytes, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	keys, err := audit.ParsePublicKeys(pemBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("public key %s: %w", file, err)
	}
	return pemBytes, keys, nil
}

// readLogKey reads a checkpoint verifier key file (log.vkey).
func readLogKey(file string) (string, note.Verifier, error) {
	vkey, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("log key (--log-key): %w", err)
	}
	v, err := audit.NoteVerifier(string(vkey))
	if err != nil {
		return "", nil, fmt.Errorf("log key %s: %w", file, err)
	}
	return string(vkey), v, nil
}
