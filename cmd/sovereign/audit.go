package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/term"

	"github.com/sovereign-engine/sovereign/audit"
	_ "github.com/sovereign-engine/sovereign/audit/kms" // KMS URIs for --signing-key
	"github.com/sovereign-engine/sovereign/audit/report"
)

// newAuditCmd is the auditor's side of the audit log: verify it offline, read it.
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the signed audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditTailCmd(), newAuditExportCmd())
	return cmd
}

// logUsage is the --log flag of the commands that read a log.
const logUsage = "the log: a directory (a data dir or its log/) or the URL of its tiles root"

func newAuditVerifyCmd() *cobra.Command {
	var trust trustedLogFlags
	var pinFile, savePin, evidence string
	var quiet bool
	var format *outputFormat
	cmd := &cobra.Command{
		Use:   "verify (--log DIR|URL --public-key FILE [--log-key FILE] [--pin CHECKPOINT] [--witness-key KEY] | --evidence FILE)",
		Short: "Verify the whole log: checkpoint signature, tree, every record signature, pinned checkpoint",
		Long: `Verify rebuilds the Merkle tree from every entry and compares it with the signed
checkpoint and the hash tiles, checks every record's signature, and, given a
checkpoint pinned earlier, checks that the log extends it. It needs only the log
(a directory or the URL of its tiles), the signing public keys (signing.pub) and
the log's checkpoint verifier key (log.vkey, by default next to --public-key).
It exits 1 naming the first failing index and the check that failed.

With --evidence it checks an evidence pack written by 'audit export --format
evidence' instead, offline: the checkpoint's signature, every record's signature
and inclusion proof, and that the pack holds what its query says. --public-key and
--log-key, if given, are used instead of the keys inside the pack.

With --witness-key (either form) the checkpoint must also carry a valid
cosignature of that witness: a checkpoint the witness never accepted may be a
split view, a history other readers are not shown (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := format.json()
			if err != nil {
				return err
			}
			if evidence != "" {
				return verifyEvidence(cmd, evidence, &trust, asJSON)
			}
			if trust.log == "" || trust.publicKey == "" {
				return errors.New(`verify: --log and --public-key are required (or --evidence)`)
			}
			tl, err := trust.open()
			if err != nil {
				return err
			}
			var pin *audit.Checkpoint
			if pinFile != "" {
				raw, err := os.ReadFile(pinFile)
				if err != nil {
					return fmt.Errorf("pin: %w", err)
				}
				if pin, err = audit.ParseCheckpoint(raw, tl.Verifier); err != nil {
					return fmt.Errorf("pin %s: %w", pinFile, err)
				}
			}
			batchGC()
			bar := newProgressBar(cmd.ErrOrStderr(), quiet, "verify")
			sum, verr := tl.Verify(audit.WithProgress(cmd.Context(), bar.update), pin)
			bar.done()
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				doc := struct {
					audit.Summary
					OK    bool   `json:"ok"`
					Error string `json:"error,omitempty"`
					Index *int64 `json:"failed_index,omitempty"`
					What  string `json:"failed_check,omitempty"`
				}{Summary: sum, OK: verr == nil}
				var ve *audit.VerifyError
				if errors.As(verr, &ve) {
					doc.Error, doc.What = ve.Err.Error(), ve.What
					if ve.Index >= 0 {
						doc.Index = &ve.Index
					}
				} else if verr != nil {
					doc.Error = verr.Error()
				}
				if err := enc.Encode(doc); err != nil {
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
	trust.register(cmd, "log", logUsage, "")
	f := cmd.Flags()
	f.StringVar(&pinFile, "pin", "", "a checkpoint verified earlier; the log must extend it")
	f.StringVar(&savePin, "save-pin", "", "after success, write the verified checkpoint here (the next run's --pin)")
	format = addOutputFormat(cmd)
	f.StringVar(&evidence, "evidence", "", "verify this evidence pack (.tar.gz from 'audit export --format evidence') instead of a log")
	f.BoolVar(&quiet, "quiet", false, "no progress bar (there is none when stderr is not a terminal)")
	return cmd
}

func printSummary(w io.Writer, s audit.Summary, verr error) {
	if s.Origin != "" {
		fmt.Fprintf(w, "log:         %s\n", s.Origin)
		fmt.Fprintf(w, "checkpoint:  size %d, root %s\n", s.TreeSize, s.Root)
	}
	if verr == nil {
		fmt.Fprintf(w, "records:     %d\n", s.TreeSize)
		for _, k := range slices.Sorted(maps.Keys(s.Kinds)) {
			fmt.Fprintf(w, "  %-22s %d\n", k, s.Kinds[k])
		}
		for _, id := range slices.Sorted(maps.Keys(s.KeyIDs)) {
			fmt.Fprintf(w, "signed by:   key %s (%d records)\n", id, s.KeyIDs[id])
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
	f.StringVar(&logLoc, "log", "", logUsage)
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

// verifyEvidence checks an evidence pack offline, with the auditor's keys when
// given and the pack's otherwise.
func verifyEvidence(cmd *cobra.Command, file string, trust *trustedLogFlags, asJSON bool) error {
	witnesses, err := trust.witnesses()
	if err != nil {
		return err
	}
	keys, v, err := trust.auditorKeys()
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer f.Close()
	sum, verr := report.VerifyEvidence(cmd.Context(), f, keys, v)
	if verr == nil && len(witnesses) > 0 {
		verr = audit.CheckCosigned([]byte(sum.Checkpoint), witnesses...)
	}
	out := cmd.OutOrStdout()
	if asJSON {
		doc := struct {
			*report.EvidenceSummary
			OK    bool   `json:"ok"`
			Error string `json:"error,omitempty"`
		}{EvidenceSummary: sum, OK: verr == nil}
		if verr != nil {
			doc.Error = verr.Error()
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(out, "log:         %s\n", sum.Origin)
		fmt.Fprintf(out, "checkpoint:  size %d, root %s\n", sum.TreeSize, sum.RootHash)
		fmt.Fprintf(out, "records:     %d selected, %d entries with inclusion proofs\n", sum.Selected, sum.Entries)
		if sum.Complete {
			fmt.Fprintf(out, "complete:    every entry of the period's index window is in the pack\n")
		} else {
			fmt.Fprintf(out, "complete:    no (filtered: each record is proven in the log, not that none is missing)\n")
		}
		for _, id := range sum.KeyIDs {
			fmt.Fprintf(out, "signed by:   %s\n", id)
		}
		if sum.KeysInPack {
			fmt.Fprintf(out, "keys:        from the pack; compare the ids above with the keys you trust, or pass --public-key and --log-key\n")
		}
		fmt.Fprintln(out, "OK")
	}
	if verr != nil {
		var ee *report.EvidenceError
		var ve *audit.VerifyError
		if errors.As(verr, &ee) || errors.As(verr, &ve) {
			return &exitError{code: 1, err: verr}
		}
		return verr
	}
	return nil
}

func newAuditExportCmd() *cobra.Command {
	var trust trustedLogFlags
	var from, to, tenant, dataset, site, kind, format, output string
	var skew time.Duration
	var full, quiet, confined bool
	cmd := &cobra.Command{
		Use:   "export --log DIR|URL --public-key FILE [--log-key FILE] [--from T] [--to T] [--tenant X [--confined]] [--dataset D] [--site S] [--kind K] --format json|csv|html|pdf|evidence -o FILE",
		Short: "Write an auditor's report of a verified log: json, csv, html, pdf or an evidence pack",
		Long: `Export verifies the log (the checkpoint's signature, every record it reads: its
signature and its place in the checkpoint's tree; with --full-verify the whole log
first, as 'audit verify'), then writes the records of the period and scope as a
report naming the checkpoint it was verified against. It refuses to write a report
of a log that does not verify (exit 1) and leaves no partial file behind.

--from and --to are RFC 3339 times or dates (YYYY-MM-DD, UTC); --from is
inclusive, --to exclusive. The period is found by binary search on the index, not
by reading the whole log (see docs/reports.md). Formats: json, csv (one row per
record, documented columns), html (one self-contained page with charts), pdf,
evidence (.tar.gz with inclusion proofs, checked offline by 'audit verify
--evidence').

--tenant selects the records that belong to a tenant (their "tenants"), alone or
with others; with --confined, only those of that tenant alone, with a timeline
without refusals: the report the tenant's own principals get from the API, fit
to hand to the tenant (docs/authz.md).

With --witness-key the checkpoint must also carry a valid cosignature of that
witness, as for 'audit verify'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return err
			}
			batchGC()
			tl, err := trust.open()
			if err != nil {
				return err
			}
			if confined && tenant == "" {
				return errors.New("export: --confined needs --tenant: it confines the report to that tenant's records")
			}
			q := report.Query{Tenant: tenant, Confined: confined, Dataset: dataset, Site: site, Kind: audit.Kind(kind)}
			if q.From, err = parseReportTime("from", from); err != nil {
				return err
			}
			if q.To, err = parseReportTime("to", to); err != nil {
				return err
			}
			// Write beside the destination and rename on success: a report
			// refused half-way leaves nothing behind.
			dir := filepath.Dir(output)
			tmp, err := os.CreateTemp(dir, ".sovereign-export-*")
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer os.Remove(tmp.Name())
			bar := newProgressBar(cmd.ErrOrStderr(), quiet, "verifying and exporting")
			sum, err := report.Write(cmd.Context(), report.Options{
				Log: tl, Query: q, TimeSkew: skew, FullVerify: full, Progress: bar.update,
			}, f, tmp)
			bar.done()
			if cerr := tmp.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				var ve *audit.VerifyError
				if errors.As(err, &ve) {
					return &exitError{code: 1, err: fmt.Errorf("refusing to report: %w", err)}
				}
				return err
			}
			if err := os.Chmod(tmp.Name(), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), output); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d records of %s (checkpoint size %d, root %s; verified %d entries [%d, %d))\n",
				output, sum.Totals.Records, sum.Checkpoint.Origin, sum.Checkpoint.Size, sum.Checkpoint.RootHash,
				sum.Verification.Records, sum.Verification.FirstIndex, sum.Verification.EndIndex)
			return nil
		},
	}
	trust.register(cmd, "log", logUsage, "")
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "start of the period, inclusive (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&to, "to", "", "end of the period, exclusive (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&tenant, "tenant", "", "only records that belong to this tenant (the record's tenants, docs/reports.md)")
	fl.BoolVar(&confined, "confined", false, "with --tenant: only records of that tenant alone, as its own principals get them (docs/authz.md)")
	fl.StringVar(&dataset, "dataset", "", "only records about this dataset id")
	fl.StringVar(&site, "site", "", "only records naming this site")
	fl.StringVar(&kind, "kind", "", "only records of this kind (decision.placement, override, …)")
	fl.StringVar(&format, "format", "", "json, csv, html, pdf or evidence")
	completeFormats(cmd, "json", "csv", "html", "pdf", "evidence")
	fl.StringVarP(&output, "output", "o", "", "the file to write")
	fl.DurationVar(&skew, "time-skew", audit.DefaultTimeSkew, "how far record times may be out of index order")
	fl.BoolVar(&full, "full-verify", false, "verify the whole log first, as 'audit verify' (reads every entry)")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	for _, name := range []string{"log", "public-key", "format", "output"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// parseReportTime reads an RFC 3339 time or a date (midnight UTC).
func parseReportTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time or a date YYYY-MM-DD", name, v)
}

// progressBar draws a one-line bar on a terminal; on anything else (a pipe, a
// file, a CI log) it draws nothing.
type progressBar struct {
	w     io.Writer
	label string
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, quiet bool, label string) *progressBar {
	b := &progressBar{w: w, label: label, start: time.Now()}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		b.on = true
	}
	return b
}

func (b *progressBar) update(done, total uint64) {
	if !b.on || total == 0 {
		return
	}
	now := time.Now()
	if done < total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last, b.drawn = now, true
	const width = 30
	filled := int(done * width / total)
	rate := float64(done) / max(now.Sub(b.start).Seconds(), 0.001)
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d %3d%% %.0f/s ", b.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		done, total, done*100/total, rate)
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
