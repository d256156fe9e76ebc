package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Redacted is the value that replaces a redacted field in a record's request.
const Redacted = "[redacted]"

// Redact returns the canonical form of doc with the value of every field named
// by paths replaced by the string "[redacted]". A path is a top-level field
// ("principal_email") or a dotted path into nested objects
// ("dataset.subject_count"); where a path crosses an array, it applies to every
// element of the array ("sites.operator.name"). Paths that do not occur in doc
// are ignored. Field names containing a dot cannot be addressed.
func Redact(doc json.RawMessage, paths []string) (json.RawMessage, error) {
	if len(paths) == 0 {
		return Canonicalize(doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	for _, p := range paths {
		redactPath(v, strings.Split(p, "."))
	}
	return canonicalJSON(v)
}

func redactPath(v any, path []string) {
	switch node := v.(type) {
	case map[string]any:
		child, ok := node[path[0]]
		if !ok {
			return
		}
		if len(path) == 1 {
			node[path[0]] = Redacted
			return
		}
		redactPath(child, path[1:])
	case []any:
		for _, el := range node {
			redactPath(el, path)
		}
	}
}

// validRedactPath reports whether p is a usable redaction path.
func validRedactPath(p string) bool {
	if p == "" {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
	}
	return true
}
