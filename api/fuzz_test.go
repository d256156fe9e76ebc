package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/api"
)

// An AdmissionReview comes from whoever can create objects in the cluster
// (through the API server). The webhook is fuzzed through its HTTP entry
// point, so the fuzzing follows whatever decoder it uses: any body is
// answered, and never with a 500 (recoverPanic turns a panic into one).
func FuzzAdmissionReview(f *testing.F) {
	fixtures, _ := filepath.Glob("../testdata/admission/*.json")
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","uid":"2"}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"topology.kubernetes.io/region","operator":"In","values":[]}]}]}}}}}}}`))
	cfg, err := admission.LoadConfig("../testdata/admission/config.yaml", "", "")
	if err != nil {
		f.Fatal(err)
	}
	cfg.Clock = func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	ts := newTestServer(f, func(c *api.Config) { c.Admission = cfg })
	h := ts.api.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/admission/validate", "/v1/admission/mutate"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body.Bytes())
			}
		}
	})
}
