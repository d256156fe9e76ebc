package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Inventory is a validated, immutable snapshot of the sites, datasets and
// workloads the engine decides about (DESIGN §3). Build one with LoadInventory
// or NewInventory; never modify its maps, slices or the values in them: a
// snapshot is shared by every request evaluated against it.
type Inventory struct {
	Sites     map[string]Site
	Datasets  map[string]Dataset
	Workloads map[string]Workload
	// Exemptions waive named rules (docs/policy-contract.md), keyed by id.
	Exemptions map[string]Exemption

	// SiteIDs, DatasetIDs and WorkloadIDs list the ids in sorted order.
	SiteIDs     []string
	DatasetIDs  []string
	WorkloadIDs []string

	// Revision identifies the content: "sha256:" and the hex SHA-256 of the
	// canonical form, the JSON of {"sites":[...],"datasets":[...],"workloads":[...]}
	// with each list sorted by id. It does not depend on how the entries are
	// spread over files, nor on their order.
	Revision string

	regoData map[string]any
}

// Site returns the site with the given id.
func (inv *Inventory) Site(id string) (Site, bool) {
	s, ok := inv.Sites[id]
	return s, ok
}

// Dataset returns the dataset with the given id.
func (inv *Inventory) Dataset(id string) (Dataset, bool) {
	d, ok := inv.Datasets[id]
	return d, ok
}

// Workload returns the workload with the given id.
func (inv *Inventory) Workload(id string) (Workload, bool) {
	w, ok := inv.Workloads[id]
	return w, ok
}

func (inv *Inventory) hasSite(id string) bool {
	_, ok := inv.Sites[id]
	return ok
}

// RegoData is the inventory as the policy sees it under data.inventory
// (docs/policy-contract.md): sites, datasets and workloads as objects keyed by
// id, with snake_case field names and numbers as json.Number. It is computed
// once, when the inventory is built; callers must not modify it.
func (inv *Inventory) RegoData() map[string]any { return inv.regoData }

// InventoryError is an inventory refused as a whole. Each problem reads
// `file:field.path: message`, for example
// `sites.yaml:sites[2].country: must be an ISO 3166-1 alpha-2 country code in upper case, got "de"`;
// a file that cannot be parsed at all reads `file:line:column: message`.
type InventoryError struct {
	Problems []string
}

// Error lists every problem, one per line.
func (e *InventoryError) Error() string {
	return strings.Join(e.Problems, "\n")
}

// inventoryDocument is the shape of an inventory file, and of the canonical
// form the revision is computed over.
type inventoryDocument struct {
	Sites     []Site     `json:"sites"`
	Datasets  []Dataset  `json:"datasets"`
	Workloads []Workload `json:"workloads"`
	// Exemptions are left out of the canonical form when there are none, so
	// an inventory without any keeps the revision it had before they existed.
	Exemptions []Exemption `json:"exemptions,omitempty"`
}

// origin says where an entry was defined: file and JSON path within it.
type origin struct {
	file string
	path string
}

func (o origin) String() string { return o.file + ":" + o.path }

type located[T any] struct {
	value T
	at    origin
	// reported holds paths already reported while decoding, whose decoded
	// value is not what was written: validation says nothing more about them.
	reported map[string]bool
}

// collection gathers entries from every file before they are checked together.
type collection struct {
	sites     []located[Site]
	datasets  []located[Dataset]
	workloads []located[Workload]
	exempts   []located[Exemption]
	problems  []problem
	// complete is false when some file could not be decoded: checks that need
	// every entry (unknown references, no sites) would then report noise.
	complete bool
}

// problem is one line of an InventoryError, kept with its file so that the
// problems can be listed file by file.
type problem struct {
	file string // "" for a problem of the inventory as a whole
	text string
}

func (c *collection) problem(file, path, msg string) {
	if path == "" {
		c.problems = append(c.problems, problem{file, file + ": " + msg})
		return
	}
	c.problems = append(c.problems, problem{file, origin{file, path}.String() + ": " + msg})
}

// refuse lists the problems file by file, in the order files are read, and
// problems of the whole inventory last.
func (c *collection) refuse() *InventoryError {
	slices.SortStableFunc(c.problems, func(a, b problem) int {
		switch {
		case a.file == b.file:
			return 0
		case a.file == "":
			return 1
		case b.file == "":
			return -1
		default:
			return strings.Compare(a.file, b.file)
		}
	})
	e := &InventoryError{Problems: make([]string, len(c.problems))}
	for i, p := range c.problems {
		e.Problems[i] = p.text
	}
	return e
}

