package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

const admissionFixtures = "../testdata/admission"

// decisionTime pins the evaluation time, so that dated reference data answers
// the same on every run.
var decisionTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func admissionConfig(t testing.TB) api.AdmissionConfig {
	t.Helper()
	c, err := api.LoadAdmissionConfig(filepath.Join(admissionFixtures, "config.yaml"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Clock = func() time.Time { return decisionTime }
	return c
}

func newAdmissionServer(t testing.TB, mutate ...func(*api.Config)) *testServer {
	t.Helper()
	return newTestServer(t, append([]func(*api.Config){func(c *api.Config) { c.Admission = admissionConfig(t) }}, mutate...)...)
}

// sentReview is a fixture as sent, kept to check the answer against it.
type sentReview struct {
	raw    []byte
	review map[string]any
}

func mustReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(admissionFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadReview(t *testing.T, name string) sentReview {
	t.Helper()
	raw := mustReadFixture(t, name)
	var m map[string]any
	_ = json.Unmarshal(raw, &m) // malformed fixtures stay nil
	return sentReview{raw: raw, review: m}
}

func (ts *testServer) admit(t *testing.T, webhook string, body []byte) (int, *admissionv1.AdmissionReview, []byte) {
	t.Helper()
	status, b := ts.post(t, "/v1/admission/"+webhook, "application/json", body)
	if status != http.StatusOK {
		return status, nil, b
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v: %s", err, b)
	}
	return status, &r, b
}

type admissionCase struct {
	name    string
	file    string
	webhook string // validate or mutate
	status  int    // default 200
	allowed bool
	// message lists substrings of the refusal's status message.
	message []string
	// warnings lists substrings each found in some warning; noWarnings
	// asserts there are none.
	warnings   []string
	noWarnings bool
	// after maps JSON pointers of the object, after the returned patch is
	// applied, to their expected JSON; a mutate case without it must not patch.
	after map[string]string
	// verdict is the audit record's.
	verdict string
	dryRun  bool
}

const regionTerms = "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"

func TestAdmissionReviews(t *testing.T) {
	ts := newAdmissionServer(t)
	euOnly := `[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]}]`
	cases := []admissionCase{
		// Pod
		{name: "pod create, unconstrained, validate", file: "pod-create-unconstrained.json", webhook: "validate",
			message: []string{"Pod shop/web-7d4b9c6f5-*", "site us-east-1: gdpr.chapter5.no_basis:", "[GDPR Art.", "site bom-1:"}, verdict: "denied"},
		{name: "pod create, unconstrained, mutate", file: "pod-create-unconstrained.json", webhook: "mutate", allowed: true,
			warnings: []string{"required node affinity added: topology.kubernetes.io/region in [eu-central-1, fr-par]"},
			after:    map[string]string{"/spec" + regionTerms: euOnly, "/spec/containers/0/name": `"app"`}, verdict: "patched"},
		{name: "pod update, pinned to Frankfurt", file: "pod-update-pinned.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},
		{name: "pod update, pinned, mutate leaves it", file: "pod-update-pinned.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "allowed"},
		{name: "pod create, region no site has", file: "pod-create-unknown-region.json", webhook: "validate",
			message: []string{`region "mars-north-1" (topology.kubernetes.io/region) is not the region of any inventory site`}, verdict: "denied"},
		{name: "pod create, region no site has, mutate cannot fix", file: "pod-create-unknown-region.json", webhook: "mutate",
			message: []string{`region "mars-north-1"`}, verdict: "denied"},
		{name: "pod create in kube-system is exempt", file: "pod-create-kube-system.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "exempt"},
		{name: "pod create in a dryrun namespace", file: "pod-create-sandbox.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "would-deny"},
		{name: "pod create, no datasets declared", file: "pod-create-undeclared.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "undeclared"},

		// Deployment
		{name: "deployment create, affinity wider than the data allows", file: "deployment-create-affinity.json", webhook: "validate",
			message: []string{"Deployment shop/checkout", "site us-east-1: gdpr.chapter5.no_basis", "site bom-1:"}, verdict: "denied"},
		{name: "deployment create, mutate intersects every required term", file: "deployment-create-affinity.json", webhook: "mutate", allowed: true,
			after: map[string]string{
				"/spec/template/spec" + regionTerms + "/0/matchExpressions":                                          `[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","us-east-1"]},{"key":"node.example.com/pool","operator":"In","values":["general"]},{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]`,
				"/spec/template/spec" + regionTerms + "/1":                                                           `{"matchFields":[{"key":"metadata.name","operator":"NotIn","values":["node-retired-1"]}],"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]}`,
				"/spec/template/spec/affinity/nodeAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/weight": `50`,
			}, verdict: "patched"},
		{name: "deployment update, workload pinned where it may run", file: "deployment-update-pinned.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},

		// StatefulSet
		{name: "statefulset create, namespace default dataset", file: "statefulset-create-namespace-default.json", webhook: "validate",
			message: []string{"StatefulSet payments/ledger", "site fra-1:", "site us-east-1:"}, verdict: "denied"},
		{name: "statefulset create, namespace default, mutate to Mumbai", file: "statefulset-create-namespace-default.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/template/spec" + regionTerms: `[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["ap-bom"]}]}]`}, verdict: "patched"},
		{name: "statefulset update, pinned to a forbidden region", file: "statefulset-update-forbidden.json", webhook: "validate",
			message: []string{"site us-east-1: gdpr.chapter5.no_basis"}, verdict: "denied"},
		{name: "statefulset update, pinned to a forbidden region, mutate cannot widen", file: "statefulset-update-forbidden.json", webhook: "mutate",
			message: []string{"site us-east-1:"}, verdict: "denied"},

		// DaemonSet
		{name: "daemonset create, unknown dataset fails closed", file: "daemonset-create-unknown-dataset.json", webhook: "validate",
			message: []string{`unknown dataset "ghost-data"`}, verdict: "denied"},
		{name: "daemonset create, unknown dataset, mutate fails closed", file: "daemonset-create-unknown-dataset.json", webhook: "mutate",
			message: []string{`unknown dataset "ghost-data"`}, verdict: "denied"},
		{name: "daemonset update, public data anywhere", file: "daemonset-update-public.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "allowed"},

		// ReplicaSet
		{name: "replicaset create in a warn namespace", file: "replicaset-create-warn.json", webhook: "validate", allowed: true,
			warnings: []string{"sovereign (warn mode, would deny): site us-east-1: gdpr.chapter5.no_basis"}, verdict: "would-deny"},
		{name: "replicaset create in a warn namespace, mutate does not patch", file: "replicaset-create-warn.json", webhook: "mutate", allowed: true,
			warnings: []string{"warn mode, would deny"}, verdict: "would-deny"},
		{name: "replicaset update, label makes it stricter than its namespace", file: "replicaset-update-label-enforce.json", webhook: "validate",
			message: []string{"ReplicaSet analytics/reports-6c9f8d7b5"}, verdict: "denied"},

		// Job
		{name: "job create, dryRun is evaluated", file: "job-create-dryrun.json", webhook: "validate",
			message: []string{"Job shop/export", "site us-east-1:"}, verdict: "denied", dryRun: true},
		{name: "job create, dryRun, mutate", file: "job-create-dryrun.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/template/spec" + regionTerms: euOnly}, verdict: "patched", dryRun: true},
		{name: "job update, template immutable so mutate only decides", file: "job-update.json", webhook: "mutate",
			message: []string{"Job shop/export", "site bom-1:"}, verdict: "denied"},

		// CronJob
		{name: "cronjob create, workload whose data fits no site", file: "cronjob-create-workload.json", webhook: "validate",
			message: []string{"CronJob shop/settle", "site fra-1:", "site bom-1:"}, verdict: "denied"},
		{name: "cronjob create, workload whose data fits no site, mutate", file: "cronjob-create-workload.json", webhook: "mutate",
			message: []string{"site fra-1:"}, verdict: "denied"},
		{name: "cronjob create, unconstrained, mutate the job template", file: "cronjob-create-unconstrained.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/jobTemplate/spec/template/spec" + regionTerms: euOnly}, verdict: "patched"},
		{name: "cronjob update, NotIn keeps it lawful", file: "cronjob-update-notin.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},

		// PersistentVolumeClaim
		{name: "pvc create, EU storage class", file: "pvc-create-eu-class.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},
		{name: "pvc update, default class may provision anywhere", file: "pvc-update-default-class.json", webhook: "validate",
			message: []string{"PersistentVolumeClaim shop/orders-db", "site us-east-1:"}, verdict: "denied"},
		{name: "pvc update, mutate cannot move storage", file: "pvc-update-default-class.json", webhook: "mutate",
			message: []string{"site us-east-1:"}, verdict: "denied"},

		// Kinds it does not handle, and bad reviews.
		{name: "configmap is allowed with a warning", file: "configmap-create.json", webhook: "validate", allowed: true,
			warnings: []string{"sovereign: v1/ConfigMap is not evaluated"}, verdict: "unhandled"},
		{name: "malformed review", file: "malformed.json", webhook: "validate", status: http.StatusBadRequest, message: []string{"malformed AdmissionReview"}},
		{name: "missing uid", file: "missing-uid.json", webhook: "validate", status: http.StatusBadRequest, message: []string{"request.uid is required"}},
		{name: "wrong apiVersion", file: "wrong-version.json", webhook: "mutate", status: http.StatusBadRequest, message: []string{"admission.k8s.io/v1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkAdmission(t, ts, tc)
		})
	}
}

func checkAdmission(t *testing.T, ts *testServer, tc admissionCase) {
	t.Helper()
	sent := loadReview(t, tc.file)
	status, review, body := ts.admit(t, tc.webhook, sent.raw)
	want := tc.status
	if want == 0 {
		want = http.StatusOK
	}
	if status != want {
		t.Fatalf("status %d, want %d: %s", status, want, body)
	}
	if status != http.StatusOK {
		e := decodeError(t, body)
		for _, m := range tc.message {
			if !strings.Contains(e.Message, m) {
				t.Errorf("error message %q lacks %q", e.Message, m)
			}
		}
		return
	}

	// The answer is the same kind of review, for the same request.
	req := sent.review["request"].(map[string]any)
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" || review.Request != nil {
		t.Fatalf("answer must be an admission.k8s.io/v1 AdmissionReview with only a response: %s", body)
	}
	resp := review.Response
	if resp == nil || string(resp.UID) != req["uid"] {
		t.Fatalf("response uid must be the request's %v: %s", req["uid"], body)
	}
	if resp.Allowed != tc.allowed {
		t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tc.allowed, body)
	}
	if !tc.allowed {
		if resp.Result == nil || resp.Result.Code != http.StatusForbidden {
			t.Fatalf("a refusal carries a 403 status: %s", body)
		}
		for _, m := range tc.message {
			if !strings.Contains(resp.Result.Message, m) {
				t.Errorf("status message lacks %q:\n%s", m, resp.Result.Message)
			}
		}
	} else if resp.Result != nil && resp.Result.Message != "" {
		t.Errorf("an allowed review has no refusal message: %s", body)
	}
	if tc.noWarnings && len(resp.Warnings) > 0 {
		t.Errorf("want no warnings, got %q", resp.Warnings)
	}
	for _, w := range tc.warnings {
		if !containsSub(resp.Warnings, w) {
			t.Errorf("warnings %q lack %q", resp.Warnings, w)
		}
	}

	// The patch, applied to the object sent, gives the expected object.
	switch {
	case tc.after == nil && len(resp.Patch) > 0:
		t.Errorf("want no patch, got %s", resp.Patch)
	case tc.after != nil:
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch || len(resp.Patch) == 0 {
			t.Fatalf("want a JSONPatch: %s", body)
		}
		patched, err := applyJSONPatch(req["object"], resp.Patch)
		if err != nil {
			t.Fatalf("apply patch %s: %v", resp.Patch, err)
		}
		for ptr, wantJSON := range tc.after {
			got, err := pointerGet(patched, ptr)
			if err != nil {
				t.Errorf("patched object: %s: %v", ptr, err)
				continue
			}
			if !jsonEqual(t, got, wantJSON) {
				g, _ := json.Marshal(got)
				t.Errorf("patched object at %s:\n got %s\nwant %s", ptr, g, wantJSON)
			}
		}
		// What mutate lets through, validate admits: send the patched object.
		again := deepCopyJSON(t, sent.review)
		again["request"].(map[string]any)["object"] = patched
		b, _ := json.Marshal(again)
		if _, r, body := ts.admit(t, "validate", b); r == nil || !r.Response.Allowed {
			t.Errorf("validate must admit the patched object: %s", body)
		}
	}

	// The decision is a signed audit record, appended before the answer.
	idx, err := strconv.ParseUint(resp.AuditAnnotations["audit-index"], 10, 64)
	if err != nil || resp.AuditAnnotations["decision-id"] == "" {
		t.Fatalf("answer must carry the audit record's index and id: %v", resp.AuditAnnotations)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := ts.audit.Entry(ctx, idx)
	if err != nil {
		t.Fatalf("audit entry %d: %v", idx, err)
	}
	if e.Record.Kind != audit.KindAdmission || e.Record.ID != resp.AuditAnnotations["decision-id"] {
		t.Fatalf("audit entry %d is not this admission: %+v", idx, e.Record)
	}
	var rreq struct {
		UID       string `json:"uid"`
		Webhook   string `json:"webhook"`
		Kind      struct{ Kind string }
		Namespace string `json:"namespace"`
		Operation string `json:"operation"`
		DryRun    bool   `json:"dry_run"`
		UserInfo  struct {
			Username string `json:"username"`
		} `json:"user_info"`
		Object json.RawMessage `json:"object"`
	}
	var rres struct {
		Allowed bool   `json:"allowed"`
		Verdict string `json:"verdict"`
		DryRun  bool   `json:"dry_run"`
	}
	if err := json.Unmarshal(e.Record.Request, &rreq); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.Record.Result, &rres); err != nil {
		t.Fatal(err)
	}
	user := req["userInfo"].(map[string]any)["username"]
	if rreq.UID != req["uid"] || rreq.Webhook != tc.webhook || rreq.Kind.Kind != req["kind"].(map[string]any)["kind"] ||
		rreq.Namespace != req["namespace"] || rreq.Operation != req["operation"] || rreq.UserInfo.Username != user {
		t.Errorf("audit record request does not describe the review: %s", e.Record.Request)
	}
	if rreq.Object != nil {
		t.Errorf("the audit record must not hold the object (it may carry secrets)")
	}
	if rres.Allowed != tc.allowed || rres.Verdict != tc.verdict || rres.DryRun != tc.dryRun || rreq.DryRun != tc.dryRun {
		t.Errorf("audit record result %s, want allowed=%v verdict=%s dry_run=%v", e.Record.Result, tc.allowed, tc.verdict, tc.dryRun)
	}
}

func TestAdmissionUnhandledKindDenied(t *testing.T) {
	ts := newAdmissionServer(t, func(c *api.Config) { c.Admission.UnhandledKinds = "deny" })
	_, r, body := ts.admit(t, "validate", loadReview(t, "configmap-create.json").raw)
	if r == nil || r.Response.Allowed || !strings.Contains(r.Response.Result.Message, "unhandled kinds are denied") {
		t.Fatalf("want a refusal of the ConfigMap: %s", body)
	}
}

// The built-in library has no placement obligations yet: a small bundle with
// one shows that obligations become warnings and do not refuse.
func TestAdmissionObligationsAreWarnings(t *testing.T) {
	bundle := fstest.MapFS{
		".manifest": {Data: []byte(`{"revision": "obligations-test", "roots": ["sovereign"]}`)},
		"sovereign/placement.rego": {Data: []byte(`package sovereign.placement

decision := {"violations": [], "obligations": [o |
	some site in input.candidates
	o := {"site": site, "rule": "test.notify", "message": "notify the DPO before processing", "citation": "Test Art. 1"}
]}
`)},
		"sovereign/transfer.rego": {Data: []byte("package sovereign.transfer\n\ndecision := {\"violations\": [], \"obligations\": []}\n")},
	}
	p, err := engine.LoadPolicyFS(bundle)
	if err != nil {
		t.Fatal(err)
	}
	ts := newAdmissionServer(t, func(c *api.Config) {
		if err := c.Engine.Activate(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	})
	_, r, body := ts.admit(t, "validate", loadReview(t, "pod-create-unconstrained.json").raw)
	if r == nil || !r.Response.Allowed {
		t.Fatalf("obligations alone must not refuse: %s", body)
	}
	for _, site := range []string{"fra-1", "par-1", "us-east-1", "bom-1"} {
		if !containsSub(r.Response.Warnings, "obligation at site "+site+": test.notify: notify the DPO before processing [Test Art. 1]") {
			t.Errorf("warnings %q lack the obligation at %s", r.Response.Warnings, site)
		}
	}
}

func TestAdmissionAuditUnavailable(t *testing.T) {
	ts := newAdmissionServer(t)
	if err := ts.audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, _, body := ts.admit(t, "validate", loadReview(t, "pod-update-pinned.json").raw)
	if status != http.StatusServiceUnavailable || decodeError(t, body).Code != api.CodeAuditUnavailable {
		t.Fatalf("an unrecorded admission is not answered: want 503 %s, got %d %s", api.CodeAuditUnavailable, status, body)
	}
}

func TestAdmissionNotConfigured(t *testing.T) {
	ts := newTestServer(t)
	status, _, body := ts.admit(t, "validate", loadReview(t, "pod-update-pinned.json").raw)
	if status != http.StatusServiceUnavailable || decodeError(t, body).Code != api.CodeNotConfigured {
		t.Fatalf("want 503 %s, got %d %s", api.CodeNotConfigured, status, body)
	}
}

func TestAdmissionConfigChecked(t *testing.T) {
	base := newTestServer(t)
	cfgs := map[string]func(*api.AdmissionConfig){
		"unknown cluster site":       func(c *api.AdmissionConfig) { c.ClusterSite = "nowhere-1" },
		"unknown spanned site":       func(c *api.AdmissionConfig) { c.SpannedSites = []string{"nowhere-1"} },
		"bad default mode":           func(c *api.AdmissionConfig) { c.DefaultMode = "audit" },
		"unknown namespace dataset":  func(c *api.AdmissionConfig) { c.Namespaces["x"] = api.NamespaceAdmission{Datasets: []string{"ghost"}} },
		"bad unhandled kinds policy": func(c *api.AdmissionConfig) { c.UnhandledKinds = "ignore" },
	}
	for name, mutate := range cfgs {
		t.Run(name, func(t *testing.T) {
			c := admissionConfig(t)
			mutate(&c)
			if _, err := api.New(api.Config{Engine: newDemoEngine(t), Audit: base.audit, Admission: c}); err == nil {
				t.Fatal("want New to refuse the configuration")
			}
		})
	}
	if _, err := api.LoadAdmissionConfig(filepath.Join(t.TempDir(), "missing.yaml"), "", ""); err == nil {
		t.Error("a missing configuration file is an error")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("cluster_site: fra-1\nclustr_sites: [par-1]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.LoadAdmissionConfig(bad, "", ""); err == nil || !strings.Contains(err.Error(), "clustr_sites") {
		t.Errorf("an unknown field is an error naming it, got %v", err)
	}
	c, err := api.LoadAdmissionConfig(filepath.Join(admissionFixtures, "config.yaml"), "par-1", "example.com/region")
	if err != nil || c.ClusterSite != "par-1" || c.RegionLabel != "example.com/region" {
		t.Errorf("flags override the file: %+v %v", c, err)
	}
}

// newDemoEngine is an engine on the built-in bundle and the demo inventory.
func newDemoEngine(t *testing.T) *engine.Engine {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func containsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func jsonEqual(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	return reflect.DeepEqual(got, w)
}

func deepCopyJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// applyJSONPatch applies an RFC 6902 patch (add, replace, remove: what the
// webhook may answer) to a copy of doc, failing where the RFC says the
// operation fails (a missing parent, an index out of range).
func applyJSONPatch(doc any, patch []byte) (any, error) {
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ops); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(doc)
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	for _, op := range ops {
		var value any
		if op.Op != "remove" {
			if err := json.Unmarshal(op.Value, &value); err != nil {
				return nil, fmt.Errorf("%s %s: value: %w", op.Op, op.Path, err)
			}
		}
		tokens := pointerTokens(op.Path)
		if len(tokens) == 0 {
			return nil, fmt.Errorf("%s of the whole document", op.Op)
		}
		parentPath := "/" + strings.Join(escapeTokens(tokens[:len(tokens)-1]), "/")
		if len(tokens) == 1 {
			parentPath = ""
		}
		parent, err := pointerGet(root, parentPath)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op.Op, op.Path, err)
		}
		last := tokens[len(tokens)-1]
		switch p := parent.(type) {
		case map[string]any:
			_, exists := p[last]
			switch op.Op {
			case "add":
				p[last] = value
			case "replace":
				if !exists {
					return nil, fmt.Errorf("replace %s: no such member", op.Path)
				}
				p[last] = value
			case "remove":
				if !exists {
					return nil, fmt.Errorf("remove %s: no such member", op.Path)
				}
				delete(p, last)
			default:
				return nil, fmt.Errorf("unsupported op %q", op.Op)
			}
		case []any:
			i := len(p)
			if last != "-" {
				if i, err = strconv.Atoi(last); err != nil || i < 0 || i > len(p) || (op.Op != "add" && i == len(p)) {
					return nil, fmt.Errorf("%s %s: bad array index", op.Op, op.Path)
				}
			} else if op.Op != "add" {
				return nil, fmt.Errorf("%s %s: '-' only for add", op.Op, op.Path)
			}
			var n []any
			switch op.Op {
			case "add":
				n = append(append(append([]any{}, p[:i]...), value), p[i:]...)
			case "replace":
				n = append([]any{}, p...)
				n[i] = value
			case "remove":
				n = append(append([]any{}, p[:i]...), p[i+1:]...)
			default:
				return nil, fmt.Errorf("unsupported op %q", op.Op)
			}
			if err := pointerSet(&root, parentPath, n); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s %s: parent is not a container", op.Op, op.Path)
		}
	}
	return root, nil
}

func pointerTokens(ptr string) []string {
	if ptr == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts
}

func escapeTokens(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
	}
	return out
}

func pointerGet(doc any, ptr string) (any, error) {
	cur := doc
	for _, tok := range pointerTokens(ptr) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no element %q", tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q", cur, tok)
		}
	}
	return cur, nil
}

// pointerSet replaces the value at ptr (arrays are values in Go: a grown one
// must be stored back into its parent).
func pointerSet(root *any, ptr string, v any) error {
	tokens := pointerTokens(ptr)
	if len(tokens) == 0 {
		*root = v
		return nil
	}
	parentPath := ""
	if len(tokens) > 1 {
		parentPath = "/" + strings.Join(escapeTokens(tokens[:len(tokens)-1]), "/")
	}
	parent, err := pointerGet(*root, parentPath)
	if err != nil {
		return err
	}
	last := tokens[len(tokens)-1]
	switch p := parent.(type) {
	case map[string]any:
		p[last] = v
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(p) {
			return fmt.Errorf("bad index %q", last)
		}
		p[i] = v
	default:
		return fmt.Errorf("cannot set into %T", parent)
	}
	return nil
}

// Declaring more can only restrict more: a dataset named on the object does not
// replace the namespace default, and an UPDATE that drops a declaration is
// judged on what the previous version declared.
func TestAdmissionDeclarationsOnlyRestrict(t *testing.T) {
	ts := newAdmissionServer(t)
	send := func(t *testing.T, r map[string]any) *admissionv1.AdmissionReview {
		t.Helper()
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		status, review, raw := ts.admit(t, "validate", body)
		if status != 200 {
			t.Fatalf("status %d: %s", status, raw)
		}
		return review
	}

	t.Run("namespace default kept", func(t *testing.T) {
		r := loadReview(t, "statefulset-create-namespace-default.json").review
		if send(t, r).Response.Allowed {
			t.Fatal("fixture must be refused on the namespace default")
		}
		meta := r["request"].(map[string]any)["object"].(map[string]any)["metadata"].(map[string]any)
		meta["annotations"] = map[string]any{"sovereign.dev/datasets": "public-catalogue"}
		if send(t, r).Response.Allowed {
			t.Fatal("declaring a harmless dataset replaced the namespace default and freed the object")
		}
	})
	t.Run("dropped on update", func(t *testing.T) {
		r := loadReview(t, "statefulset-update-forbidden.json").review
		if send(t, r).Response.Allowed {
			t.Fatal("fixture must be refused")
		}
		meta := r["request"].(map[string]any)["object"].(map[string]any)["metadata"].(map[string]any)
		delete(meta, "annotations")
		if send(t, r).Response.Allowed {
			t.Fatal("an UPDATE that drops its dataset declaration was allowed")
		}
	})
}

// TestAdmissionConfigSwap: a new configuration takes effect as a whole, and
// one that does not validate is refused with the old one kept in force.
func TestAdmissionConfigSwap(t *testing.T) {
	ts := newAdmissionServer(t)
	review := loadReview(t, "configmap-create.json").raw
	if _, r, body := ts.admit(t, "validate", review); r == nil || !r.Response.Allowed {
		t.Fatalf("unhandled kind under the default allow: %s", body)
	}
	cfg := ts.api.AdmissionConfig()

	bad := cfg
	bad.UnhandledKinds = "deny"
	bad.SpannedSites = append([]string{"atlantis-1"}, cfg.SpannedSites...)
	if err := ts.api.SetAdmissionConfig(bad); err == nil || !strings.Contains(err.Error(), "atlantis-1") {
		t.Fatalf("a config naming an unknown site: %v", err)
	}
	if _, r, body := ts.admit(t, "validate", review); r == nil || !r.Response.Allowed {
		t.Fatalf("a refused config was half-applied: %s", body)
	}

	good := cfg
	good.UnhandledKinds = "deny"
	if err := ts.api.SetAdmissionConfig(good); err != nil {
		t.Fatal(err)
	}
	if _, r, body := ts.admit(t, "validate", review); r == nil || r.Response.Allowed {
		t.Fatalf("the new config is not in force: %s", body)
	}
}
