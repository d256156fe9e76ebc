package admission_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

const (
	fixtures      = "../testdata/admission"
	demoInventory = "../testdata/inventory/demo"
)

// decisionTime pins the evaluation time, so that dated reference data answers
// the same on every run.
var decisionTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// testConfig is the fixtures' configuration (testdata/admission/config.yaml).
func testConfig(t testing.TB) admission.Config {
	t.Helper()
	c, err := admission.LoadConfig(filepath.Join(fixtures, "config.yaml"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Clock = func() time.Time { return decisionTime }
	return c
}

// newDemoEngine is an engine on the built-in bundle and the demo inventory.
func newDemoEngine(t testing.TB, opts ...engine.Option) *engine.Engine {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, inv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newReviewer(t testing.TB, mutate ...func(*admission.Config)) *admission.Reviewer {
	t.Helper()
	c := testConfig(t)
	for _, m := range mutate {
		m(&c)
	}
	r, err := admission.NewReviewer(newDemoEngine(t), c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// loadReview is a fixture as a JSON tree, to edit or to check answers against.
func loadReview(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustReadFixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// review decides a review as the webhook named ("validate" or "mutate").
func review(t *testing.T, r *admission.Reviewer, webhook string, sent map[string]any) (*admission.Outcome, error) {
	t.Helper()
	b, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &rv); err != nil {
		t.Fatal(err)
	}
	return r.Review(context.Background(), rv.Request, webhook == "mutate")
}

type reviewCase struct {
	name    string
	file    string
	webhook string // validate or mutate
	// edit changes the fixture's request before it is sent.
	edit func(req map[string]any)
	// err is the error wanted instead of an outcome.
	err     error
	allowed bool
	// message lists substrings of the refusal's status message (or of err).
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

func TestReviews(t *testing.T) {
	r := newReviewer(t)
	euOnly := `[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]}]`
	cases := []reviewCase{
		// Pod
		{name: "pod create, unconstrained, validate", file: "pod-create-unconstrained.json", webhook: "validate",
			message: []string{"Pod shop/web-7d4b9c6f5-* may be placed where its data may not go: gdpr.chapter5.no_basis [GDPR Art. 44, 45] at us-east-1, bom-1 (customer-pii-eu): Dataset customer-pii-eu holds personal data"}, verdict: "denied"},
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
		{name: "dryrun namespace: not even obligations are warned", file: "pod-create-sandbox.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "would-deny",
			edit: func(req map[string]any) {
				meta(req["object"].(map[string]any))["annotations"] = map[string]any{"sovereign.dev/datasets": "citizens-ru"}
			}},
		{name: "pod create, no datasets declared", file: "pod-create-undeclared.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "undeclared"},

		// Deployment
		{name: "deployment create, affinity wider than the data allows", file: "deployment-create-affinity.json", webhook: "validate",
			message: []string{"Deployment shop/checkout", "gdpr.chapter5.no_basis [GDPR Art. 44, 45] at us-east-1, bom-1"}, verdict: "denied"},
		{name: "deployment create, mutate intersects every required term", file: "deployment-create-affinity.json", webhook: "mutate", allowed: true,
			after: map[string]string{
				"/spec/template/spec" + regionTerms + "/0/matchExpressions":                                          `[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","us-east-1"]},{"key":"node.example.com/pool","operator":"In","values":["general"]},{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]`,
				"/spec/template/spec" + regionTerms + "/1":                                                           `{"matchFields":[{"key":"metadata.name","operator":"NotIn","values":["node-retired-1"]}],"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["eu-central-1","fr-par"]}]}`,
				"/spec/template/spec/affinity/nodeAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/weight": `50`,
				// The Deployment's declaration is carried to its Pods.
				"/spec/template/metadata/annotations": `{"sovereign.dev/datasets":"customer-pii-eu"}`,
			}, verdict: "patched"},
		{name: "deployment update, workload pinned where it may run", file: "deployment-update-pinned.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},

		// StatefulSet
		{name: "statefulset create, namespace default dataset", file: "statefulset-create-namespace-default.json", webhook: "validate",
			message: []string{"StatefulSet payments/ledger", "dataset.residency [Dataset residency policy (contractual)] at fra-1, par-1, us-east-1 (payments-in)"}, verdict: "denied"},
		{name: "statefulset create, namespace default, mutate to Mumbai", file: "statefulset-create-namespace-default.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/template/spec" + regionTerms: `[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["ap-bom"]}]}]`}, verdict: "patched"},
		{name: "statefulset update, pinned to a forbidden region", file: "statefulset-update-forbidden.json", webhook: "validate",
			message: []string{"gdpr.chapter5.no_basis [GDPR Art. 44, 45] at us-east-1 (customer-pii-eu)"}, verdict: "denied"},
		{name: "statefulset update, pinned to a forbidden region, mutate cannot widen", file: "statefulset-update-forbidden.json", webhook: "mutate",
			message: []string{"at us-east-1 "}, verdict: "denied"},

		// DaemonSet
		{name: "daemonset create, unknown dataset fails closed", file: "daemonset-create-unknown-dataset.json", webhook: "validate",
			message: []string{`unknown dataset "ghost-data"`}, verdict: "denied"},
		{name: "daemonset create, unknown dataset, mutate fails closed", file: "daemonset-create-unknown-dataset.json", webhook: "mutate",
			message: []string{`unknown dataset "ghost-data"`}, verdict: "denied"},
		{name: "daemonset update, public data anywhere", file: "daemonset-update-public.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "allowed"},

		// ReplicaSet
		{name: "replicaset create in a warn namespace", file: "replicaset-create-warn.json", webhook: "validate", allowed: true,
			warnings: []string{"sovereign (warn mode, would deny): gdpr.chapter5.no_basis [GDPR Art. 44, 45] at us-east-1, bom-1"}, verdict: "would-deny"},
		{name: "replicaset create in a warn namespace, mutate does not patch", file: "replicaset-create-warn.json", webhook: "mutate", allowed: true,
			warnings: []string{"warn mode, would deny"}, verdict: "would-deny"},
		{name: "replicaset update, label makes it stricter than its namespace", file: "replicaset-update-label-enforce.json", webhook: "validate",
			message: []string{"ReplicaSet analytics/reports-6c9f8d7b5"}, verdict: "denied"},

		// Job
		{name: "job create, dryRun is evaluated", file: "job-create-dryrun.json", webhook: "validate",
			message: []string{"Job shop/export", "at us-east-1, bom-1"}, verdict: "denied", dryRun: true},
		{name: "job create, dryRun, mutate", file: "job-create-dryrun.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/template/spec" + regionTerms: euOnly}, verdict: "patched", dryRun: true},
		{name: "job update, template immutable so mutate only decides", file: "job-update.json", webhook: "mutate",
			message: []string{"Job shop/export", "at us-east-1, bom-1"}, verdict: "denied"},

		// CronJob
		{name: "cronjob create, workload whose data fits no site", file: "cronjob-create-workload.json", webhook: "validate",
			message: []string{"CronJob shop/settle", "dataset.residency [Dataset residency policy (contractual)] at fra-1, par-1, us-east-1", "gdpr.chapter5.no_basis [GDPR Art. 44, 45] at us-east-1, bom-1"}, verdict: "denied"},
		{name: "cronjob create, workload whose data fits no site, mutate", file: "cronjob-create-workload.json", webhook: "mutate",
			message: []string{"at fra-1, par-1, us-east-1"}, verdict: "denied"},
		{name: "cronjob create, unconstrained, mutate the job template", file: "cronjob-create-unconstrained.json", webhook: "mutate", allowed: true,
			after: map[string]string{"/spec/jobTemplate/spec/template/spec" + regionTerms: euOnly}, verdict: "patched"},
		{name: "cronjob update, NotIn keeps it lawful", file: "cronjob-update-notin.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},

		// PersistentVolumeClaim
		{name: "pvc create, EU storage class", file: "pvc-create-eu-class.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "allowed"},
		{name: "pvc update, default class may provision anywhere", file: "pvc-update-default-class.json", webhook: "validate",
			message: []string{"PersistentVolumeClaim shop/orders-db", "at us-east-1, bom-1"}, verdict: "denied"},
		{name: "pvc update, mutate cannot move storage", file: "pvc-update-default-class.json", webhook: "mutate",
			message: []string{"at us-east-1, bom-1"}, verdict: "denied"},

		// What controllers create carries the declaration of what made it:
		// mutate writes it into pod and claim templates, in every mode.
		{name: "cronjob in a warn namespace, workload carried to the job's pods", file: "cronjob-create-workload.json", webhook: "mutate", allowed: true,
			edit:     func(req map[string]any) { req["namespace"] = "analytics" },
			warnings: []string{"warn mode, would deny"},
			after:    map[string]string{"/spec/jobTemplate/spec/template/metadata/annotations": `{"sovereign.dev/workload":"billing-api"}`}, verdict: "would-deny"},
		{name: "statefulset, declaration carried to its pods and its claims", file: "statefulset-create-namespace-default.json", webhook: "mutate", allowed: true,
			edit: func(req map[string]any) {
				meta(req["object"].(map[string]any))["annotations"] = map[string]any{"sovereign.dev/datasets": "payments-in"}
			},
			after: map[string]string{
				"/spec/template/metadata/annotations":               `{"sovereign.dev/datasets":"payments-in"}`,
				"/spec/volumeClaimTemplates/0/metadata/annotations": `{"sovereign.dev/datasets":"payments-in"}`,
				"/spec/template/spec" + regionTerms:                 `[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":["ap-bom"]}]}]`,
			}, verdict: "patched"},
		{name: "template that declares part already gets the rest", file: "cronjob-create-unconstrained.json", webhook: "mutate", allowed: true,
			edit: func(req map[string]any) {
				meta(req["object"].(map[string]any))["annotations"] = map[string]any{"sovereign.dev/datasets": "customer-pii-eu,public-catalogue"}
			},
			after: map[string]string{
				"/spec/jobTemplate/spec/template/metadata/annotations/sovereign.dev~1datasets": `"customer-pii-eu,public-catalogue"`,
				"/spec/jobTemplate/spec/template/spec" + regionTerms:                           euOnly,
			}, verdict: "patched"},
		{name: "replicaset a Deployment made is judged, its template left to its owner", file: "replicaset-create-warn.json", webhook: "mutate",
			edit: func(req map[string]any) {
				req["namespace"] = "shop"
				meta(req["object"].(map[string]any))["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "reports", "uid": "5e1c", "controller": true}}
			},
			message: []string{"ReplicaSet shop/reports-6c9f8d7b5", "at us-east-1, bom-1"}, verdict: "denied"},
		{name: "deployment's image updated: unchanged, its template brought up to date", file: "deployment-update-pinned.json", webhook: "mutate", allowed: true, noWarnings: true,
			edit: updateOf(func(obj map[string]any) {
				obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example.com/portal:2.0"
			}),
			after: map[string]string{"/spec/template/metadata/annotations": `{"sovereign.dev/workload":"patient-portal"}`}, verdict: "unchanged"},
		{name: "deployment rolled out after a policy change: restricted, never refused", file: "deployment-create-affinity.json", webhook: "mutate", allowed: true,
			edit: updateOf(func(obj map[string]any) {
				obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "registry.example.com/shop/app:1.5"
			}),
			warnings: []string{"required node affinity added: topology.kubernetes.io/region in [eu-central-1, fr-par]"},
			after:    map[string]string{"/spec/template/metadata/annotations": `{"sovereign.dev/datasets":"customer-pii-eu"}`}, verdict: "unchanged"},
		{name: "deployment scaled: its template is not touched", file: "deployment-create-affinity.json", webhook: "mutate", allowed: true, noWarnings: true,
			edit: updateOf(func(obj map[string]any) { obj["spec"].(map[string]any)["replicas"] = 7 }), verdict: "unchanged"},

		// Deletions and UPDATEs that change nothing the judgement reads are
		// never refused, even where the object would now be (a policy or
		// inventory change since it was admitted): finalizers, the garbage
		// collector and controllers must finish their work.
		{name: "statefulset scaled, placement unchanged", file: "statefulset-update-forbidden.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "unchanged",
			edit: updateOf(func(obj map[string]any) { obj["spec"].(map[string]any)["replicas"] = 5 })},
		{name: "statefulset scaled, mutate leaves it", file: "statefulset-update-forbidden.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "unchanged",
			edit: updateOf(func(obj map[string]any) { obj["spec"].(map[string]any)["replicas"] = 5 })},
		{name: "pod annotated with what the webhook does not read", file: "pod-update-pinned.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "unchanged",
			edit: updateOf(func(obj map[string]any) { meta(obj)["annotations"] = map[string]any{"example.com/owner": "team-a"} })},
		{name: "replicaset orphaned by the garbage collector", file: "replicaset-update-label-enforce.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "unchanged",
			edit: func(req map[string]any) {
				updateOf(nil)(req)
				meta(req["oldObject"].(map[string]any))["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "reports", "uid": "5e1c", "controller": true}}
			}},
		{name: "claim's protection finalizer removed while it is deleted", file: "pvc-update-default-class.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "deleting",
			edit: func(req map[string]any) {
				updateOf(func(obj map[string]any) { meta(obj)["deletionTimestamp"] = "2026-06-01T10:00:00Z" })(req)
				old := meta(req["oldObject"].(map[string]any))
				old["deletionTimestamp"], old["finalizers"] = "2026-06-01T10:00:00Z", []any{"kubernetes.io/pvc-protection"}
			}},
		{name: "statefulset in foreground deletion, even with a changed placement", file: "statefulset-update-forbidden.json", webhook: "mutate", allowed: true, noWarnings: true, verdict: "deleting",
			edit: func(req map[string]any) {
				m := meta(req["object"].(map[string]any))
				m["deletionTimestamp"], m["finalizers"] = "2026-06-01T10:00:00Z", []any{"foregroundDeletion"}
			}},
		{name: "delete is not evaluated", file: "pvc-update-default-class.json", webhook: "validate", allowed: true, noWarnings: true, verdict: "not-evaluated",
			edit: func(req map[string]any) { req["operation"], req["object"] = "DELETE", nil }},

		// Kinds it does not handle, and objects it cannot read.
		{name: "configmap is allowed with a warning", file: "configmap-create.json", webhook: "validate", allowed: true,
			warnings: []string{"sovereign: v1/ConfigMap is not evaluated"}, verdict: "unhandled"},
		{name: "pod whose object does not decode", file: "pod-create-unconstrained.json", webhook: "validate", edit: func(req map[string]any) {
			req["object"].(map[string]any)["spec"] = "not a pod spec"
		}, err: admission.ErrMalformedReview, message: []string{"malformed AdmissionReview: request.object is not a valid Pod"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkReview(t, r, tc)
		})
	}
}

// updateOf makes a review an UPDATE of an unchanged copy of its object, then
// changes the object with change (nil: none).
func updateOf(change func(obj map[string]any)) func(req map[string]any) {
	return func(req map[string]any) {
		b, _ := json.Marshal(req["object"])
		var old map[string]any
		_ = json.Unmarshal(b, &old)
		req["operation"], req["oldObject"] = "UPDATE", old
		if change != nil {
			change(req["object"].(map[string]any))
		}
	}
}

func meta(obj map[string]any) map[string]any { return obj["metadata"].(map[string]any) }

func checkReview(t *testing.T, r *admission.Reviewer, tc reviewCase) {
	t.Helper()
	sent := loadReview(t, tc.file)
	req := sent["request"].(map[string]any)
	if tc.edit != nil {
		tc.edit(req)
	}
	out, err := review(t, r, tc.webhook, sent)
	if tc.err != nil || err != nil {
		if !errors.Is(err, tc.err) {
			t.Fatalf("error %v, want %v", err, tc.err)
		}
		for _, m := range tc.message {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("error %q lacks %q", err, m)
			}
		}
		return
	}

	// The answer is for the same request.
	resp := out.Response
	body, _ := json.Marshal(resp)
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
	if len(resp.AuditAnnotations) > 0 {
		t.Errorf("audit annotations are the recorder's to add, once the record is kept: %v", resp.AuditAnnotations)
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
		again := deepCopyJSON(t, sent)
		again["request"].(map[string]any)["object"] = patched
		if o, err := review(t, r, "validate", again); err != nil || !o.Response.Allowed {
			t.Errorf("validate must admit the patched object: %v %+v", err, o)
		}
	}

	// The record says who asked for what and what was answered.
	rec := out.Record
	user := req["userInfo"].(map[string]any)["username"]
	if rec.Request.UID != req["uid"] || rec.Request.Webhook != tc.webhook || rec.Request.Kind.Kind != req["kind"].(map[string]any)["kind"] ||
		rec.Request.Namespace != req["namespace"] || rec.Request.Operation != req["operation"] || rec.Request.UserInfo.Username != user {
		t.Errorf("record request does not describe the review: %+v", rec.Request)
	}
	if b, _ := json.Marshal(rec.Request); strings.Contains(string(b), `"object"`) || req["object"] != nil && len(rec.Request.ObjectSHA256) != 64 {
		t.Errorf("the record must hold the object's digest, never the object (it may carry secrets): %s", b)
	}
	if rec.Result.Allowed != tc.allowed || rec.Result.Verdict != tc.verdict || rec.Result.DryRun != tc.dryRun || rec.Request.DryRun != tc.dryRun {
		t.Errorf("record result %+v, want allowed=%v verdict=%s dry_run=%v", rec.Result, tc.allowed, tc.verdict, tc.dryRun)
	}
	if rec.Result.Allowed != resp.Allowed || !slices.Equal(rec.Result.Warnings, resp.Warnings) {
		t.Errorf("the record must keep what is answered: %+v vs %s", rec.Result, body)
	}
	if d := rec.Result.Decision; d != nil {
		if rec.ID != d.DecisionID || rec.Bundle != d.Bundle || rec.InventoryRevision != d.InventoryRevision {
			t.Errorf("a record of an evaluated review carries its decision's id, bundle and inventory: %+v", rec)
		}
	} else if id, err := uuid.Parse(rec.ID); err != nil || id.Version() != 7 || !strings.HasPrefix(rec.Bundle.Digest, "sha256:") || !strings.HasPrefix(rec.InventoryRevision, "sha256:") {
		t.Errorf("a record of a review not evaluated has a UUIDv7 and the bundle and inventory in force: %+v", rec)
	}
}

func TestUnhandledKindDenied(t *testing.T) {
	r := newReviewer(t, func(c *admission.Config) { c.UnhandledKinds = "deny" })
	out, err := review(t, r, "validate", loadReview(t, "configmap-create.json"))
	if err != nil || out.Response.Allowed || !strings.Contains(out.Response.Result.Message, "unhandled kinds are denied") {
		t.Fatalf("want a refusal of the ConfigMap: %v %+v", err, out)
	}
}

// The built-in library has no placement obligations yet: a small bundle with
// one shows that obligations become warnings and do not refuse.
func TestObligationsAreWarnings(t *testing.T) {
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
	eng := newDemoEngine(t)
	if err := eng.Activate(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	r, err := admission.NewReviewer(eng, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	out, err := review(t, r, "validate", loadReview(t, "pod-create-unconstrained.json"))
	if err != nil || !out.Response.Allowed {
		t.Fatalf("obligations alone must not refuse: %v %+v", err, out)
	}
	// One line for the rule, naming every site it applies at.
	if want := []string{"sovereign: obligation test.notify [Test Art. 1] at fra-1, par-1, us-east-1, bom-1: notify the DPO before processing"}; !slices.Equal(out.Response.Warnings, want) {
		t.Errorf("warnings %q, want %q", out.Response.Warnings, want)
	}
}

// Declaring more can only restrict more: a dataset named on the object does not
// replace the namespace default, and an UPDATE that drops a declaration is
// judged on what the previous version declared.
func TestDeclarationsOnlyRestrict(t *testing.T) {
	r := newReviewer(t)
	allowed := func(t *testing.T, sent map[string]any) bool {
		t.Helper()
		out, err := review(t, r, "validate", sent)
		if err != nil {
			t.Fatal(err)
		}
		return out.Response.Allowed
	}

	t.Run("namespace default kept", func(t *testing.T) {
		sent := loadReview(t, "statefulset-create-namespace-default.json")
		if allowed(t, sent) {
			t.Fatal("fixture must be refused on the namespace default")
		}
		meta := sent["request"].(map[string]any)["object"].(map[string]any)["metadata"].(map[string]any)
		meta["annotations"] = map[string]any{"sovereign.dev/datasets": "public-catalogue"}
		if allowed(t, sent) {
			t.Fatal("declaring a harmless dataset replaced the namespace default and freed the object")
		}
	})
	t.Run("dropped on update", func(t *testing.T) {
		sent := loadReview(t, "statefulset-update-forbidden.json")
		if allowed(t, sent) {
			t.Fatal("fixture must be refused")
		}
		meta := sent["request"].(map[string]any)["object"].(map[string]any)["metadata"].(map[string]any)
		delete(meta, "annotations")
		if allowed(t, sent) {
			t.Fatal("an UPDATE that drops its dataset declaration was allowed")
		}
	})
}

func TestNotConfigured(t *testing.T) {
	r, err := admission.NewReviewer(newDemoEngine(t), admission.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := review(t, r, "validate", loadReview(t, "pod-update-pinned.json")); !errors.Is(err, admission.ErrNotConfigured) {
		t.Fatalf("without a cluster site: %v, want ErrNotConfigured", err)
	}
}

// A Pod a controller made is recorded with its controller: its user is the
// controller's, and the auditor needs to know which workload it belongs to.
func TestControllerRecorded(t *testing.T) {
	r := newReviewer(t)
	sent := loadReview(t, "pod-create-unconstrained.json")
	meta(sent["request"].(map[string]any)["object"].(map[string]any))["ownerReferences"] = []any{
		map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c6f5", "uid": "9a1b", "controller": true},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "not-the-controller", "uid": "9a1c"},
	}
	out, err := review(t, r, "mutate", sent)
	if err != nil {
		t.Fatal(err)
	}
	if out.Record.Request.Owner != "ReplicaSet/web-7d4b9c6f5" || !slices.Equal(out.Record.Result.Datasets, []string{"customer-pii-eu"}) || out.Record.Result.Verdict != "patched" {
		t.Fatalf("want the Pod judged on its own declaration and recorded with its controller: %+v %+v", out.Record.Request, out.Record.Result)
	}
}
