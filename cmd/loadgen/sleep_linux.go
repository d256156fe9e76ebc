package main

import (
	"syscall"
	"time"
)

// preciseSleep sleeps for d with nanosleep(2) on the calling (locked) OS thread. The Go
// runtime's timers wake up to ~1 ms late on Linux (golang/go#44343), which at a few
// thousand requests/s would add about half a millisecond of the generator's own lateness
// to every open-loop latency; nanosleep is late by tens of microseconds.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
