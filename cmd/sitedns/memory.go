package main

import (
	"runtime/debug"
	"runtime/metrics"
)

// compileMemory bounds the process's memory while a snapshot compiles
// beside the serving one. A compile roughly doubles the live heap (the
// serving snapshot and the new one), and with the garbage collector's
// default pacing (GOGC=100: collect when the heap has doubled since the
// last collection) the heap could reach four times a snapshot: 30
// back-to-back reloads of a million names peaked at 4.1x the steady RSS
// and held 2.4 GB for minutes. So while compiling, a soft memory limit
// (debug.SetMemoryLimit) of peakRatio times the steady state makes the
// collector work harder instead of growing the heap; after the swap a
// collection frees the old snapshot at once and returns its pages to the
// kernel (debug.FreeOSMemory), and the steady state is measured again.
//
// A limit the user set (GOMEMLIMIT) is never raised. Used by the reloader
// goroutine only.
type compileMemory struct {
	steady uint64 // bytes the runtime holds with one snapshot, 0 until measured
}

// peakRatio is the memory limit during a compile, as a multiple of the
// steady state; slack keeps a small config from a limit so tight that the
// collector runs all the time.
const (
	peakRatio = 2.1
	slack     = 64 << 20
)

// compiling runs compile under the limit.
func (m *compileMemory) compiling(compile func()) {
	if m.steady == 0 {
		m.settle()
	}
	limit := uint64(float64(m.steady)*peakRatio) + slack
	prev := debug.SetMemoryLimit(-1)
	if limit < uint64(prev) {
		debug.SetMemoryLimit(int64(limit))
	}
	defer debug.SetMemoryLimit(prev)
	compile()
}

// swapped frees the snapshot just replaced and measures the new steady
// state. The queries still answered from the old one keep only what they
// touch alive.
func (m *compileMemory) swapped() { m.settle() }

// settle collects, returns free pages to the kernel and measures.
func (m *compileMemory) settle() {
	debug.FreeOSMemory()
	m.steady = runtimeBytes()
}

// runtimeBytes is the memory the Go runtime holds from the kernel and has
// not released: what the memory limit counts, and most of the RSS.
func runtimeBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	total, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	if released > total {
		return 0
	}
	return total - released
}
