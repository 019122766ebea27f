package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// procStatusKiB returns a field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
func procStatusKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// sighupReload sends SIGHUP and waits (bounded) until the reload counter
// of result moves past before; it returns the new count.
func sighupReload(t *testing.T, in *instance, before float64, timeout time.Duration) float64 {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		n := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`)
		if n > before {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("reload not done within %v\n%s", timeout, in.Log())
		}
		time.Sleep(20 * time.Millisecond) // polling a counter, bounded by the deadline
	}
}

// queryStream runs a steady UDP query stream (rate per second, from one
// client) until stop is closed and returns each round trip, a lost query
// counted as the timeout.
func queryStream(t *testing.T, in *instance, rate int, stop <-chan struct{}) func() []time.Duration {
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 1, 1, 5)}, mustUDPAddr(t, in.DNS))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		q := newQuery("affinityus.contoso.lab", dns.TypeA)
		buf := make([]byte, 4096)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for id := 0; ; id++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			q.Id = uint16(id)
			p, _ := q.Pack()
			t0 := time.Now()
			_, _ = c.Write(p)
			_ = c.SetReadDeadline(t0.Add(time.Second))
			d := time.Second
			for {
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				if n >= 2 && int(buf[0])<<8|int(buf[1]) == int(q.Id) {
					d = time.Since(t0)
					break
				}
			}
			mu.Lock()
			out = append(out, d)
			mu.Unlock()
		}
	}()
	return func() []time.Duration {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(out)
		return out
	}
}

// TestReloadStorm: 30 back-to-back reloads of the bench config
// (deploy/bench/gen) while a client queries at 500 q/s. Peak RSS (VmHWM)
// stays within 2.2x the steady RSS after the first load (2.5x for a -race
// binary), and queries are
// answered (at most one in a thousand later than 1 s). It prints the peak ratio and the latency percentiles before and
// during the storm (figures, not assertions: the machine is shared).
//
// It also prints where the CPU went: GOMAXPROCS between reloads, the
// collections during the storm and their longest pause, and how long the server's threads waited
// for a CPU in the kernel's run queue (the machine's load as the server
// felt it).
//
// The zone has SITEDNS_STORM_NAMES filler names: 20,000 by default, which
// keeps CI fast; deploy/bench/reload-storm runs it with 1,000,000.
// SITEDNS_STORM_SERVE adds flags to sitedns serve.
func TestReloadStorm(t *testing.T) {
	names := 20_000
	if s := os.Getenv("SITEDNS_STORM_NAMES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SITEDNS_STORM_NAMES=%q", s)
		}
		names = n
	}
	reloads := 30
	dir := t.TempDir()
	gen := exec.Command("go", "run", "../deploy/bench/gen", "-dir", dir, "-names", strconv.Itoa(names))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	in := start(t, append([]string{"-config", filepath.Join(dir, "sitedns.toml")}, strings.Fields(os.Getenv("SITEDNS_STORM_SERVE"))...)...)
	pid := in.cmd.Process.Pid
	reloadTimeout := time.Duration(max(30, names/10_000)) * time.Second

	// Steady state: the first load, settled, under the query stream.
	stop := make(chan struct{})
	before := queryStream(t, in, 500, stop)
	time.Sleep(2 * time.Second) // a steady stream to measure, not a synchronisation
	close(stop)
	calm := before()
	steady := procStatusKiB(t, pid, "VmRSS")
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}

	procs := metricValue(t, in, "go_sched_gomaxprocs_threads")
	gcs := metricValue(t, in, "go_gc_duration_seconds_count")
	waits := runQueueWait(pid)
	stop = make(chan struct{})
	during := queryStream(t, in, 500, stop)
	count := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`)
	t0 := time.Now()
	for i := 0; i < reloads; i++ {
		count = sighupReload(t, in, count, reloadTimeout)
	}
	took := time.Since(t0)
	close(stop)
	storm := during()
	gcs = metricValue(t, in, "go_gc_duration_seconds_count") - gcs
	waited := waitedSince(waits, runQueueWait(pid))
	longestPause := time.Duration(metricValue(t, in, `go_gc_duration_seconds{quantile="1"}`) * 1e9)
	peak := procStatusKiB(t, pid, "VmHWM")
	after := procStatusKiB(t, pid, "VmRSS")

	ratio := float64(peak) / float64(steady)
	lost := 0
	for _, d := range storm {
		if d >= time.Second {
			lost++
		}
	}
	t.Logf("%d names: %d reloads in %v (%v each); RSS steady %d MiB, peak %d MiB (%.2fx), after %d MiB",
		names, reloads, took.Round(time.Millisecond), (took / time.Duration(reloads)).Round(time.Millisecond),
		steady>>10, peak>>10, ratio, after>>10)
	t.Logf("latency at 500 q/s before: p50 %v p99 %v max %v (%d queries); during the storm: p50 %v p99 %v p99.9 %v max %v (%d queries, %d unanswered within 1 s)",
		pct(calm, 0.5), pct(calm, 0.99), pct(calm, 1), len(calm),
		pct(storm, 0.5), pct(storm, 0.99), pct(storm, 0.999), pct(storm, 1), len(storm), lost)
	t.Logf("GOMAXPROCS %v between reloads; %v collections during the storm, the longest stop-the-world pause of the last 256 collections %v; the server's threads that lived through it waited %v for a CPU in the kernel's run queue (%v a second)",
		procs, gcs, longestPause.Round(time.Microsecond), waited.Round(time.Millisecond), (waited / time.Duration(max(1, took/time.Second))).Round(time.Millisecond))
	bound := 2.2
	if raceBuild {
		// The race detector's shadow memory grows with the heap but lies
		// outside the memory limit a compile runs under; the strict bound
		// runs without -race in CI.
		bound = 2.5
	}
	if ratio > bound {
		t.Errorf("peak RSS %.2fx the steady RSS, want at most %.1fx", ratio, bound)
	}
	// A query unanswered within a second on a machine this busy is the
	// scheduler's doing as much as ours: a few in a thousand pass.
	if lost*1000 > len(storm) {
		t.Errorf("%d of %d queries unanswered within 1 s during the storm", lost, len(storm))
	}
}

