// Package catalog reads the METADATA annotations of a Sovereign policy bundle,
// checks them (`sovereign check`, the built-in library's tests) and renders the
// rule catalog (docs/policies.md): every rule id with its effect, citation,
// title, source and an example.
package catalog

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Rule is one rule id of the library as its METADATA annotation describes it.
type Rule struct {
	ID       string
	Title    string
	Effect   string // deny | obligation | warn
	Citation string
	Source   string
	Example  string
	Package  string // e.g. sovereign.rules.gdpr
	File     string
	Line     int // of the METADATA annotation
}

// Position is where something is in a policy file.
type Position struct {
	File string
	Line int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Problem is one thing wrong with the catalog, at a position.
type Problem struct {
	Position
	Rule    string // the rule id concerned, if any
	Field   string // the METADATA field that is missing, if that is the problem
	Message string
}

func (p Problem) String() string { return p.Position.String() + ": " + p.Message }

// Package is a policy package with its title and description.
type Package struct {
	Path        string
	File        string
	Title       string
	Description string
	Rules       []Rule
}

// Effects a rule may have.
var Effects = map[string]bool{"deny": true, "obligation": true, "warn": true}

// Load parses every non-test .rego module of the bundle and returns its packages
// (those with a package-level title, or with rules) and the string literals that
// look like rule ids (dotted lower-case names), with where they are used.
func Load(bundle fs.FS) ([]Package, map[string][]Position, error) {
	pkgs := map[string]*Package{}
	literals := map[string][]Position{}
	err := fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		src, err := fs.ReadFile(bundle, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(m.Package.Path.String(), "data.")
		pkg := pkgs[name]
		if pkg == nil {
			pkg = &Package{Path: name, File: p}
			pkgs[name] = pkg
		}
		for _, a := range m.Annotations {
			if a.Scope == "package" || a.Scope == "subpackages" {
				pkg.Title, pkg.Description = a.Title, strings.TrimSpace(a.Description)
				continue
			}
			rules, err := rulesOf(a.Custom, a.Title)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", p, a.Location.Row, err)
			}
			for _, r := range rules {
				r.Package, r.File, r.Line = name, p, a.Location.Row
				pkg.Rules = append(pkg.Rules, r)
			}
		}
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if s, ok := t.Value.(ast.String); ok && dottedName.MatchString(string(s)) {
				literals[string(s)] = append(literals[string(s)], Position{p, t.Location.Row})
			}
			return false
		})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []Package
	for _, p := range pkgs {
		if p.Title == "" && len(p.Rules) == 0 {
			continue
		}
		sort.Slice(p.Rules, func(i, j int) bool { return p.Rules[i].ID < p.Rules[j].ID })
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, literals, nil
}

// dottedName is the shape of a rule id: dotted lower-case segments. A literal of
// this shape is taken for a rule id when its first segment names a regime: one
// of Regimes, or the first segment of a documented id.
var dottedName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// Regimes are the first segments of the built-in library's rule ids.
var Regimes = []string{"gdpr", "eu", "ukgdpr", "chfadp", "ru", "cn", "in", "id", "vn", "sa", "tr", "de", "fr", "itar", "dataset", "sovereign", "jurisdiction", "inventory", "exemption", "library"}

// rulesOf reads custom.id (one rule) or custom.rules (a list of rules).
func rulesOf(custom map[string]any, title string) ([]Rule, error) {
	if custom == nil {
		return nil, nil
	}
	if _, ok := custom["id"]; ok {
		r := ruleFrom(custom)
		if r.Title == "" {
			r.Title = title
		}
		return []Rule{r}, nil
	}
	list, ok := custom["rules"].([]any)
	if !ok {
		return nil, nil
	}
	var out []Rule
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("custom.rules: an element is not an object (a bare id list is not enough: give id, title, effect, citation, source, example)")
		}
		out = append(out, ruleFrom(m))
	}
	return out, nil
}

func ruleFrom(m map[string]any) Rule {
	s := func(k string) string { v, _ := m[k].(string); return strings.TrimSpace(v) }
	return Rule{ID: s("id"), Title: s("title"), Effect: s("effect"), Citation: s("citation"), Source: s("source"), Example: s("example")}
}

