package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/fleet"
)

// A site that cannot reach its control plane queues nothing: the report
// that gets through is the status then, with every decision counted since
// the last report taken, once.
func TestStatusReportsCoalesceWhileTheControlPlaneIsDown(t *testing.T) {
	ctx := context.Background()
	p, err := loadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Options{DataDir: t.TempDir(), Origin: "sovereign/test-site"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })

	var mu sync.Mutex
	down := true
	var taken []fleet.Report
	cp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, `{"error": {"code": "not_ready"}}`, http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var rep fleet.Report
		if err := engine.DecodeStrict(b, &rep); err != nil {
			t.Errorf("the control plane could not decode the report: %v", err)
		}
		if errs := rep.Check(); len(errs) > 0 {
			t.Errorf("the report does not check: %+v", errs)
		}
		taken = append(taken, rep)
		w.Write([]byte(`{"site": "test-site"}`))
	}))
	defer cp.Close()

	var answered, denied uint64
	site := &siteState{}
	site.inventoryRefused(errors.New("sites[3].country: missing"))
	r := &statusReporter{
		target: statusTarget{url: cp.URL, client: cp.Client(), siteID: "test-site"}, bundle: "policy.tar.gz",
		status: func() bundles.Status {
			return bundles.Status{ActiveRevision: "r1", ActiveDigest: "sha256:x", ActiveETag: "e1", RefusedETag: "e2", LastError: "read bundle: signature does not verify"}
		},
		engine: eng, log: l, state: site, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		counts: func() (uint64, uint64) { return answered, denied },
	}
	answered, denied = 10, 2
	if err := r.send(ctx); err == nil {
		t.Fatal("a report to a control plane that is down was taken")
	}
	answered, denied = 25, 3
	if err := r.send(ctx); err == nil {
		t.Fatal("a report to a control plane that is down was taken")
	}
	mu.Lock()
	down = false
	mu.Unlock()
	answered, denied = 40, 5
	if err := r.send(ctx); err != nil {
		t.Fatal(err)
	}
	answered, denied = 41, 5
	if err := r.send(ctx); err != nil {
		t.Fatal(err)
	}
	if len(taken) != 2 {
		t.Fatalf("%d reports taken, want 2", len(taken))
	}
	if m := taken[0].Metrics; m != (fleet.Metrics{Decisions: 40, Denials: 5}) {
		t.Errorf("first report taken counts %+v, want every decision since start", m)
	}
	if m := taken[1].Metrics; m != (fleet.Metrics{Decisions: 1, Denials: 0}) {
		t.Errorf("second report counts %+v, want those since the first", m)
	}
	rep := taken[1]
	b := rep.Bundles["policy.tar.gz"]
	if rep.Labels.ID != "test-site" || b.ActiveRevision != "r1" || b.Code != fleet.CodeBundleError || b.Message == "" {
		t.Errorf("report %+v", rep)
	}
	if rep.Inventory.Code != fleet.CodeInventoryError || rep.LastRefusal == nil || rep.LastRefusal.Kind != "inventory" || !rep.Log.Healthy {
		out, _ := json.Marshal(rep)
		t.Errorf("report %s", out)
	}
}

func TestBundleReportName(t *testing.T) {
	for in, want := range map[string]string{
		"": "builtin",
		"https://cp:8181/v1/bundles/policy.tar.gz": "policy.tar.gz",
		"/etc/sovereign/bundle.tar.gz":             "bundle.tar.gz",
		"policies/":                                "policies",
	} {
		if got := bundleReportName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
