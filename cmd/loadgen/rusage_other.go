//go:build !unix

package main

import "time"

type cpuSample struct{ user, sys time.Duration }

func cpuTime() cpuSample { return cpuSample{} }
