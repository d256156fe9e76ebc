package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sovereign-engine/sovereign/internal/rss"
)

const goodSites = "sites:\n  - {id: fra-1, kind: cloud-region, country: DE, operator: {name: X GmbH, country: DE}}\n"

// TestLoadInventoryRefusesHostileFiles: what a mistake or an attacker can put
// in the inventory directory is refused with a reason naming the file, never
// read forever, waited on, or held whole.
func TestLoadInventoryRefusesHostileFiles(t *testing.T) {
	laughs := "sites: []\na: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		laughs += n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 9) + "*" + prev + "]\n"
		prev = n
	}
	cases := map[string]struct {
		setup func(dir string)
		want  string
	}{
		"a FIFO": {func(dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "pipe.yaml: not a regular file"},
		"a symlink to /dev/zero": {func(dir string) {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")); err != nil {
				t.Fatal(err)
			}
		}, "zero.yaml: not a regular file"},
		"a file over the size limit": {func(dir string) {
			f, _ := os.Create(filepath.Join(dir, "big.yaml"))
			f.Truncate(InventoryLimits.File.MaxBytes + 1)
			f.Close()
		}, "big.yaml: too large"},
		"deep nesting": {func(dir string) {
			os.WriteFile(filepath.Join(dir, "deep.yaml"), []byte("sites: "+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+"\n"), 0o644)
		}, "deep.yaml:1:"},
		"a billion laughs": {func(dir string) {
			os.WriteFile(filepath.Join(dir, "laughs.yaml"), []byte(laughs), 0o644)
		}, "laughs.yaml:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodSites), 0o644)
			tc.setup(dir)
			_, err := LoadInventory(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if _, verr := InventoryVersion(dir); verr == nil && (name == "a FIFO" || name == "a symlink to /dev/zero" || name == "a file over the size limit") {
				t.Errorf("InventoryVersion read a file the loader refuses")
			}
		})
	}
}

// TestInventoryVersionSeesWhatTheLoaderReads: files the loader skips (hidden,
// other extensions, subdirectories) do not change the version; any change
// to a file it reads does.
func TestInventoryVersionSeesWhatTheLoaderReads(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sites.yaml"), []byte(goodSites), 0o644)
	v0, err := InventoryVersion(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".swp.yaml"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "old"), 0o755)
	os.WriteFile(filepath.Join(dir, "old", "sites.yaml"), []byte("x"), 0o644)
	if v, _ := InventoryVersion(dir); v != v0 {
		t.Error("a file the loader skips changed the version")
	}
	os.WriteFile(filepath.Join(dir, "sites.yaml"), []byte(goodSites+"# a comment\n"), 0o644)
	if v, _ := InventoryVersion(dir); v == v0 {
		t.Error("a changed inventory file kept the version")
	}
}

// TestInventoryMemoryIsBounded: a file at the per-file limit (16 MiB, about
// 160,000 datasets) loads within a bounded peak, measured in a child
// process: its parsed form (about 40 times the file) and the snapshot.
func TestInventoryMemoryIsBounded(t *testing.T) {
	res := rss.Measure(t, func() error {
		dir := t.TempDir()
		line := "  - {id: ds-%07d, classification: internal, categories: [personal], subject_jurisdictions: [DE]}\n"
		per := int(InventoryLimits.File.MaxBytes) / (len(line) + 4)
		for f := range 1 {
			var b strings.Builder
			b.WriteString("datasets:\n")
			for i := range per {
				fmt.Fprintf(&b, line, f*per+i)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%d.yaml", f)), []byte(b.String()), 0o644); err != nil {
				return err
			}
		}
		os.WriteFile(filepath.Join(dir, "sites.yaml"), []byte(goodSites), 0o644)
		inv, err := LoadInventory(dir)
		if err != nil {
			return err
		}
		if len(inv.Datasets) != per {
			return fmt.Errorf("%d datasets, want %d", len(inv.Datasets), per)
		}
		return nil
	})
	t.Logf("a file of %d MiB: peak growth %d MiB (%s)", InventoryLimits.File.MaxBytes>>20, res.PeakGrowth>>20, res.Err)
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	if res.PeakGrowth > 1024<<20 {
		t.Errorf("peak growth %d MiB", res.PeakGrowth>>20)
	}
}