// inventoryExtensions are the files LoadInventory reads.
var inventoryExtensions = []string{".yaml", ".yml", ".json"}

// LoadInventory reads every *.yaml, *.yml and *.json file directly in dir, in
// name order; each holds any of `sites:`, `datasets:` and `workloads:` lists.
// Decoding is strict (unknown fields and duplicate keys are errors; YAML 1.2,
// so `NO` is Norway, not false). Hidden files are skipped, as are
// subdirectories. Any problem refuses the whole inventory with an
// *InventoryError listing every problem found.
func LoadInventory(dir string) (*Inventory, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load inventory %s: %w", dir, err)
	}
	c := &collection{complete: true}
	var files int
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") || !slices.Contains(inventoryExtensions, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path) // follows symlinks, as in a mounted ConfigMap
		if err != nil {
			c.problem(name, "", fmt.Sprintf("cannot read: %v", err))
			c.complete = false
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			c.problem(name, "", fmt.Sprintf("cannot read: %v", err))
			c.complete = false
			continue
		}
		c.decodeFile(name, data)
	}
	if files == 0 {
		return nil, &InventoryError{Problems: []string{dir + ": no inventory files (*.yaml, *.yml, *.json)"}}
	}
	return c.build(dir)
}

// NewInventory builds an inventory from values, checked exactly as a loaded
// one; problems name the pseudo-file "inventory".
func NewInventory(sites []Site, datasets []Dataset, workloads []Workload, exemptions ...Exemption) (*Inventory, error) {
	const file = "inventory"
	c := &collection{complete: true}
	for i, s := range sites {
		c.sites = append(c.sites, located[Site]{value: s, at: origin{file, fmt.Sprintf("sites[%d]", i)}})
	}
	for i, d := range datasets {
		c.datasets = append(c.datasets, located[Dataset]{value: d, at: origin{file, fmt.Sprintf("datasets[%d]", i)}})
	}
	for i, w := range workloads {
		c.workloads = append(c.workloads, located[Workload]{value: w, at: origin{file, fmt.Sprintf("workloads[%d]", i)}})
	}
	for i, e := range exemptions {
		c.exempts = append(c.exempts, located[Exemption]{value: e, at: origin{file, fmt.Sprintf("exemptions[%d]", i)}})
	}
	return c.build(file)
}

// decodeFile decodes one file. Each list entry is decoded on its own so that
// one bad entry does not hide the problems of the next.
func (c *collection) decodeFile(name string, data []byte) {
	format := "YAML"
	if strings.EqualFold(filepath.Ext(name), ".json") {
		format = "JSON" // JSON is YAML 1.2; one parser reads both, with positions
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		c.problems = append(c.problems, problem{name, positioned(name, err, "malformed "+format)})
		c.complete = false
		return
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil && d.Body.Type() != ast.CommentType && d.Body.Type() != ast.CommentGroupType {
			docs = append(docs, d)
		}
	}
	switch {
	case len(docs) == 0:
		c.problem(name, "", "is empty: expected sites, datasets and/or workloads lists")
		return
	case len(docs) > 1:
		c.problem(name, "", fmt.Sprintf("holds %d YAML documents: put one in each file", len(docs)))
		c.complete = false
		return
	}
	top, ok := docs[0].Body.(*ast.MappingNode)
	if !ok {
		c.problem(name, "", fmt.Sprintf("must be a mapping with sites, datasets and/or workloads lists, got %s (line %d)",
			nodeKind(docs[0].Body), line(docs[0].Body.GetToken())))
		c.complete = false
		return
	}
	// One decoder per file, so that an alias can refer to an anchor defined in
	// an earlier entry of the same file.
	dec := yaml.NewDecoder(bytes.NewReader(nil), yaml.DisallowUnknownField())
	for _, kv := range top.Values {
		key := keyName(kv)
		switch key {
		case "sites":
			decodeList(c, dec, name, key, kv.Value, &c.sites)
		case "datasets":
			decodeList(c, dec, name, key, kv.Value, &c.datasets)
		case "workloads":
			decodeList(c, dec, name, key, kv.Value, &c.workloads)
		case "exemptions":
			decodeList(c, dec, name, key, kv.Value, &c.exempts)
		default:
			c.problem(name, key, fmt.Sprintf("unknown field %q: expected sites, datasets, workloads or exemptions (line %d)", key, line(kv.Key.GetToken())))
			c.complete = false
		}
	}
}

