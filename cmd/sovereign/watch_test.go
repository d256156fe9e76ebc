package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Polling reloads when the version changes, not when it stays or cannot be
// read (SIGHUP is covered by TestInventoryReloadOnSIGHUP).
func TestWatchReloadPolls(t *testing.T) {
	var mu sync.Mutex
	version := "a"
	set := func(v string) { mu.Lock(); version = v; mu.Unlock() }
	var reloads atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchReload(ctx, 5*time.Millisecond, func() string { mu.Lock(); defer mu.Unlock(); return version }, func() { reloads.Add(1) })
	}()
	wait := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for reloads.Load() != want {
			if time.Now().After(deadline) {
				t.Fatalf("reloads = %d, want %d", reloads.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(30 * time.Millisecond) // six more ticks: no further reload
		if got := reloads.Load(); got != want {
			t.Fatalf("reloads = %d after settling, want %d", got, want)
		}
	}
	wait(0) // unchanged
	set("b")
	wait(1)
	set("") // unreadable: not a change
	wait(1)
	set("b") // back to what was last loaded
	wait(1)
	set("c")
	wait(2)
	cancel()
	<-done
}
