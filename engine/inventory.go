package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
	// Current is where each dataset is stored today and its running flows
	// (docs/drift.md), sorted by dataset id; datasets without a stated
	// current state are not in it. The policy does not see it.
	Current []DatasetState

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
	// datasetTerms are the datasets as Rego values, converted once for
	// every policy input that names one (input.go).
	datasetTerms regoDatasets
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
	// Current is left out when empty, for the same reason.
	Current []DatasetState `json:"current,omitempty"`
}

// origin says where an entry was defined: file and JSON path within it, and
// its line and column when it was read from a file.
type origin struct {
	file      string
	path      string
	line, col int
}

func (o origin) String() string {
	if o.line > 0 {
		return fmt.Sprintf("%s:%d", o.file, o.line)
	}
	return o.file + ":" + o.path
}

type located[T any] struct {
	value T
	at    origin
	// places are the positions of the entry's fields that checks across
	// entries may name (a workload's datasets[i], an exemption's scope), so
	// that the file's parsed form need not be kept for them.
	places map[string]origin
}

// place is the position of the field path below the entry, or the entry's.
func (l *located[T]) place(path string) origin {
	if o, ok := l.places[path]; ok {
		return o
	}
	return origin{file: l.at.file, path: l.at.path + path, line: l.at.line, col: l.at.col}
}

// collection gathers entries from every file before they are checked together.
type collection struct {
	sites     []located[Site]
	datasets  []located[Dataset]
	workloads []located[Workload]
	exempts   []located[Exemption]
	current   []located[DatasetState]
	problems  []problem
	// complete is false when some file could not be decoded: checks that need
	// every entry (unknown references, no sites) would then report noise.
	complete bool
}

// problem is one line of an InventoryError, kept with its file so that the
// problems can be listed file by file.
type problem struct {
	file string // "" for a problem of the inventory as a whole
	line int
	text string
}

// problem records msg about the field at o: file:line:col: path: msg when
// its position is known, file:path: msg when it is not (an inventory built
// from values).
func (c *collection) problem(o origin, msg string) {
	switch {
	case o.line > 0:
		c.problems = append(c.problems, problem{o.file, o.line, fmt.Sprintf("%s:%d:%d: %s: %s", o.file, o.line, o.col, o.path, msg)})
	case o.path == "":
		c.problems = append(c.problems, problem{o.file, 0, o.file + ": " + msg})
	default:
		c.problems = append(c.problems, problem{o.file, 0, o.file + ":" + o.path + ": " + msg})
	}
}