// runQueueWait returns how long the threads of a process had waited in the
// kernel's run queue for a CPU, each (the second field of
// /proc/PID/task/TID/schedstat); empty without scheduler statistics.
func runQueueWait(pid int) map[string]time.Duration {
	w := map[string]time.Duration{}
	dirs, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "schedstat"))
		f := strings.Fields(string(b))
		if err != nil || len(f) < 2 {
			continue // the thread ended, or no scheduler statistics
		}
		ns, _ := strconv.ParseInt(f[1], 10, 64)
		w[filepath.Base(d)] = time.Duration(ns)
	}
	return w
}

// waitedSince returns how long the threads that are in both before and
// now waited in the run queue in between.
func waitedSince(before, now map[string]time.Duration) time.Duration {
	var all time.Duration
	for tid, d := range now {
		if b, ok := before[tid]; ok {
			all += d - b
		}
	}
	return all
}

// TestReloadKeepsRotation: 10 reloads a second against a steady stream of
// queries for a three-address name from a client in no site: each address
// still comes first in a third of the answers (within 5% of a third), as
// without reloads, since a reload carries the rotation of an RRset that did
// not change over to the new snapshot.
func TestReloadKeepsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	cfg := strings.Replace(genA.config(), `  "affinityus 300 IN A 127.2.1.10",`, "  \"affinityus 300 IN A 127.2.1.10\",\n  \"affinityus 300 IN A 127.3.1.10\",", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", path)
	before := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 10 reloads a second
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = in.cmd.Process.Signal(syscall.SIGHUP)
			}
		}
	}()
	first := map[string]int{}
	total := 0
	tick := time.NewTicker(25 * time.Millisecond) // 40 q/s
	for total < 300 {
		<-tick.C
		r, err := in.exchange("udp", "127.200.1.5", newQuery("affinityus.contoso.lab", dns.TypeA))
		if err != nil || len(r.Answer) != 3 {
			t.Fatalf("answer %d: %v %v", total, r, err)
		}
		first[firstA(t, r)]++
		total++
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	reloads := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`) - before
	t.Logf("%d queries with %v reloads meanwhile: first answers %v", total, reloads, first)
	if reloads < float64(total)/8 {
		t.Errorf("only %v reloads during %d queries", reloads, total)
	}
	for _, a := range []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"} {
		share := float64(first[a]) / float64(total)
		if share < 1.0/3*0.95 || share > 1.0/3*1.05 {
			t.Errorf("%s first in %.1f%% of answers, want a third within 5%%", a, 100*share)
		}
	}
}
