package engine

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DateOnly reports whether a policy's decisions can depend on the decision
// time only through its date (YYYY-MM-DD, UTC), so that one request decided
// at two times of the same day gets the same decision. It proves this
// conservatively from the policy's source and says why not otherwise. The
// proof admits exactly these uses of time, in non-test modules:
//
//   - substring(input.time, 0, 10): the date (the engine writes input.time
//     as RFC 3339 in UTC);
//   - endswith(input.time, "Z"): true for every time the engine writes;
//   - a rule R := time.parse_rfc3339_ns(input.time), where R is then used
//     only as a bare condition (defined for every time the engine writes) or
//     as time.format([R, "UTC", "2006-01-02"]) / time.date(R).
//
// Any other reference to input.time, to the whole input (input, input[x];
// object.get(input, K, D) with a constant K other than "time" is admitted),
// or a call of a built-in that reads the clock (time.now_ns, ...) makes the
// answer false. The built-in library
// reads time this way (lib.today), which lets replay decide identical
// requests of one day once.
func DateOnly(modules map[string]*ast.Module) (bool, string) {
	paths := policyPaths(modules)
	// Pass 1: the rules holding the parsed instant.
	instants := map[string]bool{}
	for _, p := range paths {
		m := modules[p]
		for _, r := range m.Rules {
			if r.Head == nil || r.Head.Value == nil || len(r.Head.Args) > 0 || r.Else != nil {
				continue
			}
			if call, ok := r.Head.Value.Value.(ast.Call); ok && isCall(call, "time.parse_rfc3339_ns", 1) && isInputTime(call[1]) {
				instants[m.Package.Path.String()+"."+r.Head.Name.String()] = true
			}
		}
	}
	// Pass 2: every use of time.
	for _, p := range paths {
		m := modules[p]
		c := &timeChecker{module: m, instants: instants, aliases: importAliases(m)}
		for _, r := range m.Rules {
			c.rule(r)
			if c.reason != "" {
				return false, fmt.Sprintf("%s: %s", p, c.reason)
			}
		}
	}
	return true, ""
}

func isCall(call ast.Call, name string, args int) bool {
	return len(call) == args+1 && call[0].String() == name
}

func isInputTime(t *ast.Term) bool {
	ref, ok := t.Value.(ast.Ref)
	return ok && len(ref) == 2 && ref[0].Equal(ast.InputRootDocument) && ref[1].Equal(ast.StringTerm("time"))
}

