package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Saturation is the summary of a -find-saturation sweep.
type Saturation struct {
	Label            string    `json:"label,omitempty"`
	Mode             string    `json:"mode"` // find-saturation
	URL              string    `json:"url"`
	MaxOKRPS         float64   `json:"max_ok_rps"`
	BestConcurrency  int       `json:"best_concurrency"`
	LatencyAtBest    Latency   `json:"latency_at_best"`
	LevelDurationS   float64   `json:"level_duration_s"`
	Levels           []*Result `json:"levels"`
	LoadgenCoresMean float64   `json:"loadgen_cores_mean"`
}

// findSaturation runs the closed loop at each concurrency level, sharing one client so
// connections stay warm, and reports the level with the most successful requests/s.
func findSaturation(ctx context.Context, cfg Config, levels []int, asJSON bool, w io.Writer) (*Saturation, error) {
	if err := cfg.valid(); err != nil {
		return nil, err
	}
	cfg.client = cfg.newClient(slices.Max(levels))
	defer cfg.client.CloseIdleConnections()
	sat := &Saturation{Label: cfg.Label, Mode: "find-saturation", URL: cfg.URL, LevelDurationS: cfg.Duration.Seconds()}
	if cfg.Warmup > 0 {
		warm := cfg
		warm.Duration, warm.Warmup, warm.Concurrency = cfg.Warmup, 0, max(cfg.Concurrency, 4)
		if _, err := run1(ctx, warm); err != nil {
			return nil, err
		}
	}
	if !asJSON {
		fmt.Fprintf(w, "find-saturation %s  %s per level\n", cfg.URL, cfg.Duration)
		fmt.Fprintf(w, "%5s %10s %9s %9s %9s %9s %8s  %s\n", "conc", "ok req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "loadgen", "errors")
	}
	var cores float64
	for _, c := range levels {
		l := cfg
		l.Concurrency, l.Warmup = c, 0
		res, err := run1(ctx, l)
		if err != nil {
			return nil, err
		}
		sat.Levels = append(sat.Levels, res)
		cores += res.Loadgen.Cores
		if res.OKRPS > sat.MaxOKRPS {
			sat.MaxOKRPS, sat.BestConcurrency, sat.LatencyAtBest = res.OKRPS, c, res.Latency
		}
		if asJSON {
			if err := writeJSON(w, res); err != nil {
				return nil, err
			}
		} else {
			fmt.Fprintf(w, "%5d %10.0f %9.3f %9.3f %9.3f %9.3f %8.2f  %s\n", c, res.OKRPS,
				res.Latency.P50, res.Latency.P90, res.Latency.P99, res.Latency.Max, res.Loadgen.Cores, errorSummary(res))
		}
	}
	sat.LoadgenCoresMean = cores / float64(len(levels))
	if asJSON {
		return sat, writeJSON(w, sat)
	}
	fmt.Fprintf(w, "saturation: %.0f ok req/s at concurrency %d (p50 %.3f ms, p99 %.3f ms)\n",
		sat.MaxOKRPS, sat.BestConcurrency, sat.LatencyAtBest.P50, sat.LatencyAtBest.P99)
	return sat, nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func errorSummary(r *Result) string {
	if r.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.ErrorsBy)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, r.ErrorsBy[k]))
	}
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, " "))
}

func writeTable(w io.Writer, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := r.URL
	if r.Label != "" {
		name = r.Label + "  " + r.URL
	}
	fmt.Fprintf(tw, "target\t%s\n", name)
	if r.Mode == "open" {
		fmt.Fprintf(tw, "mode\topen loop, %.0f req/s scheduled, up to %d in flight, %s\n",
			r.TargetRate, r.Concurrency, time.Duration(r.DurationS*float64(time.Second)))
	} else {
		fmt.Fprintf(tw, "mode\tclosed loop, concurrency %d, %s\n", r.Concurrency, time.Duration(r.DurationS*float64(time.Second)))
	}
	fmt.Fprintf(tw, "requests\t%d in %.2fs = %.1f req/s (ok %d = %.1f req/s)\n", r.Requests, r.ElapsedS, r.RPS, r.OK, r.OKRPS)
	fmt.Fprintf(tw, "errors\t%s\n", errorSummary(r))
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first error\t%s\n", r.FirstError)
	}
	lat := func(label string, l Latency) {
		fmt.Fprintf(tw, "%s\tp50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f ms\n", label, l.P50, l.P90, l.P99, l.Max, l.Mean)
	}
	if r.Mode == "open" {
		lat("latency (from schedule)", r.Latency)
		lat("service (from send)", *r.Service)
		lat("send lag", *r.SendLag)
	} else {
		lat("latency", r.Latency)
	}
	fmt.Fprintf(tw, "loadgen cpu\t%.2f cores (user %.2fs, sys %.2fs)\n", r.Loadgen.Cores, r.Loadgen.UserS, r.Loadgen.SysS)
	tw.Flush()
}