func decodeList[T any](c *collection, dec *yaml.Decoder, file, key string, node ast.Node, into *[]located[T]) {
	switch n := node.(type) {
	case *ast.NullNode:
		return // `sites:` with nothing under it: an empty list
	case *ast.SequenceNode:
		for i, item := range n.Values {
			at := origin{file, fmt.Sprintf("%s[%d]", key, i)}
			var v T
			if err := dec.DecodeFromNode(item, &v); err != nil {
				c.problem(file, decodeErrorPath(item, err, at.path), decodeErrorMessage(err))
				c.complete = false
				continue
			}
			l := located[T]{value: v, at: at}
			for _, p := range untypedScalars(item, reflect.TypeFor[T](), at.path) {
				c.problem(file, p.Path, p.Message)
				if l.reported == nil {
					l.reported = map[string]bool{}
				}
				l.reported[p.Path] = true
			}
			*into = append(*into, l)
		}
	default:
		c.problem(file, key, fmt.Sprintf("must be a list, got %s (line %d)", nodeKind(node), line(node.GetToken())))
		c.complete = false
	}
}

// build checks the collected entries, each on its own and against each other,
// and makes the snapshot if nothing is wrong. where names the source for
// problems that belong to no file.
func (c *collection) build(where string) (*Inventory, error) {
	siteAt := map[string]origin{}
	for _, s := range c.sites {
		c.check(s.at, &s.value, s.reported)
		c.unique("site", s.value.ID, s.at, siteAt)
	}
	datasetAt := map[string]origin{}
	for _, d := range c.datasets {
		c.check(d.at, &d.value, d.reported)
		c.unique("dataset", d.value.ID, d.at, datasetAt)
	}
	workloadAt := map[string]origin{}
	for _, w := range c.workloads {
		c.check(w.at, &w.value, w.reported)
		c.unique("workload", w.value.ID, w.at, workloadAt)
	}
	exemptionAt := map[string]origin{}
	for _, e := range c.exempts {
		c.check(e.at, &e.value, e.reported)
		c.unique("exemption", e.value.ID, e.at, exemptionAt)
		sc := e.value.Scope
		if len(sc.Sites)+len(sc.Datasets)+len(sc.Tenants) == 0 {
			c.problem(e.at.file, e.at.path+".scope", "must name sites, datasets and/or tenants: an exemption never applies everywhere")
		}
		if e.value.ValidFrom != "" && e.value.Expires != "" && e.value.ValidFrom > e.value.Expires {
			c.problem(e.at.file, e.at.path+".valid_from", fmt.Sprintf("%s is after expires %s", e.value.ValidFrom, e.value.Expires))
		}
	}
	if c.complete {
		for _, e := range c.exempts {
			for i, id := range e.value.Scope.Sites {
				if _, ok := siteAt[id]; !ok && id != "" {
					c.problem(e.at.file, fmt.Sprintf("%s.scope.sites[%d]", e.at.path, i), fmt.Sprintf("unknown site %q", id))
				}
			}
			for i, id := range e.value.Scope.Datasets {
				if _, ok := datasetAt[id]; !ok && id != "" {
					c.problem(e.at.file, fmt.Sprintf("%s.scope.datasets[%d]", e.at.path, i), fmt.Sprintf("unknown dataset %q", id))
				}
			}
		}
		if len(c.sites) == 0 {
			c.problems = append(c.problems, problem{"", where + ": no sites defined: an inventory needs at least one site"})
		}
		tenantOf := make(map[string]string, len(c.datasets))
		for _, d := range c.datasets {
			tenantOf[d.value.ID] = d.value.Tenant
		}
		for _, w := range c.workloads {
			for i, id := range w.value.Datasets {
				if id == "" {
					continue // reported by validation
				}
				if _, ok := datasetAt[id]; !ok {
					c.problem(w.at.file, fmt.Sprintf("%s.datasets[%d]", w.at.path, i), fmt.Sprintf("unknown dataset %q", id))
					continue
				}
				// Tenants are the authorization boundary: a workload may not
				// reach into another tenant's data.
				if t := tenantOf[id]; w.value.Tenant != "" && t != "" && t != w.value.Tenant {
					c.problem(w.at.file, fmt.Sprintf("%s.datasets[%d]", w.at.path, i),
						fmt.Sprintf("dataset %q belongs to tenant %q, not to the workload's tenant %q", id, t, w.value.Tenant))
				}
			}
		}
	}
	if len(c.problems) > 0 {
		return nil, c.refuse()
	}
	return newSnapshot(c)
}

