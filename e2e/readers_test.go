package e2e

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestTwoReadersShare: with two UDP readers (-udp-workers 2, SO_REUSEPORT),
// 30,000 queries from a client in no CAS's network, sent from 16 sockets
// so that the kernel spreads them over both readers, hand each of the
// three CAS out first within 1% of a third of the answers: round robin
// stays fair however the queries fall on the readers.
func TestTwoReadersShare(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-udp-workers", "2")
	const sockets, perSocket = 16, 30000 / 16
	req, err := newQuery("affinityus.contoso.lab", dns.TypeA).Pack()
	if err != nil {
		t.Fatal(err)
	}
	server, err := net.ResolveUDPAddr("udp", in.DNS)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	firsts := map[string]int{}
	lost := 0
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Minute)
	for range sockets {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.9.0.5")}, server)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine, missed := map[string]int{}, 0
			buf := make([]byte, 1232)
			for i := 0; i < perSocket && time.Now().Before(deadline); i++ {
				if _, err := c.Write(req); err != nil {
					missed++
					continue
				}
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := c.Read(buf)
				var r dns.Msg
				if err != nil || r.Unpack(buf[:n]) != nil || len(r.Answer) != 3 {
					missed++
					continue
				}
				mine[r.Answer[0].(*dns.A).A.String()]++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range mine {
				firsts[k] += v
			}
			lost += missed
		}()
	}
	wg.Wait()
	total := 0
	for _, v := range firsts {
		total += v
	}
	t.Logf("first answers %v over %d answered queries, %d lost", firsts, total, lost)
	if total < 29000 || len(firsts) != 3 {
		t.Fatalf("%d of %d queries answered, firsts %v", total, sockets*perSocket, firsts)
	}
	for _, cas := range []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"} {
		share := float64(firsts[cas]) / float64(total)
		if share < 1.0/3-0.01 || share > 1.0/3+0.01 {
			t.Errorf("%s first in %.4f of the answers, want 1/3 within 0.01: %v", cas, share, firsts)
		}
	}
}

// TestUDPIODefault: the UDP readers block in recvmmsg by default on two
// CPUs or more, but on one CPU (here taskset -c 0, as a one-CPU container or VM) they read
// through Go's poller, whose tail latency while a large zone compiles was
// the better of the two there; -udp-io still decides when given. Each
// answers.
func TestUDPIODefault(t *testing.T) {
	taskset := need(t, "taskset")
	all := "blocking"
	if runtime.NumCPU() == 1 {
		all = "netpoll"
	}
	for _, c := range []struct {
		name    string
		wrapper []string
		args    []string
		want    string
	}{
		{"every CPU of the machine", nil, nil, all},
		{"one CPU", []string{taskset, "-c", "0"}, nil, "netpoll"},
		{"one CPU, -udp-io blocking", []string{taskset, "-c", "0"}, []string{"-udp-io", "blocking"}, "blocking"},
	} {
		in := startUnder(t, c.wrapper, append([]string{"-config", testdata("config", "good", "loopback.toml")}, c.args...)...)
		if !strings.Contains(in.Log(), `"udp_io":"`+c.want+`"`) {
			t.Errorf("%s: want udp_io %s in the serving line:\n%s", c.name, c.want, grepLines(in.Log(), `"serving"`))
		}
		if r := in.query(t, "udp", "127.0.0.1", newQuery("affinityus.contoso.lab", dns.TypeA)); len(r.Answer) != 3 {
			t.Errorf("%s: %d records, want the 3 CAS", c.name, len(r.Answer))
		}
		in.stop()
	}
}
