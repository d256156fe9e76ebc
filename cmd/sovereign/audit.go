package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-engine/sovereign/audit"
	_ "github.com/sovereign-engine/sovereign/audit/kms" // KMS URIs for --signing-key
)

// newAuditCmd is the auditor's side of the audit log: verify it offline, read it.
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the signed audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditTailCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var logLoc, pubKeyFile, logKeyFile, pinFile, savePin string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify --log DIR|URL --public-key FILE [--log-key FILE] [--pin CHECKPOINT]",
		Short: "Verify the whole log: checkpoint signature, tree, every record signature, pinned checkpoint",
		Long: `Verify rebuilds the Merkle tree from every entry and compares it with the signed
checkpoint and the hash tiles, checks every record's signature, and, given a
checkpoint pinned earlier, checks that the log extends it. It needs only the log
(a directory or the URL of its tiles), the signing public keys (signing.pub) and
the log's checkpoint verifier key (log.vkey, by default next to --public-key).
It exits 1 naming the first failing index and the check that failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if logKeyFile == "" {
				logKeyFile = filepath.Join(filepath.Dir(pubKeyFile), audit.LogVerifierKeyFile)
			}
			src, keys, v, err := openAuditSource(logLoc, pubKeyFile, logKeyFile)
			if err != nil {
				return err
			}
			var pin *audit.Checkpoint
			if pinFile != "" {
				raw, err := os.ReadFile(pinFile)
				if err != nil {
					return fmt.Errorf("pin: %w", err)
				}
				if pin, err = audit.ParseCheckpoint(raw, v); err != nil {
					return fmt.Errorf("pin %s: %w", pinFile, err)
				}
			}
			sum, verr := audit.VerifyLog(cmd.Context(), src, keys, v, pin)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				report := struct {
					audit.Summary
					OK    bool   `json:"ok"`
					Error string `json:"error,omitempty"`
					Index *int64 `json:"failed_index,omitempty"`
					What  string `json:"failed_check,omitempty"`
				}{Summary: sum, OK: verr == nil}
				var ve *audit.VerifyError
				if errors.As(verr, &ve) {
					report.Error, report.What = ve.Err.Error(), ve.What
					if ve.Index >= 0 {
						report.Index = &ve.Index
					}
				} else if verr != nil {
					report.Error = verr.Error()
				}
				if err := enc.Encode(report); err != nil {
					return err
				}
			} else {
				printSummary(out, sum, verr)
			}
			if verr != nil {
				var ve *audit.VerifyError
				if errors.As(verr, &ve) {
					return &exitError{code: 1, err: verr}
				}
				return verr
			}
			if savePin != "" {
				if err := os.WriteFile(savePin, []byte(sum.Checkpoint), 0o644); err != nil {
					return fmt.Errorf("save pin: %w", err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&logLoc, "log", "", "the log: a directory (a data dir or its log/) or the URL of its tiles root")
	f.StringVar(&pubKeyFile, "public-key", "", "PEM file of the record signing public keys (signing.pub)")
	f.StringVar(&logKeyFile, "log-key", "", "the log's checkpoint verifier key (log.vkey; default: next to --public-key)")
	f.StringVar(&pinFile, "pin", "", "a checkpoint verified earlier; the log must extend it")
	f.StringVar(&savePin, "save-pin", "", "after success, write the verified checkpoint here (the next run's --pin)")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	_ = cmd.MarkFlagRequired("log")
	_ = cmd.MarkFlagRequired("public-key")
	return cmd
}

func printSummary(w io.Writer, s audit.Summary, verr error) {
	if s.Origin != "" {
		fmt.Fprintf(w, "log:         %s\n", s.Origin)
		fmt.Fprintf(w, "checkpoint:  size %d, root %s\n", s.TreeSize, s.Root)
	}
	if verr == nil {
		kinds := make([]string, 0, len(s.Kinds))
		for k := range s.Kinds {
			kinds = append(kinds, string(k))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "records:     %d\n", s.TreeSize)
		for _, k := range kinds {
			fmt.Fprintf(w, "  %-22s %d\n", k, s.Kinds[audit.Kind(k)])
		}
		for id, n := range s.KeyIDs {
			fmt.Fprintf(w, "signed by:   %s (%d)\n", id, n)
		}
		if !s.FirstTime.IsZero() {
			fmt.Fprintf(w, "span:        %s → %s\n", s.FirstTime.Format(time.RFC3339), s.LastTime.Format(time.RFC3339))
		}
		if s.PinnedSize > 0 {
			fmt.Fprintf(w, "pinned:      size %d, extended consistently\n", s.PinnedSize)
		}
		fmt.Fprintf(w, "verified in: %v\nOK\n", s.Duration.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "FAILED: %v\n", verr)
}

func newAuditTailCmd() *cobra.Command {
	var logLoc, logKeyFile string
	var n uint64
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "tail --log DIR|URL [-n N] [--follow]",
		Short: "Print the last records of the log as JSON lines",
		Long: `Tail prints the last N entries of the log, one JSON object a line:
{"index":…,"entry_sha256":…,"key_id":…,"record":{…},"signature":…}. With
--follow it keeps polling the checkpoint and prints entries as they are
published. With --log-key the checkpoint's signature is checked; tail does not
check record signatures (verify does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := audit.NewSource(logLoc)
			if err != nil {
				return err
			}
			var nv note.Verifier
			if logKeyFile != "" {
				vkey, err := os.ReadFile(logKeyFile)
				if err != nil {
					return fmt.Errorf("log key: %w", err)
				}
				if nv, err = audit.NoteVerifier(string(vkey)); err != nil {
					return err
				}
			}
			size := func(ctx context.Context) (uint64, error) {
				raw, err := src.ReadCheckpoint(ctx)
				if err != nil {
					return 0, fmt.Errorf("checkpoint: %w", err)
				}
				if nv != nil {
					cp, err := audit.ParseCheckpoint(raw, nv)
					if err != nil {
						return 0, fmt.Errorf("checkpoint: %w", err)
					}
					return cp.Size, nil
				}
				cp, err := audit.PeekCheckpoint(raw)
				if err != nil {
					return 0, err
				}
				return cp.Size, nil
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			cur, err := size(ctx)
			if err != nil {
				return err
			}
			from := uint64(0)
			if cur > n {
				from = cur - n
			}
			for {
				if err := printEntries(ctx, out, src, cur, from); err != nil {
					return err
				}
				if !follow {
					return nil
				}
				from = cur
				for cur <= from {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(interval):
					}
					if cur, err = size(ctx); err != nil {
						return err
					}
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&logLoc, "log", "", "the log: a directory (a data dir or its log/) or the URL of its tiles root")
	f.StringVar(&logKeyFile, "log-key", "", "check the checkpoint with this verifier key (log.vkey)")
	f.Uint64VarP(&n, "lines", "n", 10, "how many of the last records to print")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing records as they are published")
	f.DurationVar(&interval, "interval", time.Second, "how often --follow polls the checkpoint")
	_ = cmd.MarkFlagRequired("log")
	return cmd
}

// printEntries writes entries [from, size) as JSON lines.
func printEntries(ctx context.Context, w io.Writer, src audit.Source, size, from uint64) error {
	enc := json.NewEncoder(w)
	for e, err := range audit.Entries(ctx, src, size, from, size) {
		if err != nil {
			return err
		}
		line, err := audit.DecodeEntry(e)
		if err != nil {
			return fmt.Errorf("entry %d: %w", e.Index, err)
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// openAuditSource opens the log and the auditor's keys.
func openAuditSource(logLoc, pubKeyFile, logKeyFile string) (audit.Source, []crypto.PublicKey, note.Verifier, error) {
	src, err := audit.NewSource(logLoc)
	if err != nil {
		return nil, nil, nil, err
	}
	pemBytes, err := os.ReadFile(pubKeyFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("public key: %w", err)
	}
	keys, err := audit.ParsePublicKeys(pemBytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("public key %s: %w", pubKeyFile, err)
	}
	vkey, err := os.ReadFile(logKeyFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("log key (--log-key): %w", err)
	}
	v, err := audit.NoteVerifier(string(vkey))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("log key %s: %w", logKeyFile, err)
	}
	return src, keys, v, nil
}
