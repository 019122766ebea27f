package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// compileBudget bounds what a compile may take from the answering: memory
// and CPU. The snapshot compiles beside the serving one, and while it does:
//
// CPU, the kernel: the compile runs on an OS thread of its own at a lower
// priority (nice compileNice, Linux), so that the kernel, when the CPUs are
// short, runs the answering threads before the compile's.
//
// CPU, the Go scheduler: the runtime knows no priorities, and it is there
// that queries waited. A compile allocates, so the garbage collector runs
// through most of it, and its background mark workers take 25% of
// GOMAXPROCS. Below 4 Ps (and at 6) the runtime cannot give them whole Ps,
// so it makes them fractional: any P that schedules runs a mark worker
// first while that P is behind its 25% share of the mark phase, and keeps
// it there until the share is met or the worker's 10 ms time slice ends.
// A blocking UDP reader yields its P whenever the runtime interrupts its
// recvmmsg (a stack scan, the 10 ms preemption, a stop-the-world), so with
// the default 3 Ps for 2 readers each reader's P in turn ran the compile's
// mark work while the reader waited in the run queue: 30 back-to-back
// reloads of a million names gave a p99 latency of 14.9 ms. So while
// compiling (and collecting after the swap), GOMAXPROCS is raised to
// compileProcs: one P more for the compile, and enough that the runtime
// runs whole dedicated mark workers, which it puts on idle Ps and which
// never take a P a reader yields. The p99 fell to 1.9 ms, the peak memory
// stayed at 1.9x (deploy/bench/reload-storm; docs/performance.md, "Reload
// storms", has the runs and what is left). Only blocking readers, which
// keep their Ps, get this (raiseProcs): netpoll readers hold no P while they
// wait, so the extra Ps sat idle and ran idle mark workers at nice 0, which
// left the niced compile so little CPU that a reload of a million names
// took 8 s instead of 2.7 s. A GOMAXPROCS set in the environment is left as
// it is.
//
// Memory: a compile roughly doubles the live heap (the serving snapshot and
// the new one), and with the garbage collector's default pacing (GOGC=100:
// collect when the heap has doubled since the last collection) the heap
// could reach four times a snapshot: 30 back-to-back reloads of a million
// names peaked at 4.1x the steady RSS and held 2.4 GB for minutes. So while
// compiling, a soft memory limit (debug.SetMemoryLimit) of peakRatio times
// the steady state makes the collector work harder instead of growing the
// heap; after the swap a collection frees the old snapshot at once and
// returns its pages to the kernel (debug.FreeOSMemory), and the steady
// state is measured again.
//
// A limit the user set (GOMEMLIMIT) is never raised. Used by the reloader
// goroutine only.
type compileBudget struct {
	steady uint64 // bytes the runtime holds with one snapshot, 0 until measured
	// prevLimit is the memory limit before compiling set its own, which
	// finish restores; limited says one is set.
	prevLimit int64
	limited   bool
	// raiseProcs says the UDP readers keep their Ps while they wait
	// (blocking readers), so that compiling raises GOMAXPROCS; set once
	// before the first compile. prevProcs is GOMAXPROCS before compiling
	// raised it, which finish restores; 0 when it was not raised.
	raiseProcs bool
	prevProcs  int
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

	if m.raiseProcs && m.prevProcs == 0 && os.Getenv("GOMAXPROCS") == "" {
		cur := runtime.GOMAXPROCS(0)
		if n := compileProcs(cur); n != cur {
			runtime.GOMAXPROCS(n)
			m.prevProcs = cur
		}
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

// compileProcs is GOMAXPROCS while compiling in a process that has cur: one
// P more, for the compile, and never a count for which the runtime (Go 1.26,
// gcControllerState.startCycle) makes its 25% of mark workers fractional
// rather than dedicated: 1 to 3 Ps (0.25 to 0.75 of a worker) and 6 (1.5).
func compileProcs(cur int) int {
	n := cur + 1
	switch {
	case n < 4:
		return 4
	case n == 6:
		return 7
	}
	return n
}

// compileNice is the nice value of a compiling thread: ten steps below the
// answering threads, which then weigh about ten times as much when the
// CPUs are short, while the compile still progresses on a busy machine.
const compileNice = 10

// finish ends a compile, swapped in or not (once; later calls do nothing):
// it frees the snapshot that lost (the one replaced, or the one refused),
// measures the new steady state, and restores GOMAXPROCS and the memory
// limit. The collection that frees the old snapshot still runs with the
// compile's Ps, for the same reason as the compile. The queries still answered from a
// replaced snapshot keep only what they touch alive.
func (m *compileBudget) finish() {
	if !m.limited {
		return // finished already
	}
	m.settle()
	if m.prevProcs != 0 {
		runtime.GOMAXPROCS(m.prevProcs)
		m.prevProcs = 0
	}
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
