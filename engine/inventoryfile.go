package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/sovereign-engine/sovereign/internal/yamlfile"
)

// InventoryLimits bound what loading an inventory directory may cost. The
// directory is written by whoever runs the site, but it is the input that
// grows with the fleet, and a mistake (a log file named *.yaml, a symlink to
// /dev/zero) must not take the service down. Parsing YAML holds about 40
// times a file's size while it is read; a file's parsed form is dropped
// before the next file is read.
var InventoryLimits = struct {
	// File bounds one file (size, nesting, values once aliases expand).
	File yamlfile.Limits
	// MaxTotalBytes bounds all files together; MaxFiles their number.
	MaxTotalBytes int64
	MaxFiles      int
}{
	File:          yamlfile.Limits{MaxBytes: 16 << 20, MaxDepth: 16, MaxNodes: 4_000_000},
	MaxTotalBytes: 128 << 20,
	MaxFiles:      10_000,
}

// inventoryExtensions are the files LoadInventory reads.
var inventoryExtensions = []string{".yaml", ".yml", ".json"}

// InventoryFiles lists, in name order, the files LoadInventory reads in dir:
// *.yaml, *.yml and *.json directly in it, hidden files and subdirectories
// left out. A watcher hashes exactly these (InventoryVersion), so that it
// sees every change the loader would, and nothing it would not.
func InventoryFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !slices.Contains(inventoryExtensions, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		if e.IsDir() {
			continue
		}
		names = append(names, name)
	}
	return names, nil
}

