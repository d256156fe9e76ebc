// Package yamlfile reads the YAML (and JSON) files a person writes for
// Sovereign — the inventory, the auth and admission configurations, golden
// scenarios — strictly, within bounds, and with file:line:column in every
// error, so that a mistake points at the line to fix.
//
// Strict means: an unknown field, a duplicate key, a value of the wrong kind
// (a list where a mapping belongs, "ten" where a number belongs, an unquoted
// 1.10 or true where a string belongs), an empty entry and a second document
// in one file are errors, each reported with its field path and position,
// all of them at once. Fields are named by their `json` tags, the
// names the API and Rego use, and the value is finally decoded by
// encoding/json, so a type's UnmarshalJSON applies as it does to a request.
//
// Bounded means: a file is refused before it is parsed when it is over
// MaxBytes, and before it is decoded when it nests deeper than MaxDepth or its
// aliases expand past MaxNodes (a "billion laughs" document). The parser is
// go.yaml.in/yaml/v3 (the YAML organisation's maintained yaml.v3): it stops at
// 10,000 levels of nesting on its own, for a few MB, and parses a 4 MB file
// with a fifth of the allocations of goccy/go-yaml.
package yamlfile

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// Limits bound what reading one file may cost.
type Limits struct {
	// MaxBytes caps the file's size.
	MaxBytes int64
	// MaxDepth caps how deeply mappings and sequences nest.
	MaxDepth int
	// MaxNodes caps the values the document holds once its aliases are
	// expanded.
	MaxNodes int
}

// DefaultLimits suit a configuration file.
var DefaultLimits = Limits{MaxBytes: 4 << 20, MaxDepth: 32, MaxNodes: 1_000_000}

// ErrTooLarge is a file over its Limits.
var ErrTooLarge = errors.New("too large")

// Error is one problem in a file: where, which field, what.
type Error struct {
	File         string
	Line, Column int
	// Path is the field, as the API names it: tokens[2].sha256.
	Path    string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// Errors is every problem found in a file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Document is a parsed file.
type Document struct {
	name   string
	root   *yaml.Node // the document's content; nil for an empty file
	limits Limits
}

// Read reads and parses the regular file at path (a symbolic link to one is
// followed; a device, FIFO or directory is refused before it is read). Errors
// name the file by path.
func Read(path string, limits Limits) (*Document, error) {
	return ReadNamed(path, path, limits)
}

// ReadNamed is Read, naming the file name in errors (a name relative to the
// directory the user gave, say).
func ReadNamed(path, name string, limits Limits) (*Document, error) {
	// Non-blocking, so that opening a FIFO returns at once and is refused
	// below instead of waiting for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: name, Message: "not a regular file (" + st.Mode().Type().String() + ")"}
	}
	if st.Size() > limits.MaxBytes {
		return nil, &Error{File: name, Message: fmt.Sprintf("%v: %d bytes (limit %d)", ErrTooLarge, st.Size(), limits.MaxBytes)}
	}
	// The file may grow after the Stat: read at most one byte past the limit.
	data, err := io.ReadAll(io.LimitReader(f, limits.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	return Parse(name, data, limits)
}

// Parse parses data, named name in errors.
func Parse(name string, data []byte, limits Limits) (*Document, error) {
	if int64(len(data)) > limits.MaxBytes {
		return nil, &Error{File: name, Message: fmt.Sprintf("%v: more than %d bytes", ErrTooLarge, limits.MaxBytes)}
	}
	// JSON is YAML 1.2, but the YAML parser places a JSON syntax error at the
	// start of the enclosing object; encoding/json names the exact byte.
	if strings.EqualFold(filepath.Ext(name), ".json") && !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, &Error{File: name, Line: line, Column: col, Message: "malformed JSON: " + se.Error()}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(name, err)
		}
		docs = append(docs, &n)
	}
	doc := &Document{name: name, limits: limits}
	switch len(docs) {
	case 0:
		return doc, nil
	case 1:
	default:
		return nil, &Error{File: name, Line: docs[1].Line, Message: fmt.Sprintf("holds %d YAML documents: put one in each file", len(docs))}
	}
	if len(docs[0].Content) == 1 {
		doc.root = docs[0].Content[0]
	}
	if err := doc.checkShape(); err != nil {
		return nil, err
	}
	return doc, nil
}

