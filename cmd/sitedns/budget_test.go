package main

import (
	"runtime"
	"testing"
)

func TestCompileProcs(t *testing.T) {
	for _, c := range []struct{ cur, want int }{
		{1, 4}, {2, 4}, {3, 4}, // fractional mark workers below 4 Ps
		{4, 5}, {5, 7}, // 6 would make them fractional again
		{6, 7}, {7, 8}, {16, 17},
	} {
		if got := compileProcs(c.cur); got != c.want {
			t.Errorf("compileProcs(%d) = %d, want %d", c.cur, got, c.want)
		}
	}
}

// TestCompileBudgetProcs: with blocking readers the compile runs with
// compileProcs Ps, and finish restores GOMAXPROCS; a GOMAXPROCS set in the
// environment is left as it is, and so is GOMAXPROCS for netpoll readers.
func TestCompileBudgetProcs(t *testing.T) {
	orig := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(orig)
	for _, c := range []struct {
		name       string
		raise      bool
		env        string
		duringWant int
	}{
		{"blocking", true, "", compileProcs(2)},
		{"blocking, GOMAXPROCS=2", true, "2", 2},
		{"netpoll", false, "", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", c.env)
			m := compileBudget{raiseProcs: c.raise}
			during := 0
			m.compiling(func() { during = runtime.GOMAXPROCS(0) })
			if during != c.duringWant {
				t.Errorf("GOMAXPROCS while compiling = %d, want %d", during, c.duringWant)
			}
			if n := runtime.GOMAXPROCS(0); n != c.duringWant {
				t.Errorf("GOMAXPROCS before finish = %d, want %d (the swap's collection is part of the compile)", n, c.duringWant)
			}
			m.finish()
			if n := runtime.GOMAXPROCS(0); n != 2 {
				t.Errorf("GOMAXPROCS after finish = %d, want 2", n)
			}
			m.finish() // a second finish changes nothing
			if n := runtime.GOMAXPROCS(0); n != 2 {
				t.Errorf("GOMAXPROCS after a second finish = %d, want 2", n)
			}
		})
	}
}
