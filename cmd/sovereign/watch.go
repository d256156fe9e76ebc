package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// watchReload calls reload on SIGHUP, and every interval (0: never) when
// version, a content hash of what reload reads, differs from the one last
// seen. An empty version counts as unchanged on a tick. It returns when ctx
// ends.
func watchReload(ctx context.Context, interval time.Duration, version func() string, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	last := version()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if cur := version(); cur != "" {
				last = cur
			}
		case <-tick:
			cur := version()
			if cur == "" || cur == last {
				continue
			}
			last = cur
		}
		reload()
	}
}