// position is the line and column (from 1) of byte offset off in data.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off-1, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	switch {
	case strings.Contains(msg, "excessive aliasing") || strings.Contains(msg, "exceeded max depth"):
		msg = ErrTooLarge.Error() + ": " + msg
	case strings.EqualFold(filepath.Ext(name), ".json"):
		msg = "malformed JSON: " + msg
	default:
		msg = "malformed YAML: " + msg
	}
	return &Error{File: name, Line: line, Message: msg}
}

// checkShape bounds the tree: its depth, and its size with aliases expanded.
func (d *Document) checkShape() error {
	if d.root == nil {
		return nil
	}
	sizes := map[*yaml.Node]int{}
	var walk func(n *yaml.Node, depth int) (int, *Error)
	walk = func(n *yaml.Node, depth int) (int, *Error) {
		if depth > d.limits.MaxDepth {
			return 0, &Error{File: d.name, Line: n.Line, Column: n.Column, Message: fmt.Sprintf("%v: nests deeper than %d levels", ErrTooLarge, d.limits.MaxDepth)}
		}
		if s, ok := sizes[n]; ok {
			return s, nil
		}
		// Only an anchored node can be reached twice (through an alias):
		// only its size is remembered.
		remember := n.Anchor != ""
		size := 1
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 0, &Error{File: d.name, Line: n.Line, Column: n.Column, Message: "alias to no anchor"}
			}
			s, err := walk(n.Alias, depth)
			if err != nil {
				return 0, err
			}
			size = s
		}
		for _, c := range n.Content {
			s, err := walk(c, depth+1)
			if err != nil {
				return 0, err
			}
			size += s
			if size > d.limits.MaxNodes {
				return 0, &Error{File: d.name, Line: n.Line, Column: n.Column, Message: fmt.Sprintf("%v: more than %d values once its aliases are expanded", ErrTooLarge, d.limits.MaxNodes)}
			}
		}
		if remember {
			sizes[n] = size
		}
		return size, nil
	}
	_, err := walk(d.root, 0)
	if err != nil {
		return err
	}
	return nil
}

// Name is the file's name as given.
func (d *Document) Name() string { return d.name }

// Empty reports whether the file holds no document (or only comments).
func (d *Document) Empty() bool { return d.root == nil || d.root.Tag == "!!null" }

// Decode decodes the document into v (a pointer), strictly: every unknown
// field, duplicate key and value of the wrong kind is reported, with its
// path and position. v is set field by field as the tree is walked, so the
// file's values are never held twice; on error v may hold part of the file,
// so decode into a fresh value and use it only when Decode returns nil.
func (d *Document) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("yamlfile: Decode needs a non-nil pointer, got %T", v)
	}
	if d.Empty() {
		return nil
	}
	c := converter{doc: d}
	c.decode(d.root, rv.Elem(), "")
	if len(c.errs) > 0 {
		return c.errs
	}
	return nil
}

// At returns an error about the field at path (tokens[2].sha256), placed at
// its line, or at its nearest ancestor's when the field is not in the file.
func (d *Document) At(path, format string, args ...any) *Error {
	e := &Error{File: d.name, Path: path, Message: fmt.Sprintf(format, args...)}
	if n := d.find(path); n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Position is a place in a file.
type Position struct{ Line, Column int }

// Positions returns the position of each element of the list at path (a
// top-level key such as "datasets"), in order; nil when there is no list
// there. It is the cheap way to place every entry of a long list.
func (d *Document) Positions(path string) []Position {
	n := d.find(path)
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.SequenceNode || (path != "" && n == d.root) {
		return nil
	}
	out := make([]Position, len(n.Content))
	for i, e := range n.Content {
		out[i] = Position{e.Line, e.Column}
	}
	return out
}

// find returns the node at path, or the deepest ancestor present.
func (d *Document) find(path string) *yaml.Node {
	n, _ := d.lookup(path)
	return n
}

// lookup returns the node at path and true, or the deepest ancestor present
// and false.
func (d *Document) lookup(path string) (*yaml.Node, bool) {
	n := d.root
	if n == nil {
		return nil, false
	}
	for _, seg := range splitPath(path) {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
					// The key's position reads better for a missing or
					// wrong value than the value's.
					if next.Kind == yaml.ScalarNode && next.Value == "" {
						next = n.Content[i]
					}
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return n, false
		}
		n = next
	}
	return n, true
}

