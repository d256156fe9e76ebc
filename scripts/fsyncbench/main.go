// Command fsyncbench measures what the audit journal's zero-filled segments
// buy: the latency of fdatasync after a small append at the end of a file,
// against the same write over zeros already synced, while a neighbour keeps
// writing, fsyncing and renaming small files as Tessera's POSIX driver does.
//
//	go run ./scripts/fsyncbench DIR   # DIR on the file system under test
//
// It alternates the two modes, three rounds of 1,500 syncs each.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// neighbour writes, fsyncs and renames four small files over and over, and
// fsyncs their directory: Tessera's integration pattern.
func neighbour(dir string, stop *atomic.Bool) {
	buf := make([]byte, 64<<10)
	for i := 0; !stop.Load(); i++ {
		for k := range 4 {
			tmp := filepath.Join(dir, fmt.Sprintf("t%d.tmp", k))
			if err := os.WriteFile(tmp, buf[:8<<10+k*16<<10], 0o600); err != nil {
				panic(err)
			}
			f, err := os.Open(tmp)
			if err != nil {
				panic(err)
			}
			f.Sync()
			f.Close()
			if err := os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("f%d_%d", k, i%50))); err != nil {
				panic(err)
			}
			d, err := os.Open(dir)
			if err != nil {
				panic(err)
			}
			d.Sync()
			d.Close()
		}
	}
}

func run(dir string, prezero bool, n int) []time.Duration {
	p := filepath.Join(dir, "journal.wal")
	os.Remove(p)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if prezero {
		if _, err := f.Write(make([]byte, 16<<20)); err != nil {
			panic(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			panic(err)
		}
	}
	rec := make([]byte, 1100) // about one signed record
	lat := make([]time.Duration, 0, n)
	for i := range n {
		if _, err := f.WriteAt(rec, int64(i*len(rec))); err != nil {
			panic(err)
		}
		t := time.Now()
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			panic(err)
		}
		lat = append(lat, time.Since(t))
		time.Sleep(time.Millisecond)
	}
	return lat
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fsyncbench DIR")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp(os.Args[1], "fsyncbench")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "neighbour"), 0o700); err != nil {
		panic(err)
	}
	var stop atomic.Bool
	go neighbour(filepath.Join(dir, "neighbour"), &stop)
	defer stop.Store(true)
	for range 3 {
		for _, prezero := range []bool{false, true} {
			l := run(dir, prezero, 1500)
			slices.Sort(l)
			name := "append"
			if prezero {
				name = "over zeros"
			}
			fmt.Printf("%-10s p50 %8v  p90 %8v  p99 %8v  max %8v\n", name,
				l[len(l)/2].Round(time.Microsecond), l[len(l)*9/10].Round(time.Microsecond),
				l[len(l)*99/100].Round(time.Microsecond), l[len(l)-1].Round(time.Microsecond))
		}
	}
}
