//go:build unix

package main

import (
	"syscall"
	"time"
)

type cpuSample struct{ user, sys time.Duration }

// cpuTime is this process's CPU use so far: the generator shares the machine's cores with
// the servers it measures, so its own share belongs in the report.
func cpuTime() cpuSample {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSample{}
	}
	return cpuSample{
		user: time.Duration(ru.Utime.Nano()),
		sys:  time.Duration(ru.Stime.Nano()),
	}
}
