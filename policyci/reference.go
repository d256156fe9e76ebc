package policyci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/sovereign-engine/sovereign/internal/yamlfile"
)

// ReferenceProblem is one thing wrong with a reference data document, at a
// JSON path ("groups.EEA.versions[2].valid_until") and, for JSON files, a line.
type ReferenceProblem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

// ValidateReference checks a reference data document (policies/reference/data.json
// and scripts/gen_reference.py describe the shape) with rules that hold for
// any such document:
//
//   - a dated entry (an object with any of source, valid_from, valid_until)
//     has all three: a non-empty source, valid_from a calendar date
//     (YYYY-MM-DD), valid_until null or a date not before valid_from; a pair
//     X_valid_from / X_valid_until is in order too;
//   - a list of dated "versions" is sorted, does not overlap, is open (null
//     valid_until) only in its last version, and lies within its owner's
//     dates; a gap between versions is a warning;
//   - a two-letter upper-case string or key is an ISO 3166-1 alpha-2 code or
//     the name of a group (a key of a "groups" object), and so is every key
//     of a "members", "countries" or "codes" object.
func ValidateReference(raw []byte, isJSON bool) ([]ReferenceProblem, error) {
	var lineOf func(path string) (int, bool)
	if !isJSON {
		// A YAML document is read as every file a person writes
		// (internal/yamlfile: strict, bounded), and its problems are placed
		// at their lines too.
		yd, err := yamlfile.Parse("reference data", raw, referenceLimits)
		if err != nil {
			return nil, err
		}
		var doc any
		if err := yd.Decode(&doc); err != nil {
			return nil, err
		}
		if raw, err = json.Marshal(doc); err != nil {
			return nil, err
		}
		lineOf = func(path string) (int, bool) { return yd.At(path, "").Line, true }
	} else {
		lines, err := jsonLines(raw)
		if err != nil {
			return nil, err
		}
		lineOf = func(path string) (int, bool) { l, ok := lines[path]; return l, ok }
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	v := &refValidator{groups: map[string]bool{}, lineOf: lineOf}
	collectGroups(doc, "", v.groups)
	v.walk(doc, "", "")
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
	return v.problems, nil
}

// referenceLimits bounds a YAML reference data document as an inventory
// file is bounded.
var referenceLimits = yamlfile.Limits{MaxBytes: 16 << 20, MaxDepth: 32, MaxNodes: 4_000_000}

type refValidator struct {
	groups   map[string]bool
	lineOf   func(path string) (int, bool) // a path's line, if the index knows it
	problems []ReferenceProblem
}

func (v *refValidator) add(path, format string, args ...any) {
	v.problems = append(v.problems, ReferenceProblem{Path: path, Line: v.line(path), Message: fmt.Sprintf(format, args...)})
}

func (v *refValidator) warn(path, format string, args ...any) {
	v.add(path, format, args...)
	v.problems[len(v.problems)-1].Warning = true
}

// line is the line of path, or of its closest ancestor the index knows.
func (v *refValidator) line(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := v.lineOf(p); ok {
			return l
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func collectGroups(x any, key string, into map[string]bool) {
	switch t := x.(type) {
	case map[string]any:
		for k, c := range t {
			if key == "groups" {
				into[k] = true
			}
			collectGroups(c, k, into)
		}
	case []any:
		for _, c := range t {
			collectGroups(c, "", into)
		}
	}
}

var (
	twoLetters = regexp.MustCompile(`^[A-Z]{2}$`)
	isoCheck   = validator.New()
)

// codeKeys are objects keyed by country code (or group name).
var codeKeys = map[string]bool{"members": true, "countries": true, "codes": true}

func (v *refValidator) code(path, s string) {
	if v.groups[s] {
		return
	}
	if err := isoCheck.Var(s, "iso3166_1_alpha2"); err != nil {
		v.add(path, "%q is not an ISO 3166-1 alpha-2 country code nor a group name", s)
	}
}

func (v *refValidator) walk(x any, path, key string) {
	switch t := x.(type) {
	case map[string]any:
		v.datedEntry(t, path)
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := joinPath(path, k)
			if codeKeys[key] || twoLetters.MatchString(k) {
				v.code(child, k)
			}
			if k == "versions" {
				if list, ok := t[k].([]any); ok {
					v.versions(t, list, child)
				}
			}
			v.walk(t[k], child, k)
		}
	case []any:
		for i, c := range t {
			v.walk(c, fmt.Sprintf("%s[%d]", path, i), "")
		}
	case string:
		if twoLetters.MatchString(t) {
			v.code(path, t)
		}
	}
}

// date parses a calendar date; ok is false for anything else.
func date(x any) (time.Time, bool) {
	s, ok := x.(string)
	if !ok {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil
}

func (v *refValidator) datedEntry(m map[string]any, path string) {
	_, hasSource := m["source"]
	_, hasFrom := m["valid_from"]
	_, hasUntil := m["valid_until"]
	if hasSource || hasFrom || hasUntil {
		if s, ok := m["source"].(string); !ok || strings.TrimSpace(s) == "" {
			v.add(joinPath(path, "source"), "a dated entry needs a source (where the fact comes from)")
		}
		v.interval(m, path, "valid_from", "valid_until", true)
	}
	for k := range m {
		if prefix, ok := strings.CutSuffix(k, "_valid_from"); ok {
			v.interval(m, path, k, prefix+"_valid_until", false)
		}
	}
}

// interval checks from ≤ until, both dates (until may be null or, unless
// required, absent).
func (v *refValidator) interval(m map[string]any, path, fromKey, untilKey string, required bool) {
	from, okFrom := date(m[fromKey])
	if !okFrom {
		v.add(joinPath(path, fromKey), "must be a date (YYYY-MM-DD), got %s", show(m[fromKey]))
	}
	u, present := m[untilKey]
	if !present && required {
		v.add(joinPath(path, untilKey), "is required: a date (YYYY-MM-DD), or null while in force")
		return
	}
	if !present || u == nil {
		return
	}
	until, okUntil := date(u)
	if !okUntil {
		v.add(joinPath(path, untilKey), "must be a date (YYYY-MM-DD) or null, got %s", show(u))
		return
	}
	if okFrom && until.Before(from) {
		v.add(joinPath(path, untilKey), "%s is before %s %s", m[untilKey], fromKey, m[fromKey])
	}
}

func show(x any) string {
	if x == nil {
		return "nothing"
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// versions checks a list of dated versions against each other and its owner.
func (v *refValidator) versions(owner map[string]any, list []any, path string) {
	ownerFrom, hasOwnerFrom := date(owner["valid_from"])
	ownerUntil, hasOwnerUntil := date(owner["valid_until"])
	var prevUntil time.Time
	prevOpen := false
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		at := fmt.Sprintf("%s[%d]", path, i)
		from, okFrom := date(m["valid_from"])
		until, okUntil := date(m["valid_until"])
		open := m["valid_until"] == nil
		if !okFrom {
			continue // reported as a dated entry
		}
		if hasOwnerFrom && from.Before(ownerFrom) {
			v.add(at+".valid_from", "%s is before its list's valid_from %s", m["valid_from"], owner["valid_from"])
		}
		if hasOwnerUntil && (open || (okUntil && until.After(ownerUntil))) {
			v.add(at+".valid_until", "%s is after its list's valid_until %s", show(m["valid_until"]), owner["valid_until"])
		}
		if i > 0 {
			switch {
			case prevOpen:
				v.add(fmt.Sprintf("%s[%d].valid_until", path, i-1), "only the last version may be open (null)")
			case !prevUntil.IsZero() && !from.After(prevUntil):
				v.add(at+".valid_from", "%s overlaps or precedes the previous version (until %s)", m["valid_from"], prevUntil.Format(time.DateOnly))
			case !prevUntil.IsZero() && from.After(prevUntil.AddDate(0, 0, 1)):
				v.warn(at+".valid_from", "gap: the previous version ends %s, this one starts %s (nothing in force between)", prevUntil.Format(time.DateOnly), m["valid_from"])
			}
		}
		prevOpen = open
		prevUntil = time.Time{}
		if okUntil {
			prevUntil = until
		}
	}
}

// jsonLines maps the JSON path of every member and element of a document to
// its line.
func jsonLines(raw []byte) (map[string]int, error) {
	newlines := []int{}
	for i, c := range raw {
		if c == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineAt := func(off int64) int { return 1 + sort.SearchInts(newlines, int(off)) }
	type frame struct {
		object    bool
		path      string
		key       string
		wantValue bool
		index     int
	}
	lines := map[string]int{}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
		// The token starts after the whitespace between start and it.
		off := start
		for int(off) < len(raw) && strings.ContainsRune(" \t\r\n,:", rune(raw[off])) {
			off++
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		var path string
		switch {
		case top == nil:
		case top.object && !top.wantValue:
			top.key, top.wantValue = tok.(string), true
			lines[joinPath(top.path, top.key)] = lineAt(off)
			continue
		case top.object:
			path, top.wantValue = joinPath(top.path, top.key), false
		default:
			path = fmt.Sprintf("%s[%d]", top.path, top.index)
			top.index++
			lines[path] = lineAt(off)
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', path: path})
		}
	}
}