// Check lists every problem of the catalog: a rule without a field, an unknown
// effect, a source that is not an https URL, an id documented twice, and a rule
// id used in the policy that no annotation documents. Required lists the fields
// every rule must have (nil: all of id, title, effect, citation, source and
// example); the others are not checked.
func Check(pkgs []Package, literals map[string][]Position, required ...string) []Problem {
	if required == nil {
		required = []string{"id", "title", "effect", "citation", "source", "example"}
	}
	var problems []Problem
	seen := map[string]Position{}
	regimes := map[string]bool{}
	for _, r := range Regimes {
		regimes[r] = true
	}
	for _, p := range pkgs {
		for _, r := range p.Rules {
			at := Position{r.File, r.Line}
			add := func(format string, args ...any) {
				problems = append(problems, Problem{Position: at, Rule: r.ID, Message: fmt.Sprintf("rule %q ", r.ID) + fmt.Sprintf(format, args...)})
			}
			fields := map[string]string{"id": r.ID, "title": r.Title, "effect": r.Effect, "citation": r.Citation, "source": r.Source, "example": r.Example}
			for _, field := range required {
				if fields[field] == "" {
					add("has no %s", field)
					problems[len(problems)-1].Field = field
				}
			}
			if r.Effect != "" && !Effects[r.Effect] {
				add("has effect %q, want deny, obligation or warn", r.Effect)
			}
			if r.Source != "" && !strings.HasPrefix(r.Source, "https://") && !strings.HasPrefix(r.Source, "http://") {
				add("has source %q, want a URL", r.Source)
			}
			if prev, dup := seen[r.ID]; dup && r.ID != "" {
				add("is also documented at %s", prev)
			} else if r.ID != "" {
				seen[r.ID] = at
			}
			if first, _, ok := strings.Cut(r.ID, "."); ok {
				regimes[first] = true
			}
		}
	}
	ids := make([]string, 0, len(literals))
	for id := range literals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		first, _, _ := strings.Cut(id, ".")
		if _, ok := seen[id]; ok || !regimes[first] {
			continue
		}
		uses := make([]string, len(literals[id]))
		for i, u := range literals[id] {
			uses[i] = u.String()
		}
		problems = append(problems, Problem{Position: literals[id][0], Rule: id, Message: fmt.Sprintf("rule id %q used at %s has no METADATA annotation", id, strings.Join(uses, ", "))})
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
	return problems
}

// Markdown renders the catalog.
func Markdown(pkgs []Package) []byte {
	var b bytes.Buffer
	n := 0
	for _, p := range pkgs {
		n += len(p.Rules)
	}
	fmt.Fprintf(&b, "# Policy catalog\n\n")
	fmt.Fprintf(&b, "<!-- Generated by `make docs` (go run ./policies/catalog/gen) from the METADATA annotations of policies/sovereign. Do not edit: a test fails when this file is stale. -->\n\n")
	fmt.Fprintf(&b, "%d rules. Effects: **deny** refuses a site or a transfer (a violation); **obligation** is owed for an allowed outcome to be lawful; **warn** flags a risk (the decision's `warnings`). Any rule except `inventory.*`, `jurisdiction.unknown` and `library.before_modelled_period` can be waived by an exemption (see docs/policy-contract.md).\n\n", n)
	fmt.Fprintf(&b, "| id | effect | citation | title |\n|---|---|---|---|\n")
	for _, p := range pkgs {
		for _, r := range p.Rules {
			fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", r.ID, anchor(r.ID), r.Effect, cell(r.Citation), cell(r.Title))
		}
	}
	for _, p := range pkgs {
		if len(p.Rules) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n`%s` (%s)\n\n", p.Title, p.Path, p.File)
		if p.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", strings.Join(strings.Fields(p.Description), " "))
		}
		for _, r := range p.Rules {
			fmt.Fprintf(&b, "### `%s`\n\n%s\n\n- effect: **%s**\n- citation: %s\n- source: <%s>\n- example: %s\n\n", r.ID, r.Title, r.Effect, r.Citation, r.Source, r.Example)
		}
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func anchor(id string) string {
	return strings.NewReplacer(".", "", "_", "_").Replace(id)
}
