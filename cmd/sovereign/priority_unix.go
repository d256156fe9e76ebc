//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// lowerPriority lowers a process's scheduling priority to nice 10: under CFS it
// then gets about a tenth of the CPU share of the server's own threads when the
// machine is saturated (all of an idle core otherwise). Nice 19 (a 1.5% share)
// starved bundle checks for minutes under sustained load, and a bundle update
// may be a security fix.
func lowerPriority(pid int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, pid, 10) // best effort
}

// onLowPriorityThread runs fn on an OS thread of its own at nice 10 and waits
// for it. Linux schedules threads, not processes, so a bundle's compile and
// query preparation (≈ 0.3 s of CPU and 150 MB of short-lived allocation, whose
// GC assists are charged to the allocating goroutine) yield to the threads
// answering requests. The thread is never unlocked: when fn returns, the
// goroutine exits locked and the runtime retires the thread, so its nice value
// never reaches other goroutines. Goroutines fn starts run on normal threads.
func onLowPriorityThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 10) // best effort
		fn()
	}()
	<-done
}
