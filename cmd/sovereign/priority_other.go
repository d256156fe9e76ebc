//go:build !unix

package main

func lowerPriority(int) {}

func onLowPriorityThread(fn func()) { fn() }
