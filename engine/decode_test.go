package engine_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// TestDecodeRefusals: every way a body is refused before it is validated,
// with the stable code, the message and the field the API reports.
func TestDecodeRefusals(t *testing.T) {
	cases := []struct {
		name, body string
		transfer   bool
		code       string
		message    string // a substring
		path       string // "" when no field is named
	}{
		{name: "empty", body: " \n", code: engine.CodeMalformedJSON, message: "request body is empty"},
		{name: "malformed", body: `{"dataset": "a", "operation": }`, code: engine.CodeMalformedJSON, message: "malformed JSON at byte offset 31"},
		{name: "truncated", body: `{"dataset": "a"`, code: engine.CodeMalformedJSON, message: "unexpected end of input"},
		{name: "unknown field", body: `{"dataset": "a", "operation": "store", "sites": []}`, code: engine.CodeUnknownField, message: `unknown field "sites"`, path: "sites"},
		{name: "unknown field of an inline dataset", body: `{"dataset": {"id": "x", "classification": "public", "colour": "red"}, "operation": "store"}`, code: engine.CodeUnknownField, message: `"colour"`, path: "colour"},
		{name: "trailing value", body: `{"dataset": "a", "operation": "store"} {}`, code: engine.CodeTrailingData, message: "byte offset 40 ({)"},
		{name: "trailing garbage", body: `{"dataset": "a", "operation": "store"}]`, code: engine.CodeTrailingData, message: "byte offset 38"},
		{name: "not an object", body: `[]`, code: engine.CodeInvalidRequest, message: "invalid request: $: must be an object, got JSON array", path: "$"},
		{name: "wrong type", body: `{"dataset": "a", "operation": "store", "candidates": "fra-1"}`, code: engine.CodeInvalidRequest, message: "must be an array", path: "candidates"},
		{name: "wrong type inside an inline dataset", body: `{"dataset": {"id": "x", "classification": "public", "encryption": {"at_rest": "yes"}}, "operation": "store"}`, code: engine.CodeInvalidRequest, message: "must be a boolean", path: "dataset.encryption.at_rest"},
		{name: "dataset neither id nor object", body: `{"dataset": 5, "operation": "store"}`, code: engine.CodeInvalidRequest, message: "invalid request: dataset: must be an id string or an object", path: "dataset"},
		{name: "workload neither id nor object", body: `{"workload": [], "operation": "store"}`, code: engine.CodeInvalidRequest, path: "workload"},
		{name: "a key in another case", body: `{"dataset": "a", "DATASET": "b", "operation": "store"}`, code: engine.CodeUnknownField, message: "case-sensitive", path: "DATASET"},
		{name: "a nested key in another case", body: `{"dataset": {"id": "x", "classification": "public", "Subject_Count": 5}, "operation": "store"}`, code: engine.CodeUnknownField, path: "dataset.Subject_Count"},
		{name: "a key given twice", body: `{"dataset": "a", "dataset": "b", "operation": "store"}`, code: engine.CodeMalformedJSON, message: `field "dataset": given twice`, path: "dataset"},
		{name: "a key given twice, once escaped", body: `{"dataset": "a", "d\u0061taset": "b", "operation": "store"}`, code: engine.CodeMalformedJSON, path: "dataset"},
		{name: "transfer: a mechanism key in another case", transfer: true, body: `{"dataset": "a", "from": "x", "to": "y", "type": "backup", "mechanism": {"kind": "scc", "Module": "C2P"}}`, code: engine.CodeUnknownField, path: "mechanism.Module"},
		{name: "transfer: a placement field", transfer: true, body: `{"dataset": "a", "from": "x", "to": "y", "type": "backup", "operation": "store"}`, code: engine.CodeUnknownField, path: "operation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.transfer {
				_, err = engine.DecodeTransferRequest([]byte(c.body))
			} else {
				_, err = engine.DecodePlacementRequest([]byte(c.body))
			}
			var derr *engine.DecodeError
			if !errors.As(err, &derr) {
				t.Fatalf("want a *DecodeError, got %v", err)
			}
			if derr.Code != c.code || !strings.Contains(derr.Message, c.message) {
				t.Errorf("got %s %q, want %s containing %q", derr.Code, derr.Message, c.code, c.message)
			}
			switch {
			case c.path == "" && derr.Field != nil:
				t.Errorf("names field %+v, want none", derr.Field)
			case c.path != "" && (derr.Field == nil || derr.Field.Path != c.path):
				t.Errorf("names field %+v, want %q", derr.Field, c.path)
			}
		})
	}
}

// TestDecodeAccepts: what the strict decoder lets through decodes as
// encoding/json would; trailing white space is not data.
func TestDecodeAccepts(t *testing.T) {
	p, err := engine.DecodePlacementRequest([]byte(`{"dataset": {"id": "x\ud83d\ude00", "classification": "public"}, "operation": "store", "candidates": ["fra-1"]}` + " \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &engine.PlacementRequest{Dataset: &engine.DatasetRef{Inline: &engine.Dataset{ID: "x😀", Classification: "public"}}, Operation: "store", Candidates: []string{"fra-1"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v, want %+v", p, want)
	}
	tr, err := engine.DecodeTransferRequest([]byte(`{"dataset": "a", "from": "x", "to": "y", "type": "backup", "mechanism": {"kind": "scc", "module": "C2P"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Dataset.ID != "a" || tr.Mechanism.Module != "C2P" {
		t.Errorf("got %+v", tr)
	}
}
