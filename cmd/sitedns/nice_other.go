//go:build !linux

package main

// lowerPriority does nothing where a thread's priority cannot be set alone.
func lowerPriority() {}