// refuse lists the problems file by file, in the order files are read, and
// problems of the whole inventory last.
func (c *collection) refuse() *InventoryError {
	slices.SortStableFunc(c.problems, func(a, b problem) int {
		switch {
		case a.file == b.file:
			return a.line - b.line
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

// NewInventory builds an inventory from values, checked exactly as a loaded
// one; problems name the pseudo-file "inventory".
func NewInventory(sites []Site, datasets []Dataset, workloads []Workload, exemptions ...Exemption) (*Inventory, error) {
	const file = "inventory"
	c := &collection{complete: true}
	for i, s := range sites {
		c.sites = append(c.sites, located[Site]{value: s, at: origin{file: file, path: fmt.Sprintf("sites[%d]", i)}})
	}
	for i, d := range datasets {
		c.datasets = append(c.datasets, located[Dataset]{value: d, at: origin{file: file, path: fmt.Sprintf("datasets[%d]", i)}})
	}
	for i, w := range workloads {
		c.workloads = append(c.workloads, located[Workload]{value: w, at: origin{file: file, path: fmt.Sprintf("workloads[%d]", i)}})
	}
	for i, e := range exemptions {
		c.exempts = append(c.exempts, located[Exemption]{value: e, at: origin{file: file, path: fmt.Sprintf("exemptions[%d]", i)}})
	}
	c.checkAll()
	return c.build(file)
}

// build checks the collected entries, each on its own and against each other,
// and makes the snapshot if nothing is wrong. where names the source for
// problems that belong to no file.
func (c *collection) build(where string) (*Inventory, error) {
	siteAt, datasetAt := c.checkEntries()
	if c.complete {
		c.checkExemptionScopes(siteAt, datasetAt)
		c.checkCurrentState(siteAt, datasetAt)
		if len(c.sites) == 0 {
			c.problems = append(c.problems, problem{text: where + ": no sites defined: an inventory needs at least one site"})
		}
		c.checkWorkloadDatasets(datasetAt)
	}
	if len(c.problems) > 0 {
		return nil, c.refuse()
	}
	return newSnapshot(c)
}

// checkAll checks each entry on its own, for an inventory built from values
// (a loaded one is checked file by file, as it is read).
func (c *collection) checkAll() {
	for i := range c.sites {
		checkEntry(c, &c.sites[i], nil)
	}
	for i := range c.datasets {
		checkEntry(c, &c.datasets[i], nil)
	}
	for i := range c.workloads {
		checkEntry(c, &c.workloads[i], nil)
	}
	for i := range c.exempts {
		checkEntry(c, &c.exempts[i], nil)
	}
	for i := range c.current {
		checkEntry(c, &c.current[i], nil)
	}
}

// checkEntry validates one entry (ValidateStruct), placing each problem with
// at (nil: no positions, an inventory built from values).
func checkEntry[T any](c *collection, l *located[T], at func(path string) origin) {
	for _, fe := range ValidateStruct(&l.value, l.at.path) {
		o := origin{file: l.at.file, path: fe.Path}
		if at != nil {
			o = at(fe.Path)
		}
		c.problem(o, fe.Message)
	}
	if e, ok := any(&l.value).(*Exemption); ok {
		sc := e.Scope
		if len(sc.Sites)+len(sc.Datasets)+len(sc.Tenants) == 0 {
			c.problem(l.place(".scope"), "must name sites, datasets and/or tenants: an exemption never applies everywhere")
		}
		if e.ValidFrom != "" && e.Expires != "" && e.ValidFrom > e.Expires {
			c.problem(l.place(".valid_from"), fmt.Sprintf("%s is after expires %s", e.ValidFrom, e.Expires))
		}
	}
}

// checkEntries checks ids for uniqueness and returns where each site and
// dataset is defined.
func (c *collection) checkEntries() (siteAt, datasetAt map[string]origin) {
	siteAt = map[string]origin{}
	for i := range c.sites {
		unique(c, "site", c.sites[i].value.ID, &c.sites[i], siteAt)
	}
	datasetAt = map[string]origin{}
	for i := range c.datasets {
		unique(c, "dataset", c.datasets[i].value.ID, &c.datasets[i], datasetAt)
	}
	workloadAt := map[string]origin{}
	for i := range c.workloads {
		unique(c, "workload", c.workloads[i].value.ID, &c.workloads[i], workloadAt)
	}
	exemptionAt := map[string]origin{}
	for i := range c.exempts {
		unique(c, "exemption", c.exempts[i].value.ID, &c.exempts[i], exemptionAt)
	}
	return siteAt, datasetAt
}

// checkExemptionScopes refuses an exemption scoped to a site or dataset the
// inventory does not have.
func (c *collection) checkExemptionScopes(siteAt, datasetAt map[string]origin) {
	for j := range c.exempts {
		e := &c.exempts[j]
		for i, id := range e.value.Scope.Sites {
			if _, ok := siteAt[id]; !ok && id != "" {
				c.problem(e.place(fmt.Sprintf(".scope.sites[%d]", i)), fmt.Sprintf("unknown site %q", id))
			}
		}
		for i, id := range e.value.Scope.Datasets {
			if _, ok := datasetAt[id]; !ok && id != "" {
				c.problem(e.place(fmt.Sprintf(".scope.datasets[%d]", i)), fmt.Sprintf("unknown dataset %q", id))
			}
		}
	}
}

// checkWorkloadDatasets refuses a workload using a dataset the inventory
// does not have, or one of another tenant.
func (c *collection) checkWorkloadDatasets(datasetAt map[string]origin) {
	tenantOf := make(map[string]string, len(c.datasets))
	for _, d := range c.datasets {
		tenantOf[d.value.ID] = d.value.Tenant
	}
	for j := range c.workloads {
		w := &c.workloads[j]
		for i, id := range w.value.Datasets {
			if id == "" {
				continue // reported by validation
			}
			at := w.place(fmt.Sprintf(".datasets[%d]", i))
			if _, ok := datasetAt[id]; !ok {
				c.problem(at, fmt.Sprintf("unknown dataset %q", id))
				continue
			}
			// Tenants are the authorization boundary: a workload may not
			// reach into another tenant's data.
			if t := tenantOf[id]; w.value.Tenant != "" && t != "" && t != w.value.Tenant {
				c.problem(at, fmt.Sprintf("dataset %q belongs to tenant %q, not to the workload's tenant %q", id, t, w.value.Tenant))
			}
		}
	}
}

func unique[T any](c *collection, kind, id string, l *located[T], seen map[string]origin) {
	if id == "" {
		return // reported by validation
	}
	if first, dup := seen[id]; dup {
		c.problem(l.place(".id"), fmt.Sprintf("duplicate %s id %q, first defined at %s", kind, id, first))
		return
	}
	seen[id] = l.at
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
		Current:    sortedValues(c.current, func(s DatasetState) string { return s.Dataset }),
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
	inv.Current = own.Current

	keyed, err := json.Marshal(map[string]any{"sites": inv.Sites, "datasets": inv.Datasets, "workloads": inv.Workloads, "exemptions": inv.Exemptions})
	if err != nil {
		return nil, fmt.Errorf("inventory rego data: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(keyed))
	d.UseNumber()
	if err := d.Decode(&inv.regoData); err != nil {
		return nil, fmt.Errorf("inventory rego data: %w", err)
	}
	if inv.datasetTerms, err = datasetTerms(inv.Datasets); err != nil {
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
