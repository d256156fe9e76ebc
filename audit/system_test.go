package audit

import (
	"errors"
	"testing"
)

// TestSystemRecordsReadBack: each system record reads back, by DecodeSystem,
// as its constructor wrote it; and records written before the types existed
// (the same JSON, built from maps) read the same.
func TestSystemRecordsReadBack(t *testing.T) {
	c := Context{Bundle: BundleRef{Revision: "r1", Digest: "sha256:11"}, InventoryRevision: "sha256:aa", EngineVersion: "test"}
	mk := func(r *Record, err error) *Record {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name string
		rec  *Record
		want SystemEvent
	}{
		{"bundle activation", mk(NewBundleActivation("http://cp/b.tar.gz", BundleRef{Revision: "r2", Digest: "sha256:22"}, c)),
			SystemEvent{Source: "http://cp/b.tar.gz", Revision: "r2"}},
		{"bundle refusal", mk(NewBundleRefusal("http://cp/b.tar.gz", "e1", errors.New("bundle rollback"), c)),
			SystemEvent{Source: "http://cp/b.tar.gz", Reason: "bundle rollback"}},
		{"inventory activation", mk(NewInventoryActivation("inv/", InventoryActivation{Revision: "sha256:bb", Sites: 2}, c)),
			SystemEvent{Source: "inv/", Revision: "sha256:bb"}},
		{"inventory refusal", mk(NewInventoryRefusal("inv/", errors.New("sites.yaml:3: bad"), c)),
			SystemEvent{Source: "inv/", Reason: "sites.yaml:3: bad"}},
		{"access denied", mk(NewAccessDenial(`Tenant::"x"`, AccessRequest{Method: "GET", Route: "/v1/audit/report", Action: "report.export"},
			AccessDenial{Status: 403, Code: "forbidden", Reason: "not an auditor", ReasonCode: "policy"}, c)),
			SystemEvent{Reason: "not an auditor"}},
		// As the service wrote them from maps before these types.
		{"old bundle refusal", &Record{Kind: KindBundleRefusal, Request: []byte(`{"source":"s"}`),
			Result: []byte(`{"digest":"","error":"verify failed","etag":"e","revision":""}`)}, SystemEvent{Source: "s", Reason: "verify failed"}},
		{"old access denied", &Record{Kind: KindAccessDenied, Request: []byte(`{"action":"decide","method":"POST","resources":null,"route":"/v1/decisions/placement"}`),
			Result: []byte(`{"code":"unauthenticated","reason":"no credential","reason_code":"no_credentials","status":401}`)}, SystemEvent{Reason: "no credential"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.rec.Kind.IsSystem() {
				t.Fatalf("%s is not a system kind", tc.rec.Kind)
			}
			got, err := DecodeSystem(tc.rec.Kind, tc.rec.Request, tc.rec.Result)
			if err != nil || got != tc.want {
				t.Errorf("read back %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if r := cases[1].rec; r.Bundle != (BundleRef{}) || r.InventoryRevision != "sha256:aa" {
		t.Errorf("a refused bundle names no bundle, and the inventory in force: %+v", r)
	}
	if _, err := DecodeSystem(KindPlacement, nil, nil); err == nil {
		t.Error("a decision decoded as a system record")
	}
	if _, err := DecodeSystem(KindBundleRefusal, []byte(`{"source":1}`), nil); err == nil {
		t.Error("a malformed payload read without error")
	}
}
