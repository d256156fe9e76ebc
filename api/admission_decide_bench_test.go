package api

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// BenchmarkDecideAdmission is the CPU of one review without the audit log:
// decode the review and the object, resolve datasets and candidates, evaluate
// the policy, build the patch, the record and the answer. Uncached is a review
// the decision cache has not seen (every one evaluated); Cached is the same
// pod template reviewed again the same day (replicas, rollouts, the
// ReplicaSet a Deployment creates).
func BenchmarkDecideAdmission(b *testing.B) {
	b.Run("Uncached", func(b *testing.B) { benchmarkDecideAdmission(b, engine.WithDecisionCache(0)) })
	b.Run("Cached", func(b *testing.B) { benchmarkDecideAdmission(b) })
}

func benchmarkDecideAdmission(b *testing.B, opts ...engine.Option) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		b.Fatal(err)
	}
	inv, err := engine.LoadInventory("../testdata/inventory/demo")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv, opts...)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := LoadAdmissionConfig("../testdata/admission/config.yaml", "", "")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Clock = func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	if cfg, err = cfg.withDefaults(inv); err != nil {
		b.Fatal(err)
	}
	s := &Server{cfg: Config{Engine: eng, Admission: cfg}}
	s.admission.Store(&cfg)
	raw, err := os.ReadFile("../testdata/admission/pod-create-unconstrained.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(raw, &review); err != nil {
			b.Fatal(err)
		}
		out, err := s.decideAdmission(context.Background(), s.admission.Load(), review.Request, true)
		if err != nil || len(out.patch) == 0 {
			b.Fatalf("want a patch: %v", err)
		}
		if _, err := out.record(review.Request, true, "anonymous", eng); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: out.response(review.Request.UID)}); err != nil {
			b.Fatal(err)
		}
	}
}
