package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// compileBudget bounds what a compile may take from the answering: memory
// and CPU. The snapshot compiles beside the serving one, and while it does:
//
// CPU: the compile runs on an OS thread of its own at a lower priority
// (nice compileNice, Linux), so that the kernel, when the CPUs are short,
// runs the answering threads before the compile's. Giving the compile one
// more P (GOMAXPROCS) as well, so that a query never waits for the
// scheduler's time slice behind it, was measured and dropped: at a million
// names it cut the p99 latency during a reload storm from about 30 ms to
// 12 ms on a loaded 2-CPU machine, but the peak RSS went from 1.95x to
// 2.78x the steady state (deploy/bench/reload-storm, two runs each).
//
// Memory: a compile roughly doubles the live heap (the serving snapshot and
// the new one). A compile roughly doubles the live heap (the
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
type compileBudget struct {
	steady uint64 // bytes the runtime holds with one snapshot, 0 until measured
	// prevLimit is the memory limit before compiling set its own, which
	// finish restores; limited says one is set.
	prevLimit int64
	limited   bool
}

// peakRatio is the memory limit during a compile, as a multiple of the
// steady state; slack, the least room above the steady state, keeps a tiny
// config from a limit so tight that the collector runs all the time.
const (
	peakRatio = 2.1
	slack     = 16 << 20
)

// compiling runs compile within the budget and returns when it is done,
// leaving the memory limit set until finish: the swap that follows is part
// of the peak. A panic in compile is raised again in the caller.
func (m *compileBudget) compiling(compile func()) {
	if m.steady == 0 {
		m.settle()
	}
	limit := max(uint64(float64(m.steady)*peakRatio), m.steady+slack)
	if !m.limited {
		m.prevLimit, m.limited = debug.SetMemoryLimit(-1), true
	}
	if limit < uint64(m.prevLimit) {
		debug.SetMemoryLimit(int64(limit))
	}

	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		// Never unlocked: the goroutine ends locked, so the runtime ends
		// the thread with it rather than hand a niced thread to other
		// goroutines (raising the priority again takes privilege).
		runtime.LockOSThread()
		lowerPriority()
		compile()
	}()
	<-done
	if panicked != nil {
		panic(panicked)
	}
}

// compileNice is the nice value of a compiling thread: ten steps below the
// answering threads, which then weigh about ten times as much when the
// CPUs are short, while the compile still progresses on a busy machine.
const compileNice = 10

// finish ends a compile, swapped in or not (once; later calls do nothing):
// it frees the snapshot that
// lost (the one replaced, or the one refused), measures the new steady
// state and restores the memory limit. The queries still answered from a
// replaced snapshot keep only what they touch alive.
func (m *compileBudget) finish() {
	if !m.limited {
		return // finished already
	}
	m.settle()
	debug.SetMemoryLimit(m.prevLimit)
	m.limited = false
}

// settle collects, returns free pages to the kernel and measures.
func (m *compileBudget) settle() {
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
