package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

func newDriftCmd() *cobra.Command {
	var inventory, active, next, at, until, tenant, format string
	cmd := &cobra.Command{
		Use:   "drift --inventory DIR [--until DATE] [--bundle NEW] [--format table|json]",
		Short: "List the stored copies and flows of the inventory's current state that are out of compliance, and since when",
		Long: `Drift judges where data is today - the current: section of the inventory, each
stored copy as a placement and each flow as a transfer - under the active bundle
(--active-bundle, default the built-in one) on today's date (--at), and lists
what is out of compliance with the rules, citations and the first day of it.

  --until DATE   forecast: also list what is compliant now but refused on a day up
                 to DATE (certificates ending, exemptions expiring, reference data
                 ending), with the changes that cause it.
  --bundle NEW   what a change would break: judge the same state under NEW too and
                 list what NEW refuses that the active bundle allows (and the reverse).

Nothing is written to the audit log; GET /v1/drift on a server is the recorded
form. docs/drift.md explains how "since" is found.

Exit codes: 0 nothing out of compliance (nor broken by --bundle), 1 something is,
2 error (bad inventory, bad bundle, bad date).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --bundle names the bundle to compare with; SOVEREIGN_BUNDLE is
			// the serving bundle of other commands, never this one's.
			explicit := cmd.Flags().Changed("bundle")
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if !explicit {
				next = ""
			}
			if inventory == "" {
				return errors.New("drift: --inventory is required")
			}
			if format != "table" && format != "json" {
				return fmt.Errorf("drift: --format %q: want table or json", format)
			}
			o := drift.Options{Tenant: tenant}
			var err error
			if o.At, err = parseDay("at", at); err != nil {
				return err
			}
			if o.Until, err = parseDay("until", until); err != nil {
				return err
			}
			p, err := loadPolicy(active)
			if err != nil {
				return fmt.Errorf("drift: %w", err)
			}
			inv, err := engine.LoadInventory(inventory)
			if err != nil {
				return fmt.Errorf("drift: inventory %s:\n%w", inventory, err)
			}
			if o.Engine, err = engine.New(cmd.Context(), p, inv); err != nil {
				return fmt.Errorf("drift: %w", err)
			}
			if next != "" {
				np, err := engine.LoadPolicy(next)
				if err != nil {
					return fmt.Errorf("drift: --bundle %s: %w", next, err)
				}
				if o.Compare, err = engine.New(cmd.Context(), np, inv); err != nil {
					return fmt.Errorf("drift: --bundle %s: %w", next, err)
				}
			}
			// On a terminal, a progress bar on stderr: a large inventory
			// takes a while.
			bar := newProgressBar(cmd.ErrOrStderr(), false, "judging")
			var mu sync.Mutex
			o.Progress = func(done, total int) {
				mu.Lock()
				bar.update(uint64(done), uint64(total))
				mu.Unlock()
			}
			r, err := drift.Run(cmd.Context(), o)
			bar.done()
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			} else {
				err = drift.WriteTable(cmd.OutOrStdout(), r)
			}
			if err != nil {
				return err
			}
			if len(r.OutOfCompliance) > 0 || (r.Change != nil && len(r.Change.Breaks) > 0) {
				return errQuietFail
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&inventory, "inventory", "", "inventory directory, with its current: state")
	cmd.Flags().StringVar(&active, "active-bundle", "", "the bundle in force: a directory or an OPA .tar.gz (default: the built-in bundle)")
	cmd.Flags().StringVar(&next, "bundle", "", "a bundle to compare with: what would it break?")
	cmd.Flags().StringVar(&at, "at", "", "judge as of this day (YYYY-MM-DD or RFC 3339; default now)")
	cmd.Flags().StringVar(&until, "until", "", "forecast up to and including this day (YYYY-MM-DD)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's datasets")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// parseDay reads a flag's date (YYYY-MM-DD, midnight UTC) or RFC 3339 time;
// empty is the zero time.
func parseDay(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("drift: --%s %q: want a date YYYY-MM-DD or an RFC 3339 time", flag, v)
}
