package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/fleet"
)

// One control plane and two sites, as processes, with credentials: each site
// polls its bundle and reports its status with its own site-bound token. The
// fleet view follows a rollout (both sites reach r2), a refusal (a tampered
// r3: both refuse it, keep r2, and show as refusing and behind) and a site
// that stops (stale); `sovereign fleet` exits 1 then; every change is a
// fleet.status record in the control plane's log.
func TestFleetViewFollowsARolloutAndARefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	dir := t.TempDir()
	pub, published, publish := newBundlePublisher(t, dir)
	publish("r1", false)

	tokens := map[string]string{"site-a": "token-of-site-a", "site-b": "token-of-site-b", "auditor": "token-of-the-auditor"}
	var cfg strings.Builder
	cfg.WriteString("tokens:\n")
	for name, tok := range tokens {
		sum := sha256.Sum256([]byte(tok))
		role, site := "site", ", site: "+name
		if name == "auditor" {
			role, site = "auditor", ""
		}
		fmt.Fprintf(&cfg, "  - {principal: %s, roles: [%s]%s, sha256: %s}\n", name, role, site, hex.EncodeToString(sum[:]))
		os.WriteFile(filepath.Join(dir, name+".token"), []byte(tok+"\n"), 0o600)
	}
	authCfg := filepath.Join(dir, "auth.yaml")
	os.WriteFile(authCfg, []byte(cfg.String()), 0o600)

	cpData := filepath.Join(dir, "cp")
	cp := startServer(t, cpData, "--serve-bundles", published, "--auth-config", authCfg,
		"--fleet-stale-after", "4s", "--fleet-lag-after", "10m")
	url := "http://" + cp.addr + "/v1/bundles/policy.tar.gz"
	site := func(name string) *server {
		return startBundleServer(t, filepath.Join(dir, name), "--bundle", url, "--bundle-public-key", pub,
			"--bundle-poll-interval", "200ms", "--bundle-long-poll", "2s", "--bundle-token-file", filepath.Join(dir, name+".token"),
			"--site-id", name, "--status-interval", "500ms")
	}
	site("site-a")
	siteB := site("site-b")

	auditorToken := filepath.Join(dir, "auditor.token")
	view := func() (fleet.Page, int) {
		t.Helper()
		code, out, errs := runCLI(t, "", "fleet", "--server", "http://"+cp.addr, "--token-file", auditorToken, "--format", "json")
		var p fleet.Page
		if code == 2 || json.Unmarshal([]byte(out), &p) != nil {
			t.Fatalf("sovereign fleet: exit %d\n%s%s", code, out, errs)
		}
		return p, code
	}
	waitView := func(what string, ok func(fleet.Page) bool) fleet.Page {
		t.Helper()
		// A bound on a hang: each site runs a new bundle's tests (about 8 s
		// of CPU) at nice 10.
		deadline := time.Now().Add(3 * time.Minute)
		for {
			p, _ := view()
			if ok(p) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: fleet view %+v\ncontrol plane:\n%s", what, p, cp.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	every := func(p fleet.Page, ok func(fleet.SiteView) bool) bool {
		if len(p.Sites) != 2 {
			return false
		}
		for _, s := range p.Sites {
			if !ok(s) {
				return false
			}
		}
		return true
	}
	onRevision := func(rev string) func(fleet.SiteView) bool {
		return func(s fleet.SiteView) bool {
			return len(s.Bundles) == 1 && s.Bundles[0].ActiveRevision == rev && s.Bundles[0].State == fleet.BundleCurrent && !s.Behind
		}
	}

	p := waitView("both sites report r1", func(p fleet.Page) bool { return every(p, onRevision("r1")) })
	if p.Sites[0].ID != "site-a" || p.Sites[0].Principal != `Sovereign::Principal::"site-a"` || p.Sites[0].Checkpoint == nil || p.Sites[0].Checkpoint.Witness != fleet.WitnessUnknown {
		t.Fatalf("site-a %+v", p.Sites[0])
	}
	if _, code := view(); code != 0 {
		t.Fatalf("sovereign fleet exits %d on a healthy fleet", code)
	}

	// Rollout.
	publish("r2", false)
	waitView("both sites on r2", func(p fleet.Page) bool { return every(p, onRevision("r2")) })

	// A tampered bundle: both refuse it and keep r2.
	publish("r3-tampered", true)
	p = waitView("both sites refusing r3", func(p fleet.Page) bool {
		return p.Summary.Refusing == 2 && every(p, func(s fleet.SiteView) bool {
			return s.Refusing && s.Behind && s.Bundles[0].ActiveRevision == "r2" && s.Bundles[0].PublishedRevision == "r3-tampered" &&
				s.LastRefusal != nil && s.LastRefusal.Kind == "bundle"
		})
	})
	if p.Sites[0].Bundles[0].Message == "" || p.Sites[0].LastRefusal.Reason == "" {
		t.Errorf("a refusal that does not say why: %+v", p.Sites[0])
	}
	if _, code := view(); code != 1 {
		t.Fatalf("sovereign fleet exits %d with refusing sites, want 1", code)
	}

	// site-b stops: stale, while site-a is not.
	_ = siteB.cmd.Process.Kill()
	_ = siteB.cmd.Wait()
	waitView("site-b stale", func(p fleet.Page) bool {
		return p.Summary.Stale == 1 && len(p.Sites) == 2 && !p.Sites[0].Stale && p.Sites[1].Stale
	})

	// Every change is recorded on the control plane: each site's first
	// report, r2, the refusal, and site-b going stale.
	recs := controlPlaneRecords(t, filepath.Join(cpData, "log"), audit.KindFleetStatus)
	seen := map[string]bool{}
	for _, r := range recs {
		var st audit.FleetStatus
		if err := json.Unmarshal(r.Result, &st); err != nil {
			t.Fatal(err)
		}
		for _, c := range st.Changed {
			seen[fmt.Sprintf("%s %s %v/%s", st.Site, c, st.To.Refusing || st.To.Stale, st.To.Revision)] = true
		}
	}
	for _, want := range []string{"site-a revision false/r1", "site-b revision false/r1", "site-a revision false/r2", "site-b revision false/r2",
		"site-a refusing true/r2", "site-b refusing true/r2", "site-b stale true/r2"} {
		if !seen[want] {
			t.Errorf("no fleet.status record of %q; have %v", want, seen)
		}
	}

	// The gauges.
	resp, err := http.Get("http://" + cp.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"sovereign_fleet_sites 2\n", "sovereign_fleet_sites_stale 1\n", "sovereign_fleet_sites_refusing 2\n"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// controlPlaneRecords reads the records of kind from a POSIX log directory,
// up to its latest checkpoint.
func controlPlaneRecords(t *testing.T, logDir string, kind audit.Kind) []*audit.Record {
	t.Helper()
	ctx := context.Background()
	var out []*audit.Record
	deadline := time.Now().Add(10 * time.Second)
	for {
		src, err := audit.NewSource(logDir)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := src.ReadCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := fleet.ParseCheckpoint(raw)
		if err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for e, err := range audit.Entries(ctx, src, cp.Size, 0, cp.Size) {
			if err != nil {
				t.Fatal(err)
			}
			env, err := audit.DecodeEnvelope(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			r, err := env.Record()
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind == kind {
				out = append(out, r)
			}
		}
		// The stale record is written by the sweep after the view showed it;
		// wait for the checkpoint to cover it.
		if len(out) >= 7 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(200 * time.Millisecond)
	}
}
