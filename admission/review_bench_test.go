package admission_test

import (
	"context"
	"encoding/json"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/engine"
)

// BenchmarkDecideAdmission is the CPU of one review without the audit log:
// decode the review and the object, resolve datasets and candidates, evaluate
// the policy, build the patch, the record (encoded as api encodes it) and the
// answer. Uncached is a review the decision cache has not seen (every one
// evaluated); Cached is the same pod template reviewed again the same day
// (replicas, rollouts, the ReplicaSet a Deployment creates).
func BenchmarkDecideAdmission(b *testing.B) {
	b.Run("Uncached", func(b *testing.B) { benchmarkDecideAdmission(b, engine.WithDecisionCache(0)) })
	b.Run("Cached", func(b *testing.B) { benchmarkDecideAdmission(b) })
}

func benchmarkDecideAdmission(b *testing.B, opts ...engine.Option) {
	r, err := admission.NewReviewer(newDemoEngine(b, opts...), testConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	raw := mustReadFixture(b, "pod-create-unconstrained.json")
	b.ReportAllocs()
	for b.Loop() {
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(raw, &review); err != nil {
			b.Fatal(err)
		}
		out, err := r.Review(context.Background(), review.Request, true)
		if err != nil || len(out.Response.Patch) == 0 {
			b.Fatalf("want a patch: %v", err)
		}
		if _, err := json.Marshal(out.Record.Request); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(out.Record.Result); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: out.Response}); err != nil {
			b.Fatal(err)
		}
	}
}
