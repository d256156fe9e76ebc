package yamlfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/internal/rss"
	"github.com/sovereign-engine/sovereign/internal/yamlfile"
)

type date struct{ time.Time }

func (d *date) UnmarshalJSON(b []byte) error {
	t, err := time.Parse(`"2006-01-02"`, string(b))
	if err != nil {
		return errors.New("must be a date YYYY-MM-DD")
	}
	d.Time = t
	return nil
}

type cert struct {
	Scheme     string `json:"scheme"`
	ValidUntil *date  `json:"valid_until,omitempty"`
}

type site struct {
	ID      string            `json:"id"`
	Country string            `json:"country"`
	Count   int               `json:"count,omitempty"`
	Ratio   float64           `json:"ratio,omitempty"`
	Edge    bool              `json:"edge,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Certs   []cert            `json:"certifications,omitempty"`
	Extra   any               `json:"extra,omitempty"`
}

type file struct {
	Sites []site `json:"sites"`
}

func decode(t *testing.T, src string) (file, error) {
	t.Helper()
	var f file
	d, err := yamlfile.Parse("f.yaml", []byte(src), yamlfile.DefaultLimits)
	if err != nil {
		return f, err
	}
	return f, d.Decode(&f)
}

func TestDecodes(t *testing.T) {
	f, err := decode(t, `
defaults: &d {country: NO, labels: {tier: "1"}}
sites:
  - id: osl-1
    <<: *d
    count: 1_000
    ratio: 0.5
    edge: true
    certifications: [{scheme: C5, valid_until: 2027-06-30}]
    extra: {a: [1, x]}
  - {id: v-1, country: DE, labels: {version: 1.10}}
`[1:])
	if err == nil {
		t.Fatal("the unknown top-level key defaults was accepted")
	}
	if !strings.Contains(err.Error(), `f.yaml:1:1: defaults: unknown field "defaults"`) {
		t.Fatalf("error %q", err)
	}
	f, err = decode(t, `
sites:
  - &osl
    id: osl-1
    country: NO
    labels: {tier: "1"}
    count: 1_000
    ratio: 0.5
    edge: true
    certifications: [{scheme: C5, valid_until: 2027-06-30}]
    extra: {a: [1, x]}
  - {<<: *osl, id: v-1, labels: {version: "1.10"}}
`[1:])
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sites[0]
	if s.Country != "NO" || s.Count != 1000 || s.Ratio != 0.5 || !s.Edge || s.Labels["tier"] != "1" ||
		s.Certs[0].ValidUntil.Format(time.DateOnly) != "2027-06-30" {
		t.Errorf("decoded %+v", s)
	}
	if v := f.Sites[1]; v.ID != "v-1" || v.Country != "NO" || v.Labels["version"] != "1.10" || v.Count != 1000 {
		t.Errorf("merged %+v", v)
	}
}

// TestErrorsNameLineAndField: every problem at once, each with file, line,
// column, field path and a message without Go type names.
func TestErrorsNameLineAndField(t *testing.T) {
	_, err := decode(t, `
sites:
  - id: a
    contry: DE
    count: ten
    edge: yes
    labels: [x]
    country: 49
    certifications:
      - {scheme: C5, valid_until: someday}
  - id: b
    id: c
  -
`[1:])
	want := []string{
		`f.yaml:3:5: sites[0].contry: unknown field "contry" (did you mean "country"?)`,
		`f.yaml:4:12: sites[0].count: must be a whole number, got "ten"`,
		`f.yaml:5:11: sites[0].edge: must be true or false, got "yes"`,
		`f.yaml:6:13: sites[0].labels: must be a mapping, got a list`,
		`f.yaml:7:14: sites[0].country: must be a string, got a number 49: quote it if "49" is meant`,
		`f.yaml:9:35: sites[0].certifications[0].valid_until: must be a date YYYY-MM-DD`,
		`f.yaml:11:5: sites[1].id: duplicate key "id" (first at line 10)`,
		`f.yaml:12:4: sites[2]: must be a mapping, got null`,
	}
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	// A type's own UnmarshalJSON error, once the rest is right, is placed too.
	_, err = decode(t, "sites:\n  - id: a\n    certifications:\n      - {scheme: C5, valid_until: someday}\n")
	if err == nil || !strings.Contains(err.Error(), "f.yaml:") || !strings.Contains(err.Error(), "must be a date") {
		t.Errorf("UnmarshalJSON error: %v", err)
	}
}

func TestRefusesHostileFiles(t *testing.T) {
	laughs := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g"} {
		laughs += n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 9) + "*" + prev + "]\n"
		prev = n
	}
	cases := map[string]string{
		"deep flow":      strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"deep dashes":    strings.Repeat("- ", 5000) + "x",
		"deeper than v3": strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		"billion laughs": laughs,
		"two documents":  "sites: []\n---\nsites: []\n",
		"syntax":         "sites: [\n",
		"over the size":  strings.Repeat("#", int(yamlfile.DefaultLimits.MaxBytes)+1),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decode(t, src)
			if err == nil {
				t.Fatal("accepted")
			}
			var ye *yamlfile.Error
			if !errors.As(err, &ye) || ye.File != "f.yaml" {
				t.Errorf("error %v (%T) does not name the file", err, err)
			}
			t.Log(err)
		})
	}
}

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening a FIFO for reading blocks until a writer comes: open it
	// non-blocking by having a writer ready.
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			time.Sleep(100 * time.Millisecond)
			w.Close()
		}
	}()
	if _, err := yamlfile.Read(fifo, yamlfile.DefaultLimits); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	if _, err := yamlfile.Read(zero, yamlfile.DefaultLimits); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}

// TestMemoryIsBounded: a file at the size limit, of the costliest shape
// (many small flow mappings), and a billion-laughs document stay within a
// bounded peak, measured in a child process.
func TestMemoryIsBounded(t *testing.T) {
	res := rss.Measure(t, func() error {
		n := int(yamlfile.DefaultLimits.MaxBytes) / 44
		src := "sites:\n" + strings.Repeat("  - {id: site-1234, country: DE, count: 7}\n", n)
		var f file
		d, err := yamlfile.Parse("big.yaml", []byte(src), yamlfile.DefaultLimits)
		if err != nil {
			return err
		}
		return d.Decode(&f)
	})
	t.Logf("4 MiB file: peak growth %d MiB (%s)", res.PeakGrowth>>20, res.Err)
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	if res.PeakGrowth > 256<<20 {
		t.Errorf("peak growth %d MiB for a 4 MiB file", res.PeakGrowth>>20)
	}
}
