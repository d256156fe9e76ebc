package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Decision answers conform to the Decision schema of openapi.yaml: every key
// they carry is documented, with its type, and every required key is there.
// Regimes, obligations, sites and the audit receipt are all checked.
func TestDecisionAnswersMatchTheSchema(t *testing.T) {
	ts := newTestServer(t)
	status, raw := ts.get(t, "/openapi.yaml")
	if status != 200 {
		t.Fatalf("openapi.yaml: %d", status)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, body string }{
		{"/v1/decisions/placement", `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"]}`},
		{"/v1/decisions/transfer", `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "reference": "SCC-1", "tia_reference": "TIA-1"}}`},
	} {
		status, b := ts.post(t, c.path, "application/json", []byte(c.body))
		if status != 200 {
			t.Fatalf("%s: %d %s", c.path, status, b)
		}
		var answer any
		if err := json.Unmarshal(b, &answer); err != nil {
			t.Fatal(err)
		}
		if regimes, _ := answer.(map[string]any)["regimes"].([]any); len(regimes) == 0 {
			t.Errorf("%s: the answer lists no regimes", c.path)
		}
		for _, p := range conform(doc.Components.Schemas, map[string]any{"$ref": "#/components/schemas/Decision"}, answer, "decision") {
			t.Errorf("%s: %s", c.path, p)
		}
	}

	// The checker itself finds an undocumented key, a missing required one
	// and a wrong type.
	bad := map[string]any{"decision_id": "x", "kind": "placement", "allowed": "yes", "violations": []any{},
		"bundle": map[string]any{}, "inventory_revision": "r", "audit": map[string]any{}, "regime": []any{}}
	got := conform(doc.Components.Schemas, map[string]any{"$ref": "#/components/schemas/Decision"}, bad, "decision")
	want := []string{"decision.allowed: string, want boolean", `decision: no "obligations"`, "decision.regime: not in the schema"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("checker missed %q; found %q", w, got)
		}
	}
}

// conform lists where v departs from schema s (a subset of OpenAPI: $ref,
// type, properties, required, items, enum).
func conform(schemas map[string]any, s map[string]any, v any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		sub, ok := schemas[name].(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: schema %s not found", path, ref)}
		}
		return conform(schemas, sub, v, path)
	}
	var out []string
	typ, _ := s["type"].(string)
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want object", path, v)}
		}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s: no %q", path, r))
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: not in the schema", path, k))
				continue
			}
			out = append(out, conform(schemas, ps, m[k], path+"."+k)...)
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want array", path, v)}
		}
		items, _ := s["items"].(map[string]any)
		for i, el := range l {
			out = append(out, conform(schemas, items, el, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want string", path, v)}
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(str)) {
			out = append(out, fmt.Sprintf("%s: %q not in %v", path, str, enum))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: %T, want boolean", path, v)}
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: %T, want %s", path, v, typ)}
		}
	}
	return out
}