func (c *collection) check(at origin, v any, reported map[string]bool) {
	for _, fe := range ValidateStruct(v, at.path) {
		if !reported[fe.Path] {
			c.problem(at.file, fe.Path, fe.Message)
		}
	}
}

func (c *collection) unique(kind, id string, at origin, seen map[string]origin) {
	if id == "" {
		return // reported by validation
	}
	if first, dup := seen[id]; dup {
		c.problem(at.file, at.path+".id", fmt.Sprintf("duplicate %s id %q, first defined at %s", kind, id, first))
		return
	}
	seen[id] = at
}

// newSnapshot makes the immutable inventory from checked entries. Its values
// are decoded back from the canonical form, so they share no memory with the
// caller's.
func newSnapshot(c *collection) (*Inventory, error) {
	doc := inventoryDocument{
		Sites:      sortedValues(c.sites, func(s Site) string { return s.ID }),
		Datasets:   sortedValues(c.datasets, func(d Dataset) string { return d.ID }),
		Workloads:  sortedValues(c.workloads, func(w Workload) string { return w.ID }),
		Exemptions: sortedValues(c.exempts, func(e Exemption) string { return e.ID }),
	}
	canonical, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("inventory canonical form: %w", err)
	}
	sum := sha256.Sum256(canonical)
	var own inventoryDocument
	if err := json.Unmarshal(canonical, &own); err != nil {
		return nil, fmt.Errorf("inventory canonical form: %w", err)
	}

	inv := &Inventory{
		Sites:     make(map[string]Site, len(own.Sites)),
		Datasets:  make(map[string]Dataset, len(own.Datasets)),
		Workloads: make(map[string]Workload, len(own.Workloads)),
		Revision:  "sha256:" + hex.EncodeToString(sum[:]),
	}
	for _, s := range own.Sites {
		inv.Sites[s.ID] = s
		inv.SiteIDs = append(inv.SiteIDs, s.ID)
	}
	for _, d := range own.Datasets {
		inv.Datasets[d.ID] = d
		inv.DatasetIDs = append(inv.DatasetIDs, d.ID)
	}
	for _, w := range own.Workloads {
		inv.Workloads[w.ID] = w
		inv.WorkloadIDs = append(inv.WorkloadIDs, w.ID)
	}
	inv.Exemptions = make(map[string]Exemption, len(own.Exemptions))
	for _, e := range own.Exemptions {
		inv.Exemptions[e.ID] = e
	}

	keyed, err := json.Marshal(map[string]any{"sites": inv.Sites, "datasets": inv.Datasets, "workloads": inv.Workloads, "exemptions": inv.Exemptions})
	if err != nil {
		return nil, fmt.Errorf("inventory rego data: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(keyed))
	d.UseNumber()
	if err := d.Decode(&inv.regoData); err != nil {
		return nil, fmt.Errorf("inventory rego data: %w", err)
	}
	return inv, nil
}

// sortedValues returns the values sorted by id, never nil, so that an empty
// list is [] in the canonical form whichever way it was built.
func sortedValues[T any](in []located[T], id func(T) string) []T {
	out := make([]T, 0, len(in))
	for _, l := range in {
		out = append(out, l.value)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return out
}

// untypedScalars finds numbers and booleans written where a string is
// expected. The decoder would turn them into strings, but not the ones that
// were written: 0123 becomes "83" and 1.10 becomes "1.1". Quoting is required
// instead, as JSON requires it.
func untypedScalars(n ast.Node, t reflect.Type, path string) []FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		return untypedScalars(v.Value, t, path)
	case *ast.TagNode:
		return untypedScalars(v.Value, t, path)
	case *ast.MappingValueNode:
		return untypedScalars(&ast.MappingNode{Values: []*ast.MappingValueNode{v}}, t, path)
	case *ast.MappingNode:
		var out []FieldError
		for _, kv := range v.Values {
			if kv.Key.Type() == ast.MergeKeyType {
				continue
			}
			key := keyName(kv)
			switch t.Kind() {
			case reflect.Struct:
				if f, ok := fieldByJSONName(t, key); ok {
					out = append(out, untypedScalars(kv.Value, f.Type, joinPath(path, key))...)
				}
			case reflect.Map:
				out = append(out, untypedScalars(kv.Value, t.Elem(), path+"["+key+"]")...)
			}
		}
		return out
	case *ast.SequenceNode:
		if t.Kind() != reflect.Slice {
			return nil
		}
		var out []FieldError
		for i, e := range v.Values {
			out = append(out, untypedScalars(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if t.Kind() != reflect.String {
			return nil
		}
		tk := n.GetToken()
		return []FieldError{{Path: path, Message: fmt.Sprintf("must be a string, got %s %s: quote it if %q is meant (line %d)",
			nodeKind(n), tk.Value, tk.Value, line(tk))}}
	default:
		return nil
	}
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && jsonFieldName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keyName is a mapping key as written, without quotes.
func keyName(kv *ast.MappingValueNode) string {
	if tk := kv.Key.GetToken(); tk != nil {
		return tk.Value
	}
	return kv.Key.String()
}

func line(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

// positioned formats an error that has a place in the file but no field path.
func positioned(file string, err error, what string) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Sprintf("%s:%d:%d: %s: %s", file, tk.Position.Line, tk.Position.Column, what, ye.GetMessage())
		}
		return fmt.Sprintf("%s: %s: %s", file, what, ye.GetMessage())
	}
	return fmt.Sprintf("%s: %s: %v", file, what, err)
}

// decodeErrorPath finds the JSON path of the node a decoding error points at,
// falling back to the entry's own path.
func decodeErrorPath(item ast.Node, err error, fallback string) string {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return fallback
	}
	f := &nodeFinder{tk: ye.GetToken()}
	ast.Walk(f, item)
	if f.found == nil {
		return fallback
	}
	path := f.found.GetPath()
	if strings.HasPrefix(path, "$.") {
		return strings.TrimPrefix(path, "$.")
	}
	return fallback
}

// nodeFinder finds the node that holds a token, deepest first.
type nodeFinder struct {
	tk    *token.Token
	found ast.Node
}

func (f *nodeFinder) Visit(n ast.Node) ast.Visitor {
	if n == nil || f.found != nil {
		return nil
	}
	if kv, ok := n.(*ast.MappingValueNode); ok && kv.Key != nil && kv.Key.GetToken() == f.tk {
		// An unknown key: the path of the value under it names the field.
		f.found = kv.Value
		return nil
	}
	if n.GetToken() == f.tk {
		f.found = n
		return nil
	}
	return f
}

// decodeErrorMessage words a decoding error without Go type names, with the
// line it was found on.
func decodeErrorMessage(err error) string {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return err.Error()
	}
	tk := ye.GetToken()
	msg := ye.GetMessage()
	var te *yaml.TypeError
	if errors.As(err, &te) && te.DstType != nil && tk != nil {
		msg = fmt.Sprintf("must be %s, got %s", typeName(te.DstType), quoteToken(tk))
	}
	var ne *yaml.UnexpectedNodeTypeError
	if errors.As(err, &ne) {
		msg = fmt.Sprintf("must be %s, got %s", nodeTypeName(ne.Expected), nodeTypeName(ne.Actual))
	}
	if l := line(tk); l > 0 {
		msg += fmt.Sprintf(" (line %d)", l)
	}
	return msg
}

func quoteToken(tk *token.Token) string {
	if tk.Type == token.StringType || tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
		return fmt.Sprintf("%q", tk.Value)
	}
	return tk.Value
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "a mapping"
	}
}

func nodeTypeName(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.NullType:
		return "null"
	case ast.StringType, ast.LiteralType:
		return "a string"
	case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.BoolType:
		return "a boolean"
	default:
		return t.YAMLName()
	}
}

func nodeKind(n ast.Node) string { return nodeTypeName(n.Type()) }
