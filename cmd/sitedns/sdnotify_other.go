//go:build !unix

package main

// reloadingState is RELOADING=1 alone where there is no CLOCK_MONOTONIC to
// read (and no systemd to tell).
func reloadingState() string { return "RELOADING=1" }
