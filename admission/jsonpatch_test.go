package admission_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func containsSub(list []string, sub string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, sub) })
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
