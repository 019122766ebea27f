package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsperfStats is what a dnsperf run reports.
type dnsperfStats struct {
	sent, completed, lost, interrupted int
	rcodes                             string
	qps                                float64
	out                                string
}

var (
	dnsperfCount  = regexp.MustCompile(`Queries (sent|completed|lost|interrupted):\s+(\d+)`)
	dnsperfRcodes = regexp.MustCompile(`Response codes:\s+(.*)`)
	dnsperfQPS    = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
)

// startDnsperf runs dnsperf against addr from 127.0.0.1 at qps queries per
// second over the query file, for at most limit; stop (SIGINT) ends it early
// and returns its statistics. A query counts as lost when no answer came
// within 10s: on a machine with a load average of 30 on 2 cores, answers
// have been seen to take over 2s while none was missing.
func startDnsperf(t *testing.T, addr string, queries []string, qps int, limit time.Duration) (stop func() dnsperfStats) {
	t.Helper()
	bin := need(t, "dnsperf")
	f := filepath.Join(t.TempDir(), "queries.txt")
	if err := os.WriteFile(f, []byte(strings.Join(queries, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "-s", host, "-p", port, "-a", "127.0.0.1", "-d", f, "-l", strconv.Itoa(int(limit.Seconds())),
		"-Q", strconv.Itoa(qps), "-c", "4", "-T", "1", "-t", "10")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return func() dnsperfStats {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatalf("dnsperf did not stop:\n%s", out.String())
		}
		s := dnsperfStats{out: out.String()}
		for _, m := range dnsperfCount.FindAllStringSubmatch(s.out, -1) {
			n, _ := strconv.Atoi(m[2])
			switch m[1] {
			case "sent":
				s.sent = n
			case "completed":
				s.completed = n
			case "lost":
				s.lost = n
			case "interrupted":
				s.interrupted = n
			}
		}
		if m := dnsperfRcodes.FindStringSubmatch(s.out); m != nil {
			s.rcodes = strings.TrimSpace(m[1])
		}
		if m := dnsperfQPS.FindStringSubmatch(s.out); m != nil {
			s.qps, _ = strconv.ParseFloat(m[1], 64)
		}
		if s.sent == 0 {
			t.Fatalf("dnsperf sent nothing:\n%s", s.out)
		}
		return s
	}
}

// serialChecker asks sitedns for serial.contoso.lab TXT without pause, one
// query at a time, and checks every answer against the serials published:
// the TXT holds the zone's serial, so an answer must never go back to an
// older serial than one already seen, nor be one the primary never had.
type serialChecker struct {
	answers, wrong, timeouts atomic.Int64
	mu                       sync.Mutex
	problems                 []string
}

func (c *serialChecker) run(ctx context.Context, addr string, maxSerial func() int) {
	co, err := dns.Dial("udp", addr)
	if err != nil {
		c.fail("dial: %v", err)
		return
	}
	defer co.Close()
	last := 0
	q := newQuery("serial.contoso.lab", dns.TypeTXT)
	// At most 5,000 queries a second: enough to land in every swap, and
	// the machine is shared.
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		<-tick.C
		q.Id = dns.Id()
		_ = co.SetDeadline(time.Now().Add(10 * time.Second))
		if err := co.WriteMsg(q); err != nil {
			c.fail("write: %v", err)
			return
		}
		r, err := co.ReadMsg()
		if err != nil {
			c.timeouts.Add(1)
			continue
		}
		c.answers.Add(1)
		n := -1
		if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			if txt, ok := r.Answer[0].(*dns.TXT); ok && len(txt.Txt) == 1 {
				n, _ = strconv.Atoi(txt.Txt[0])
			}
		}
		if n < last || n < 1 || n > maxSerial() {
			c.wrong.Add(1)
			c.fail("serial %d after %d (rcode %s, highest published %d)", n, last, dns.RcodeToString[r.Rcode], maxSerial())
			continue
		}
		last = n
	}
}