// InventoryVersion is a digest of the files LoadInventory would read in dir:
// their names, sizes and contents. It reads them as the loader does (regular
// files only, within InventoryLimits, never blocking on a FIFO), so a
// hostile file makes it fail with the loader's reason, not hang or grow.
func InventoryVersion(dir string) (string, error) {
	names, err := InventoryFiles(dir)
	if err != nil {
		return "", err
	}
	if len(names) > InventoryLimits.MaxFiles {
		return "", fmt.Errorf("%s: %d inventory files (limit %d)", dir, len(names), InventoryLimits.MaxFiles)
	}
	h := sha256.New()
	var total int64
	for _, name := range names {
		f, err := openRegular(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		fh := sha256.New()
		n, err := io.Copy(fh, io.LimitReader(f, InventoryLimits.File.MaxBytes+1))
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if n > InventoryLimits.File.MaxBytes {
			return "", fmt.Errorf("%s: more than %d bytes", name, InventoryLimits.File.MaxBytes)
		}
		if total += n; total > InventoryLimits.MaxTotalBytes {
			return "", fmt.Errorf("%s: inventory files over %d bytes", dir, InventoryLimits.MaxTotalBytes)
		}
		fmt.Fprintf(h, "%s %d %x\n", name, n, fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// openRegular opens path for reading if it is (or links to) a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	return f, nil
}

// LoadInventory reads every *.yaml, *.yml and *.json file directly in dir, in
// name order; each holds any of `sites:`, `datasets:`, `workloads:`,
// `exemptions:` and `current:` lists. Decoding is strict (internal/yamlfile: unknown fields,
// duplicate keys, values of the wrong kind and unquoted numbers where text
// belongs are errors; YAML 1.2, so `NO` is Norway, not false). Hidden files
// and subdirectories are skipped; a file that is not a regular file (a FIFO,
// a device) or over InventoryLimits refuses the inventory. Any problem
// refuses the whole inventory with an *InventoryError listing every problem
// found, each as file:line:column: field.path: message.
func LoadInventory(dir string) (*Inventory, error) {
	names, err := InventoryFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("load inventory %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, &InventoryError{Problems: []string{dir + ": no inventory files (*.yaml, *.yml, *.json)"}}
	}
	if len(names) > InventoryLimits.MaxFiles {
		return nil, &InventoryError{Problems: []string{fmt.Sprintf("%s: %d inventory files (limit %d)", dir, len(names), InventoryLimits.MaxFiles)}}
	}
	c := &collection{complete: true}
	var total int64
	for _, name := range names {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil {
			if total += st.Size(); total > InventoryLimits.MaxTotalBytes {
				c.problem(origin{file: name}, fmt.Sprintf("%v: the inventory's files add up to more than %d bytes", yamlfile.ErrTooLarge, InventoryLimits.MaxTotalBytes))
				c.complete = false
				break
			}
		}
		doc, err := yamlfile.ReadNamed(path, name, InventoryLimits.File)
		if err != nil {
			c.fileError(name, err)
			continue
		}
		c.decodeFile(doc)
	}
	return c.build(dir)
}

// fileError records a file that could not be read or parsed.
func (c *collection) fileError(name string, err error) {
	c.complete = false
	var ye *yamlfile.Error
	if errors.As(err, &ye) {
		c.problems = append(c.problems, problem{name, ye.Line, ye.Error()})
		return
	}
	c.problem(origin{file: name}, fmt.Sprintf("cannot read: %v", err))
}

// inventoryFile is the shape of one inventory file.
type inventoryFile struct {
	Sites      []Site      `json:"sites"`
	Datasets   []Dataset   `json:"datasets"`
	Workloads  []Workload  `json:"workloads"`
	Exemptions []Exemption `json:"exemptions"`
	// Current is where datasets are today (docs/drift.md).
	Current []DatasetState `json:"current"`
}

// decodeFile decodes one file and checks each of its entries on its own,
// while the file's parsed form can still place every problem at its line.
// An entry that does not decode is reported and left out (the checks that
// need every entry are then skipped: they would report noise).
func (c *collection) decodeFile(doc *yamlfile.Document) {
	name := doc.Name()
	if doc.Empty() {
		c.problem(origin{file: name}, "is empty: expected sites, datasets and/or workloads lists")
		return
	}
	var f inventoryFile
	bad := map[string]bool{} // entries ("sites[2]") that did not decode
	if err := doc.Decode(&f); err != nil {
		var es yamlfile.Errors
		if !errors.As(err, &es) {
			c.fileError(name, err)
			return
		}
		for _, e := range es {
			c.problems = append(c.problems, problem{name, e.Line, e.Error()})
			if entry := entryOf(e.Path); entry != "" {
				bad[entry] = true
			} else {
				c.complete = false // the file's own shape is wrong
			}
		}
	}
	at := func(path string) origin {
		e := doc.At(path, "")
		return origin{file: name, path: path, line: e.Line, col: e.Column}
	}
	add := func(list string, n int, keep func(i int, l located0)) {
		pos := doc.Positions(list)
		for i := range n {
			path := list + "[" + strconv.Itoa(i) + "]"
			if bad[path] {
				c.complete = false
				continue
			}
			l := located0{at: origin{file: name, path: path}}
			if i < len(pos) {
				l.at.line, l.at.col = pos[i].Line, pos[i].Column
			}
			keep(i, l)
		}
	}
	c.sites = slices.Grow(c.sites, len(f.Sites))
	c.datasets = slices.Grow(c.datasets, len(f.Datasets))
	c.workloads = slices.Grow(c.workloads, len(f.Workloads))
	c.exempts = slices.Grow(c.exempts, len(f.Exemptions))
	c.current = slices.Grow(c.current, len(f.Current))
	add("sites", len(f.Sites), func(i int, l located0) {
		e := located[Site]{value: f.Sites[i], at: l.at, places: l.places}
		checkEntry(c, &e, at)
		c.sites = append(c.sites, e)
	})
	add("datasets", len(f.Datasets), func(i int, l located0) {
		e := located[Dataset]{value: f.Datasets[i], at: l.at, places: l.places}
		checkEntry(c, &e, at)
		c.datasets = append(c.datasets, e)
	})
	add("workloads", len(f.Workloads), func(i int, l located0) {
		e := located[Workload]{value: f.Workloads[i], at: l.at, places: map[string]origin{}}
		for j := range e.value.Datasets {
			p := fmt.Sprintf(".datasets[%d]", j)
			e.places[p] = at(l.at.path + p)
		}
		checkEntry(c, &e, at)
		c.workloads = append(c.workloads, e)
	})
	add("exemptions", len(f.Exemptions), func(i int, l located0) {
		e := located[Exemption]{value: f.Exemptions[i], at: l.at, places: map[string]origin{}}
		for _, p := range []string{".scope", ".valid_from"} {
			e.places[p] = at(l.at.path + p)
		}
		for j := range e.value.Scope.Sites {
			p := fmt.Sprintf(".scope.sites[%d]", j)
			e.places[p] = at(l.at.path + p)
		}
		for j := range e.value.Scope.Datasets {
			p := fmt.Sprintf(".scope.datasets[%d]", j)
			e.places[p] = at(l.at.path + p)
		}
		checkEntry(c, &e, at)
		c.exempts = append(c.exempts, e)
	})
	add("current", len(f.Current), func(i int, l located0) {
		e := located[DatasetState]{value: f.Current[i], at: l.at, places: map[string]origin{}}
		for _, p := range stateFields(&e.value) {
			e.places[p] = at(l.at.path + p)
		}
		checkEntry(c, &e, at)
		c.current = append(c.current, e)
	})
}

// located0 is a located entry before its type is known.
type located0 struct {
	at     origin
	places map[string]origin
}

// entryOf is the list entry a field path is in ("sites[2].country" ->
// "sites[2]"), or "" for a path outside the lists.
func entryOf(path string) string {
	i := strings.IndexByte(path, ']')
	if i < 0 || !strings.Contains(path[:i], "[") {
		return ""
	}
	return path[:i+1]
}