// splitPath splits a.b[2].c[key.with.dots] into a, b, 2, c, key.with.dots.
func splitPath(path string) []string {
	var segs []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(segs, path[1:])
			}
			segs = append(segs, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				return append(segs, path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

// converter turns the node tree into the JSON value of the Go type it is
// converter walks the node tree and a Go value together, setting the value
// and checking the tree against its type on the way.
type converter struct {
	doc  *Document
	errs Errors
}

func (c *converter) fail(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.doc.name, Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

// FieldError is an error of a json.Unmarshaler that names the field below
// the value it was given ("mechanism.kind", "candidates[2]"): Decode places it
// at that field's line rather than the value's.
type FieldError interface {
	error
	FieldPath() (path, message string)
}

// failUnmarshal reports the error of a type that decodes itself, at the field
// it names when it names one.
func (c *converter) failUnmarshal(n *yaml.Node, path string, err error) {
	var fe FieldError
	if errors.As(err, &fe) {
		if sub, msg := fe.FieldPath(); sub != "" {
			if !strings.HasPrefix(sub, "[") {
				sub = "." + sub
			}
			// Placed at the field when the file has it there; a field the
			// decoder names without its place (an unknown key deep in a
			// list) stays at the value, with the decoder's whole message.
			full := strings.TrimPrefix(path+sub, ".")
			if f, ok := c.doc.lookup(full); ok && f.Line >= n.Line {
				c.fail(f, full, "%s", msg)
				return
			}
		}
	}
	c.fail(n, path, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// decode sets v from n, checking n against v's type.
func (c *converter) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if v.Kind() == reflect.Struct {
			// "- " where an entry belongs: an empty entry is a mistake,
			// not a default.
			c.fail(n, path, "must be a mapping, got null")
			return
		}
		v.SetZero()
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		c.decode(n, v.Elem(), path)
		return
	}
	// A type that decodes itself gets the value as YAML typed it, as JSON
	// (a date, a duration): the same method reads it from a request.
	if u, ok := v.Addr().Interface().(json.Unmarshaler); ok {
		raw, err := json.Marshal(c.untyped(n, path))
		if err == nil {
			err = u.UnmarshalJSON(raw)
		}
		if err != nil {
			c.failUnmarshal(n, path, err)
		}
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok && n.Kind == yaml.ScalarNode {
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			c.fail(n, path, "%v", err)
		}
		return
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Interface:
		if u := c.untyped(n, path); u != nil {
			v.Set(reflect.ValueOf(u))
		}
	case reflect.Struct:
		c.object(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.fail(n, path, "must be a mapping, got %s", kindName(n))
			return
		}
		if t.Key().Kind() != reflect.String {
			c.fail(n, path, "cannot hold a mapping keyed by Go type %s", t.Key())
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		c.pairs(n, path, func(key string, _, val *yaml.Node) {
			e := reflect.New(t.Elem()).Elem()
			c.decode(val, e, path+"["+key+"]")
			v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
		})
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && n.Kind == yaml.ScalarNode {
			b, err := base64.StdEncoding.DecodeString(n.Value)
			if err != nil {
				c.fail(n, path, "must be base64, got %s", quoted(n))
				return
			}
			v.SetBytes(b)
			return
		}
		if n.Kind != yaml.SequenceNode {
			c.fail(n, path, "must be a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			c.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			c.fail(n, path, "must be a string, got %s", kindName(n))
			return
		}
		// YAML types a plain 1.10, 0123 or true as a number or a boolean;
		// taken as a string it would be what the parser made of it, not
		// what was written. Such a value must be quoted, as in JSON. Other
		// plain scalars are strings as written (YAML 1.2: country: NO is
		// "NO", valid_until: 2027-06-30 is "2027-06-30").
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			if what := typedScalar(n.Tag); what != "" {
				c.fail(n, path, "must be a string, got %s %s: quote it if %q is meant", what, n.Value, n.Value)
				return
			}
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind == yaml.ScalarNode {
			switch n.Value {
			case "true", "True", "TRUE":
				v.SetBool(true)
				return
			case "false", "False", "FALSE":
				v.SetBool(false)
				return
			}
		}
		c.fail(n, path, "must be true or false, got %s", quoted(n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil && !v.OverflowInt(i) {
				v.SetInt(i)
				return
			}
		}
		c.fail(n, path, "must be a whole number, got %s", quoted(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
			if i, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil && !v.OverflowUint(i) {
				v.SetUint(i)
				return
			}
		}
		c.fail(n, path, "must be a whole number, not negative, got %s", quoted(n))
	case reflect.Float32, reflect.Float64:
		if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
			if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
				v.SetFloat(f)
				return
			}
		}
		c.fail(n, path, "must be a number, got %s", quoted(n))
	default:
		c.fail(n, path, "cannot hold a value of Go type %s", t)
	}
}

// typedScalar names what YAML made of a plain scalar with tag, when it is
// not a string.
func typedScalar(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return ""
}

// object checks a mapping against a struct's json fields and sets them.
func (c *converter) object(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, got %s", kindName(n))
		return
	}
	fields := jsonFields(v.Type())
	c.pairs(n, path, func(key string, k, val *yaml.Node) {
		f, ok := fields[key]
		if !ok {
			c.fail(k, joinPath(path, key), "unknown field %q%s", key, suggest(key, fields))
			return
		}
		c.decode(val, fieldByIndexAlloc(v, f.index), joinPath(path, key))
	})
}

// fieldByIndexAlloc is v.FieldByIndex, allocating nil embedded pointers on
// the way.
func fieldByIndexAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// pairs calls fn for each key and value of a mapping, merge keys (<<)
// resolved, refusing duplicate and non-scalar keys.
func (c *converter) pairs(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	var merged []*yaml.Node // pairs from << come after, and lose to, the mapping's own
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			for v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				for s.Kind == yaml.AliasNode {
					s = s.Alias
				}
				if s.Kind != yaml.MappingNode {
					c.fail(s, path, "a merge (<<) takes a mapping or a list of mappings, got %s", kindName(s))
					continue
				}
				merged = append(merged, s.Content...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.fail(k, path, "a key must be a plain value, got %s", kindName(k))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			c.fail(k, joinPath(path, k.Value), "duplicate key %q (first at line %d)", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		fn(k.Value, k, v)
	}
	for i := 0; i+1 < len(merged); i += 2 {
		k, v := merged[i], merged[i+1]
		if _, own := seen[k.Value]; own || k.Kind != yaml.ScalarNode {
			continue
		}
		seen[k.Value] = k
		fn(k.Value, k, v)
	}
}

// untyped is the value as YAML types it, for fields of type any and types
// with their own UnmarshalJSON.
func (c *converter) untyped(n *yaml.Node, path string) any {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		c.pairs(n, path, func(key string, _, v *yaml.Node) { out[key] = c.untyped(v, path+"["+key+"]") })
		return out
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, e := range n.Content {
			out[i] = c.untyped(e, fmt.Sprintf("%s[%d]", path, i))
		}
		return out
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
	case "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return f
		}
	}
	return n.Value
}

type field struct{ index []int }

// fieldCache holds jsonFields by type: a file of many entries of one type
// looks its fields up once.
var fieldCache sync.Map // reflect.Type -> map[string]field

// jsonFields maps a struct's JSON names to its fields, embedded structs
// flattened as encoding/json does.
func jsonFields(t reflect.Type) map[string]field {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]field)
	}
	f := structFields(t)
	fieldCache.Store(t, f)
	return f
}

func structFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					if _, own := out[k]; !own {
						out[k] = field{append([]int{i}, v.index...)}
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = field{[]int{i}}
	}
	return out
}

// suggest names the field a misspelt key most likely meant: the closest
// within two edits, or one that differs only in case or separators.
func suggest(key string, fields map[string]field) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	names := slices.Sorted(maps.Keys(fields))
	best, bestDist := "", 3
	for _, name := range names {
		d := levenshtein.ComputeDistance(key, name)
		if norm(key) == norm(name) {
			d = 0
		}
		if d < bestDist {
			best, bestDist = name, d
		}
	}
	switch {
	case best != "":
		return fmt.Sprintf(" (did you mean %q?)", best)
	case len(names) <= 8:
		return ": expected " + strings.Join(names, ", ")
	}
	return ""
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return quoted(n)
}

func quoted(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return strconv.Quote(n.Value)
}