func (c *serialChecker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < 10 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// TestSecondaryTransfersUnderLoad: while dnsperf asks sitedns for every
// name of the zone and a checker asks for the serial record without pause,
// BIND changes the zone 100 times, each change reaching sitedns by NOTIFY
// and IXFR and compiled into a new snapshot. No query is lost, every
// response is NOERROR, no answer goes back in serial, and every transfer
// is an IXFR.
func TestSecondaryTransfersUnderLoad(t *testing.T) {
	const transfers = 100
	dir := t.TempDir()
	listen := reserveListen(t)
	bind := startBINDPrimary(t, "127.0.0.1", "contoso.lab", adZone(1, longTimers, 30), listen)
	in, _ := startSecondaryOf(t, dir, bind.Addr, listen, 10*time.Second)

	// Names that every version of the zone holds, with the same answers.
	queries := []string{"contoso.lab SOA", "contoso.lab NS", "contoso.lab MX", "dc1.contoso.lab A",
		"_ldap._tcp.dc._msdcs.contoso.lab SRV", "_kerberos._tcp.contoso.lab SRV", "autodiscover.contoso.lab A",
		"autodiscover.contoso.lab AAAA", "www.contoso.lab A", "spf.contoso.lab TXT", "serial.contoso.lab TXT"}
	for i := 1; i <= 30; i++ {
		queries = append(queries, fmt.Sprintf("host%d.contoso.lab A", i))
	}
	stop := startDnsperf(t, in.DNS, queries, 2000, 5*time.Minute)

	var published atomic.Int64
	published.Store(1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	checker := &serialChecker{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		checker.run(ctx, in.DNS, func() int { return int(published.Load()) })
	}()

	start := time.Now()
	var lags []time.Duration // from the primary serving a serial to sitedns serving it
	for n := 2; n <= transfers+1; n++ {
		// Each version changes a host, so each IXFR deletes and adds.
		published.Store(int64(n))
		bind.update(adZone(uint32(n), longTimers, 30, fmt.Sprintf("dyn 300 IN A 10.6.%d.%d", n/256, n%256)), uint32(n))
		lags = append(lags, waitSerial(t, "sitedns", in.DNS, "contoso.lab.", uint32(n), 10*time.Second))
	}
	took := time.Since(start)
	// The counters move just after the swap that serves the serial.
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, fmt.Sprintf(`"serial":%d,`, transfers+1))
	cancel()
	wg.Wait()
	st := stop()

	slices.Sort(lags)
	t.Logf("%d transfers in %v; from the primary serving a serial to sitedns serving it: p50 %v, p99 %v, max %v",
		transfers, took.Round(time.Millisecond), lags[len(lags)/2].Round(time.Millisecond),
		lags[len(lags)*99/100].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	t.Logf("dnsperf: %d sent, %d completed, %d lost, %d in flight when stopped, %.0f qps, rcodes %s",
		st.sent, st.completed, st.lost, st.interrupted, st.qps, st.rcodes)
	t.Logf("serial checker: %d answers, %d wrong, %d timeouts", checker.answers.Load(), checker.wrong.Load(), checker.timeouts.Load())
	if st.lost != 0 || st.completed == 0 {
		t.Errorf("dnsperf: %d lost of %d sent:\n%s", st.lost, st.sent, st.out)
	}
	if !regexp.MustCompile(`^NOERROR \d+ \(100\.00%\)$`).MatchString(st.rcodes) {
		t.Errorf("dnsperf response codes %q, want NOERROR only", st.rcodes)
	}
	if checker.wrong.Load() != 0 || checker.timeouts.Load() != 0 || checker.answers.Load() == 0 {
		t.Errorf("serial checker: %d answers, %d wrong, %d timeouts: %v",
			checker.answers.Load(), checker.wrong.Load(), checker.timeouts.Load(), checker.problems)
	}
	if v := metricValue(t, in, `sitedns_zone_transfers_total{kind="ixfr",result="success",zone="contoso.lab."}`); v != transfers {
		t.Errorf("IXFR successes %v, want %d", v, transfers)
	}
	if v := metricValue(t, in, `sitedns_zone_transfers_total{kind="axfr",result="success",zone="contoso.lab."}`); v != 1 {
		t.Errorf("AXFR successes %v, want the first one only", v)
	}
}

// largeZone is contoso.lab with n host records besides the AD records.
func largeZone(serial uint32, n int, extra ...string) string {
	var b strings.Builder
	b.WriteString(adZone(serial, longTimers, 0, extra...))
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "h%d\t600 IN A 10.%d.%d.%d\n", i, 100+i>>16, (i>>8)&255, i&255)
	}
	return b.String()
}

// sample is one query: when it was sent and how long its answer took.
type sample struct {
	at  time.Time
	lat time.Duration
}

