package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkAdmissionValidate is one AdmissionReview (a Pod refused at two of its
// four candidate sites) over HTTP on loopback, decided, signed and durably
// logged before it is answered, from one client at a time: the latency a lone
// API server request sees.
func BenchmarkAdmissionValidate(b *testing.B) {
	benchmarkAdmission(b, "validate", 1)
}

// BenchmarkAdmissionMutate is the same review answered with a JSONPatch.
func BenchmarkAdmissionMutate(b *testing.B) {
	benchmarkAdmission(b, "mutate", 1)
}

// BenchmarkAdmissionValidateParallel has 8 clients: appends share fsyncs.
func BenchmarkAdmissionValidateParallel(b *testing.B) {
	benchmarkAdmission(b, "validate", 8)
}

func benchmarkAdmission(b *testing.B, webhook string, parallelism int) {
	ts := newAdmissionServer(b)
	body := mustReadFixture(b, "pod-create-unconstrained.json")
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	url := ts.URL + "/v1/admission/" + webhook
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
