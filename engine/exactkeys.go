package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// inlineShapes maps types that decode themselves from either an id string or an
// object to the struct their object form has.
var inlineShapes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[DatasetRef]():  reflect.TypeFor[Dataset](),
	reflect.TypeFor[WorkloadRef](): reflect.TypeFor[Workload](),
}

// msgGivenTwice is checkExactKeys' complaint about a duplicate key.
const msgGivenTwice = "given twice"

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

// walkKeys checks the keys of the next JSON value of dec, shaped as t (nil:
// free-form), found at path.
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
		err = walkObject(dec, t, path)
	case '[':
		err = walkArray(dec, t, path)
	}
	if err != nil {
		return err
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// walkObject checks an object's members, its opening brace read.
func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key := kt.(string)
		at := keyPath(path, key)
		if seen[key] {
			return &keyError{at, msgGivenTwice}
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
				ft = f.Type
			case reflect.Map:
				ft = t.Elem()
			}
		}
		if err := walkKeys(dec, ft, at); err != nil {
			return err
		}
	}
	return nil
}

// walkArray checks an array's elements, its opening bracket read.
func walkArray(dec *json.Decoder, t reflect.Type, path string) error {
	var et reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		et = t.Elem()
	}
	for i := 0; dec.More(); i++ {
		if err := walkKeys(dec, et, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
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

// keyPath is the JSON path of key in the object at path.
func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldByJSONName finds the exported field encoding/json writes under name:
// the name of its json tag, or its Go name when the tag gives none; a field
// tagged "-" has none.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
