//go:build unix

package main

import "syscall"

// lowerPriority lowers a process's scheduling priority to nice 10: under CFS it
// then gets about a tenth of the CPU share of the server's own threads when the
// machine is saturated (all of an idle core otherwise). Nice 19 (a 1.5% share)
// starved bundle checks for minutes under sustained load, and a bundle update
// may be a security fix.
func lowerPriority(pid int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, pid, 10) // best effort
}
