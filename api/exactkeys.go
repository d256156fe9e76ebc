package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/sovereign-engine/sovereign/engine"
)

// inlineShapes maps types that decode themselves from either an id string or an
// object to the struct their object form has.
var inlineShapes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[engine.DatasetRef]():  reflect.TypeFor[engine.Dataset](),
	reflect.TypeFor[engine.WorkloadRef](): reflect.TypeFor[engine.Workload](),
}

// keyError is a key refused by checkExactKeys.
type keyError struct {
	path, msg string
}

func (e *keyError) Error() string { return e.path + ": " + e.msg }

// checkExactKeys refuses object keys that are not exactly a field's JSON name
// and keys given twice. encoding/json matches names case-insensitively and lets
// the last duplicate win, so {"dataset": "a", "DATASET": "b"} would decide on b
// while the body kept in the audit record reads a (and a redaction path would
// miss "Subject_Count"). The body must already be valid JSON.
func checkExactKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkKeys(dec, t, "")
}

func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	t = shapeOf(t)
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key := kt.(string)
			at := joinPath(path, key)
			if seen[key] {
				return &keyError{at, "given twice"}
			}
			seen[key] = true
			var ft reflect.Type
			if t != nil {
				switch t.Kind() {
				case reflect.Struct:
					f, ok := fieldByJSONName(t, key)
					if !ok {
						return &keyError{at, "unknown field (field names are case-sensitive)"}
					}
					ft = f
				case reflect.Map:
					ft = t.Elem()
				}
			}
			if err := walkKeys(dec, ft, at); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, et, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// shapeOf is the type whose fields an object must match: pointers are
// followed, id-or-object types become their object form, and free-form values
// (any, json.RawMessage) have none (nil: only duplicates are checked).
func shapeOf(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return nil
	}
	if s, ok := inlineShapes[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		if t == reflect.TypeFor[json.RawMessage]() {
			return nil
		}
		return t
	}
	return nil
}

func fieldByJSONName(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f.Type, true
		}
	}
	return nil, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