// latencies sends queries for names from 4 goroutines, one at a time each,
// until ctx ends, and returns every query's sample and the count of
// failures (timeouts and rcodes other than NOERROR).
func latencies(ctx context.Context, addr string, names []string) (func() ([]sample, int), error) {
	var mu sync.Mutex
	var all []sample
	var bad atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		co, err := dns.Dial("udp", addr)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer co.Close()
			var mine []sample
			for i := g; ctx.Err() == nil; i++ {
				q := newQuery(names[i%len(names)], dns.TypeA)
				_ = co.SetDeadline(time.Now().Add(2 * time.Second))
				t0 := time.Now()
				if co.WriteMsg(q) != nil {
					bad.Add(1)
					continue
				}
				r, err := co.ReadMsg()
				if err != nil || r.Rcode != dns.RcodeSuccess {
					bad.Add(1)
					continue
				}
				mine = append(mine, sample{t0, time.Since(t0)})
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	return func() ([]sample, int) {
		wg.Wait()
		return all, int(bad.Load())
	}, nil
}

// split sorts the latencies of the samples sent before t and of those sent
// from t on.
func split(all []sample, t time.Time) (before, after []time.Duration) {
	for _, s := range all {
		if s.at.Before(t) {
			before = append(before, s.lat)
		} else {
			after = append(after, s.lat)
		}
	}
	slices.Sort(before)
	slices.Sort(after)
	return before, after
}

// pct is the p quantile of sorted latencies.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// TestSecondaryLargeZone: a zone of 100,000 host records transfers from
// BIND by AXFR and compiles beside the serving snapshot; queries keep being
// answered while a change (IXFR, the whole zone compiled again) and then a
// whole new copy (AXFR) are swapped in. The latency of queries before and
// during each swap is printed.
func TestSecondaryLargeZone(t *testing.T) {
	const hosts = 100000
	dir := t.TempDir()
	listen := reserveListen(t)
	bind := startBINDPrimary(t, "127.0.0.1", "contoso.lab", largeZone(1, hosts), listen)
	in, _ := startSecondaryOf(t, dir, bind.Addr, listen, 60*time.Second)
	logTransfer(t, in, 1)

	names := []string{"dc1.contoso.lab.", "h1.contoso.lab.", "h50000.contoso.lab.", "h99999.contoso.lab.", "mail.contoso.lab."}
	measure := func(what string, swap func()) {
		ctx, cancel := context.WithCancel(context.Background())
		collect, err := latencies(ctx, in.DNS, names)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // a second of queries before the swap, for comparison
		t0 := time.Now()
		swap()
		during := time.Since(t0)
		cancel()
		all, bad := collect()
		before, swapping := split(all, t0)
		t.Logf("%s: served %v after the primary was told to reload; %d queries, %d failed", what, during.Round(time.Millisecond), len(all), bad)
		t.Logf("  latency before: p50 %v p99 %v max %v (%d queries)", pct(before, 0.5), pct(before, 0.99), pct(before, 1), len(before))
		t.Logf("  latency during the transfer and swap: p50 %v p99 %v max %v (%d queries)", pct(swapping, 0.5), pct(swapping, 0.99), pct(swapping, 1), len(swapping))
		if bad != 0 {
			t.Errorf("%s: %d queries failed during the swap", what, bad)
		}
	}
	measure("IXFR of 1 change into 100,000 records", func() {
		bind.update(largeZone(2, hosts, "dyn 300 IN A 10.6.0.2"), 2)
		waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 2, 60*time.Second)
	})
	logTransfer(t, in, 2)
	// BIND started afresh, without its journal, can only send the whole
	// zone: an IXFR request gets it in AXFR form.
	measure("whole zone (AXFR form) of 100,000 records", func() {
		bind.stop()
		for _, j := range []string{bind.zonePath + ".jnl"} {
			_ = os.Remove(j)
		}
		if err := os.WriteFile(bind.zonePath, []byte(largeZone(3, hosts, "dyn 300 IN A 10.6.0.3")), 0o644); err != nil {
			t.Fatal(err)
		}
		bind.start()
		waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 3, 60*time.Second)
	})
	logTransfer(t, in, 3)
}

// logTransfer prints sitedns's log line of the transfer of serial.
func logTransfer(t *testing.T, in *instance, serial int) {
	t.Helper()
	waitLog(t, in, 1, 10*time.Second, `"zone transferred"`, fmt.Sprintf(`"serial":%d,`, serial))
	sc := bufio.NewScanner(strings.NewReader(in.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, `"zone transferred"`) && strings.Contains(l, fmt.Sprintf(`"serial":%d,`, serial)) {
			t.Log(l)
		}
	}
}