// clockReaders are the built-ins that read the evaluation time themselves.
var clockReaders = map[string]bool{
	"time.now_ns":          true,
	"io.jwt.decode_verify": true, // checks exp and nbf against the clock unless told a time
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

// isInput: the whole input document, as a variable or a one-element ref.
func isInput(t *ast.Term) bool {
	if ref, ok := t.Value.(ast.Ref); ok {
		return len(ref) == 1 && ref[0].Equal(ast.InputRootDocument)
	}
	return t.Equal(ast.InputRootDocument)
}

func importAliases(m *ast.Module) map[string]string {
	out := map[string]string{}
	for _, imp := range m.Imports {
		ref, ok := imp.Path.Value.(ast.Ref)
		if !ok {
			continue
		}
		alias := imp.Alias.String()
		if imp.Alias == "" {
			last := ref[len(ref)-1]
			if s, ok := last.Value.(ast.String); ok {
				alias = string(s)
			} else {
				alias = last.String()
			}
		}
		out[alias] = ref.String()
	}
	return out
}

// timeChecker walks one module's rules; reason is set at the first use of
// time it cannot admit.
type timeChecker struct {
	module   *ast.Module
	instants map[string]bool
	aliases  map[string]string
	reason   string
}

func (c *timeChecker) fail(t *ast.Term, format string, args ...any) {
	if c.reason != "" {
		return
	}
	c.reason = fmt.Sprintf(format, args...)
	if t != nil && t.Location != nil {
		c.reason = fmt.Sprintf("line %d: %s", t.Location.Row, c.reason)
	}
}

func (c *timeChecker) rule(r *ast.Rule) {
	for ; r != nil; r = r.Else {
		if r.Head != nil {
			for _, a := range r.Head.Args {
				c.term(a)
			}
			if r.Head.Key != nil {
				c.term(r.Head.Key)
			}
			if r.Head.Value != nil {
				c.headValue(r.Head.Value)
			}
			for _, t := range r.Head.Reference[1:] {
				c.term(t)
			}
		}
		c.body(r.Body)
	}
}

// headValue admits R := time.parse_rfc3339_ns(input.time) (pass 1 found it).
func (c *timeChecker) headValue(t *ast.Term) {
	if call, ok := t.Value.(ast.Call); ok && isCall(call, "time.parse_rfc3339_ns", 1) && isInputTime(call[1]) {
		return
	}
	c.term(t)
}

func (c *timeChecker) body(b ast.Body) {
	for _, e := range b {
		c.expr(e)
	}
}

func (c *timeChecker) expr(e *ast.Expr) {
	for _, w := range e.With {
		if ref, ok := w.Target.Value.(ast.Ref); ok && ref[0].Equal(ast.InputRootDocument) {
			c.fail(w.Target, "`with` replaces input")
		}
		c.term(w.Value)
	}
	switch ts := e.Terms.(type) {
	case *ast.Term:
		if c.isInstant(ts) {
			return // a bare condition: defined for every time the engine writes
		}
		c.term(ts)
	case []*ast.Term:
		c.call(ast.Call(ts))
	case *ast.SomeDecl:
		for _, t := range ts.Symbols {
			c.term(t)
		}
	case *ast.Every:
		c.term(ts.Key)
		c.term(ts.Value)
		c.term(ts.Domain)
		c.body(ts.Body)
	}
}

// call checks a call with its operands in their admitted positions.
func (c *timeChecker) call(call ast.Call) {
	name := call[0].String()
	args := call[1:]
	if clockReaders[name] {
		c.fail(call[0], "%s reads the clock", name)
		return
	}
	switch {
	case name == "substring" && len(args) >= 3 && isInputTime(args[0]) && args[1].Equal(ast.IntNumberTerm(0)) && args[2].Equal(ast.IntNumberTerm(10)):
		c.terms(args[3:]) // the date
		return
	case name == "endswith" && len(args) >= 2 && isInputTime(args[0]) && args[1].Equal(ast.StringTerm("Z")):
		c.terms(args[2:])
		return
	case name == "time.format" && len(args) >= 1:
		if arr, ok := args[0].Value.(*ast.Array); ok && arr.Len() == 3 && c.isInstant(arr.Elem(0)) &&
			arr.Elem(1).Equal(ast.StringTerm("UTC")) && arr.Elem(2).Equal(ast.StringTerm("2006-01-02")) {
			c.terms(args[1:])
			return
		}
	case name == "time.date" && len(args) >= 1 && c.isInstant(args[0]):
		c.terms(args[1:])
		return
	case name == "object.get" && len(args) >= 2 && isInput(args[0]) && constantKeyNotTime(args[1]):
		c.terms(args[2:]) // one named member of input, not the time
		return
	}
	c.term(call[0])
	c.terms(args)
}

// constantKeyNotTime: an object.get key (a string, or a path whose first
// element is a string) that is constant and does not lead to input.time.
func constantKeyNotTime(k *ast.Term) bool {
	first := k
	if arr, ok := k.Value.(*ast.Array); ok {
		if arr.Len() == 0 {
			return false
		}
		first = arr.Elem(0)
	}
	s, ok := first.Value.(ast.String)
	return ok && s != "time" && ast.IsConstant(k.Value)
}

func (c *timeChecker) terms(ts []*ast.Term) {
	for _, t := range ts {
		c.term(t)
	}
}

// isInstant reports whether t refers to a rule holding the parsed instant.
func (c *timeChecker) isInstant(t *ast.Term) bool {
	ref, ok := t.Value.(ast.Ref)
	if !ok {
		return false
	}
	return c.instants[c.resolve(ref)]
}

// resolve turns a rule reference into the rule's full path (data.a.b.r),
// through imports and the module's own package; "" when it is not one.
func (c *timeChecker) resolve(ref ast.Ref) string {
	head, ok := ref[0].Value.(ast.Var)
	if !ok {
		return ""
	}
	var base string
	rest := ref[1:]
	switch {
	case head.Equal(ast.DefaultRootDocument.Value):
		base = "data"
	case c.aliases[string(head)] != "":
		base = c.aliases[string(head)]
	default:
		base = c.module.Package.Path.String() + "." + string(head)
	}
	for _, t := range rest {
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		base += "." + string(s)
	}
	return base
}

// term checks a term in no admitted position: input.time, the whole input
// and the instant rules may not appear in it.
func (c *timeChecker) term(t *ast.Term) {
	if t == nil || c.reason != "" {
		return
	}
	switch v := t.Value.(type) {
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			c.fail(t, "the whole input is read")
		}
	case ast.Ref:
		if v[0].Equal(ast.InputRootDocument) {
			switch {
			case len(v) == 1:
				c.fail(t, "the whole input is read")
			case !ast.IsConstant(v[1].Value):
				c.fail(t, "input is read under a computed key (%s)", v)
			case v[1].Equal(ast.StringTerm("time")):
				c.fail(t, "input.time is used other than as its date (%s)", t)
			}
		} else if c.isInstant(t) {
			c.fail(t, "the decision instant %s is used other than as its date", v)
		} else if _, ok := v[0].Value.(ast.Var); !ok {
			c.term(v[0]) // a call or a composite at the head: time.clock(x)[0]
		}
		for _, x := range v[1:] {
			c.term(x)
		}
	case ast.Call:
		c.call(v)
	case *ast.Array:
		v.Foreach(c.term)
	case ast.Set:
		v.Foreach(c.term)
	case ast.Object:
		v.Foreach(func(k, x *ast.Term) { c.term(k); c.term(x) })
	case *ast.ArrayComprehension:
		c.term(v.Term)
		c.body(v.Body)
	case *ast.SetComprehension:
		c.term(v.Term)
		c.body(v.Body)
	case *ast.ObjectComprehension:
		c.term(v.Key)
		c.term(v.Value)
		c.body(v.Body)
	case *ast.TemplateString:
		for _, p := range v.Parts {
			switch x := p.(type) {
			case *ast.Expr:
				c.expr(x)
			case *ast.Term:
				c.term(x)
			}
		}
	}
}
