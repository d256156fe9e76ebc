package kubeaudit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// decisionTime pins the evaluation time, so that dated reference data answers
// the same on every run.
var decisionTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// newReviewer is the webhook's reviewer on the built-in bundle, the demo
// inventory and the admission fixtures' configuration: a cluster at fra-1
// spanning par-1, us-east-1 and bom-1; analytics in warn mode.
func newReviewer(t testing.TB) (*admission.Reviewer, *engine.Engine) {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory("../testdata/inventory/demo")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := admission.LoadConfig(filepath.Join("../testdata/admission", "config.yaml"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Clock = func() time.Time { return decisionTime }
	r, err := admission.NewReviewer(eng, c)
	if err != nil {
		t.Fatal(err)
	}
	return r, eng
}

// pod is a Pod's JSON: datasets annotation (none when empty) and a region
// nodeSelector (none when empty).
func pod(ns, name, datasets, region string) []byte {
	meta := map[string]any{"name": name, "namespace": ns, "uid": "uid-" + name}
	if datasets != "" {
		meta["annotations"] = map[string]string{admission.DatasetsKey: datasets}
	}
	spec := map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1"}}}
	if region != "" {
		spec["nodeSelector"] = map[string]string{admission.DefaultRegionLabel: region}
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
	return b
}

// judge reviews raw as the auditor does: a CREATE, validate only.
func judge(t *testing.T, r *admission.Reviewer, ns, name string, raw []byte) Judgement {
	t.Helper()
	kd := kinds[0]
	o := &metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)}
	a := &Auditor{o: Options{Reviewer: r}}
	rec, err := a.review(context.Background(), kd, o, raw)
	return Judgement{Object: Object{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name}, At: decisionTime, Record: rec, Err: err}
}

func TestResults(t *testing.T) {
	r, _ := newReviewer(t)
	type want struct {
		result, rule, mode string
		props              map[string]string // a subset
		message            []string          // substrings
	}
	cases := []struct {
		name             string
		ns, datasets, at string
		want             []want
	}{
		{"lawful everywhere: one pass", "shop", "public-catalogue", "", []want{
			{result: ResultPass, rule: RulePlacement, mode: admission.ModeEnforce,
				props:   map[string]string{"datasets": "public-catalogue", "verdict": admission.VerdictAllowed, "sites": "fra-1,par-1,us-east-1,bom-1"},
				message: []string{"Pod shop/p", "is lawful"}},
		}},
		{"pinned to a lawful region: pass", "shop", "customer-pii-eu", "eu-central-1", []want{
			{result: ResultPass, rule: RulePlacement, props: map[string]string{"sites": "fra-1"}},
		}},
		{"unconstrained EU personal data: a fail per rule, with its sites and citation", "shop", "customer-pii-eu", "", []want{
			{result: ResultFail, rule: "gdpr.chapter5.no_basis", mode: admission.ModeEnforce,
				props:   map[string]string{"citation": "GDPR Art. 44, 45", "sites": "us-east-1,bom-1", "verdict": admission.VerdictDenied, "rule_datasets": "customer-pii-eu"},
				message: []string{"Pod shop/p may be placed where its data may not go: at us-east-1, bom-1"}},
		}},
		{"warn mode: still a fail, the mode in properties", "analytics", "customer-pii-eu", "", []want{
			{result: ResultFail, rule: "gdpr.chapter5.no_basis", mode: admission.ModeWarn, props: map[string]string{"verdict": admission.VerdictWouldDeny}},
		}},
		{"unknown dataset: cannot be judged, an error", "shop", "ghost-data", "", []want{
			{result: ResultError, rule: RulePlacement, message: []string{`unknown dataset "ghost-data"`, "the webhook refuses it"}},
		}},
		{"no declaration: skip", "shop", "", "", []want{
			{result: ResultSkip, rule: RulePlacement, props: map[string]string{"verdict": admission.VerdictUndeclared}, message: []string{"declares no datasets"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := judge(t, r, tc.ns, "p", pod(tc.ns, "p", tc.datasets, tc.at))
			if j.Err != nil {
				t.Fatal(j.Err)
			}
			got := Results(j)
			if len(got) != len(tc.want) {
				t.Fatalf("want %d results, got %d: %+v", len(tc.want), len(got), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Result != w.result || g.Rule != w.rule || g.Policy != Policy || g.Source != Source || g.Category != Category {
					t.Errorf("result %d: want %s %s, got %+v", i, w.result, w.rule, g)
				}
				if w.mode != "" && g.Properties["mode"] != w.mode {
					t.Errorf("mode: want %s, got %q", w.mode, g.Properties["mode"])
				}
				for k, v := range w.props {
					if g.Properties[k] != v {
						t.Errorf("properties[%s]: want %q, got %q (%v)", k, v, g.Properties[k], g.Properties)
					}
				}
				for _, m := range w.message {
					if !strings.Contains(g.Message, m) {
						t.Errorf("message lacks %q: %s", m, g.Message)
					}
				}
				if len(g.Resources) != 1 || g.Resources[0].Kind != "Pod" || g.Resources[0].Namespace != tc.ns || g.Resources[0].Name != "p" {
					t.Errorf("resources %+v", g.Resources)
				}
				if g.Timestamp.Seconds != decisionTime.Unix() {
					t.Errorf("timestamp %+v", g.Timestamp)
				}
				if (g.Result == ResultFail || g.Result == ResultPass) && g.Properties["decision_id"] != j.Record.ID {
					t.Errorf("decision_id %q, want the record's %q", g.Properties["decision_id"], j.Record.ID)
				}
			}
		})
	}
	t.Run("not judged at all: an error", func(t *testing.T) {
		got := Results(Judgement{Object: Object{Kind: "Pod", Namespace: "shop", Name: "p"}, Err: errors.New("policy failed")})
		if len(got) != 1 || got[0].Result != ResultError || !strings.Contains(got[0].Message, "policy failed") {
			t.Fatalf("%+v", got)
		}
	})
}

// TestReportBody: a namespace's report counts every result, orders them, and
// compares equal whatever the time its results were found.
func TestReportBody(t *testing.T) {
	r, _ := newReviewer(t)
	var all [][]Result
	for _, p := range []struct{ name, datasets, at string }{
		{"b-ok", "public-catalogue", ""}, {"a-bad", "customer-pii-eu", ""}, {"c-none", "", ""}, {"d-ghost", "ghost-data", ""},
	} {
		all = append(all, Results(judge(t, r, "shop", p.name, pod("shop", p.name, p.datasets, p.at))))
	}
	rep := BuildReport("shop", all)
	if rep.Summary != (Summary{Pass: 1, Fail: 1, Error: 1, Skip: 1}) {
		t.Errorf("summary %+v", rep.Summary)
	}
	var names []string
	for _, res := range rep.Results {
		names = append(names, res.Resources[0].Name)
	}
	if !slices.Equal(names, []string{"a-bad", "b-ok", "c-none", "d-ghost"}) {
		t.Errorf("order %v", names)
	}
	if rep.APIVersion != "wgpolicyk8s.io/v1alpha2" || rep.Kind != "PolicyReport" || rep.Metadata.Name != ReportName || rep.Metadata.Namespace != "shop" ||
		rep.Scope == nil || rep.Scope.Kind != "Namespace" || rep.Scope.Name != "shop" || rep.Metadata.Labels[ManagedByLabel] != "sovereign" {
		t.Errorf("head %+v %+v %+v", rep.Metadata, rep.Scope, rep.APIVersion)
	}
	later := BuildReport("shop", all)
	for i := range later.Results {
		later.Results[i].Timestamp.Seconds += 86400
	}
	if !sameContent(rep, later) {
		t.Error("the same results found later must compare equal")
	}
	later.Results[0].Result = ResultPass
	if sameContent(rep, later) {
		t.Error("a changed result must compare different")
	}
	// The report goes through the unstructured form the dynamic client
	// writes and back unchanged.
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back PolicyReport
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &back); err != nil {
		t.Fatal(err)
	}
	if !sameContent(rep, &back) {
		t.Error("round trip through unstructured changed the report")
	}
}

// TestReportBounded: a namespace too large for one object keeps its fails
// and errors, drops passes first, says how many were left out, and still
// counts them all.
func TestReportBounded(t *testing.T) {
	long := strings.Repeat("x", 2000)
	var all [][]Result
	for i := range 1000 {
		res := ResultPass
		if i%100 == 0 {
			res = ResultFail
		}
		all = append(all, []Result{{Result: res, Message: long, Resources: []corev1.ObjectReference{Object{Kind: "Pod", Name: fmt.Sprintf("p%04d", i)}.ref()}}})
	}
	rep := BuildReport("big", all)
	if rep.Summary.Pass != 990 || rep.Summary.Fail != 10 {
		t.Errorf("summary %+v", rep.Summary)
	}
	b, _ := json.Marshal(rep)
	if len(b) > maxReportBytes+4096 {
		t.Errorf("report of %d bytes", len(b))
	}
	fails := 0
	for _, r := range rep.Results {
		if r.Result == ResultFail {
			fails++
		}
	}
	if fails != 10 {
		t.Errorf("every fail must be kept, got %d", fails)
	}
	if rep.Metadata.Annotations[OmittedAnnotation] != fmt.Sprint(1000-len(rep.Results)) {
		t.Errorf("omitted %q with %d results", rep.Metadata.Annotations[OmittedAnnotation], len(rep.Results))
	}
}

// TestFinding: what GET /v1/drift lists of a workload, and the run's audit
// record, bounded to one log entry.
func TestFinding(t *testing.T) {
	r, eng := newReviewer(t)
	since := decisionTime.AddDate(0, 0, -3)
	bad := judge(t, r, "shop", "p", pod("shop", "p", "customer-pii-eu", ""))
	f, ok := Finding(bad, since)
	if !ok || f.Kind != drift.KindWorkload || f.Object != "Pod shop/p" || !slices.Equal(f.Sites, []string{"us-east-1", "bom-1"}) ||
		!slices.Equal(f.Datasets, []string{"customer-pii-eu"}) || f.Since != "2026-05-29" || f.SinceBasis != drift.SinceObserved ||
		!slices.Equal(f.Rules(), []string{"gdpr.chapter5.no_basis"}) {
		t.Errorf("finding %+v", f)
	}
	if _, ok := Finding(judge(t, r, "shop", "q", pod("shop", "q", "public-catalogue", "")), since); ok {
		t.Error("a pass is no finding")
	}
	ghost, ok := Finding(judge(t, r, "shop", "g", pod("shop", "g", "ghost-data", "")), since)
	if !ok || !slices.Equal(ghost.Rules(), []string{CannotJudgeRule}) {
		t.Errorf("an unjudgeable workload is out of compliance: %+v", ghost)
	}

	rec, err := RunRecord("date", decisionTime, 3, []drift.Finding{f, ghost}, eng)
	if err != nil {
		t.Fatal(err)
	}
	var req audit.DriftRequest
	var res audit.DriftResult
	if err := json.Unmarshal(rec.Request, &req); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		t.Fatal(err)
	}
	if rec.Kind != audit.KindDrift || rec.Principal != audit.SystemPrincipal || req.Source != "kubernetes" || req.Trigger != "date" ||
		res.Workloads != 3 || res.OutOfCompliance != 2 || len(res.Items) != 2 || res.Items[0].Object != "Pod shop/p" || res.ResultSHA256 == "" {
		t.Errorf("record %+v %+v", req, res)
	}
	many := slices.Repeat([]drift.Finding{f}, 5000)
	rec, err = RunRecord("start", decisionTime, 5000, many, eng)
	if err != nil {
		t.Fatal(err)
	}
	res = audit.DriftResult{}
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		t.Fatal(err)
	}
	if !res.ItemsOmitted || len(res.Items) != 0 || res.OutOfCompliance != 5000 || len(rec.Request)+len(rec.Result) > audit.MaxEntrySize {
		t.Errorf("a large run must fit one entry: omitted=%v items=%d size=%d", res.ItemsOmitted, len(res.Items), len(rec.Result))
	}
}

// TestTrigger: a full run names what changed since the last one.
func TestTrigger(t *testing.T) {
	last := state{bundle: "b1", inventory: "i1", config: 1, date: "2026-12-03"}
	for _, tc := range []struct {
		from, to state
		want     string
	}{
		{state{}, last, "start"},
		{last, state{bundle: "b2", inventory: "i1", config: 1, date: "2026-12-03"}, "bundle"},
		{last, state{bundle: "b1", inventory: "i2", config: 1, date: "2026-12-03"}, "inventory"},
		{last, state{bundle: "b1", inventory: "i1", config: 2, date: "2026-12-03"}, "admission-config"},
		{last, state{bundle: "b1", inventory: "i1", config: 1, date: "2026-12-04"}, "date"},
	} {
		if got := tc.from.trigger(tc.to); got != tc.want {
			t.Errorf("%+v -> %+v: %s, want %s", tc.from, tc.to, got, tc.want)
		}
	}
}
