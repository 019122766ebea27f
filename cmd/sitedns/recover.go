package main

import (
	"context"

	"go.uber.org/zap"
)

// supervise runs fn until it returns or ctx ends, starting it again after
// a panic, which it logs with its stack. The process's own goroutines (the
// reloader, the signal loop, the file watch) run under it, so that a bug
// reached by one event never takes the DNS service down; the packet path
// has its own recovery in package server, which counts panics in
// sitedns_dropped_total{reason="panic"}.
func supervise(ctx context.Context, log *zap.Logger, name string, fn func()) {
	for ctx.Err() == nil {
		if !runRecovered(log, name, fn) {
			return
		}
	}
}

// runRecovered runs fn and reports whether it panicked.
func runRecovered(log *zap.Logger, name string, fn func()) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic in "+name+"; restarting it", zap.Any("panic", p), zap.Stack("stack"))
			panicked = true
		}
	}()
	fn()
	return false
}
