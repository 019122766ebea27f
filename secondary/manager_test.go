package secondary

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

// fakePrimary answers SOA over UDP and AXFR/IXFR over TCP (always the whole
// zone, or what resp returns) from the records it is given.
type fakePrimary struct {
	addr netip.AddrPort
	mu   sync.Mutex
	rrs  []dns.RR                // the zone, SOA first
	resp func([]dns.RR) []dns.RR // the transfer's records; nil: SOA, zone, SOA
}

func (p *fakePrimary) set(text string) {
	var rrs []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(text), "contoso.lab.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	p.mu.Lock()
	p.rrs = rrs
	p.mu.Unlock()
}

func (p *fakePrimary) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	p.mu.Lock()
	rrs, resp := p.rrs, p.resp
	p.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch r.Question[0].Qtype {
	case dns.TypeSOA:
		m.Answer = rrs[:1]
	case dns.TypeAXFR, dns.TypeIXFR:
		if resp != nil {
			m.Answer = resp(rrs)
		} else {
			m.Answer = append(append([]dns.RR{}, rrs...), rrs[0])
		}
	}
	_ = w.WriteMsg(m)
}

func startFake(t *testing.T, zone string) *fakePrimary {
	t.Helper()
	p := &fakePrimary{}
	p.set(zone)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	p.addr = netip.MustParseAddrPort(pc.LocalAddr().String())
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: p}, {Listener: ln, Handler: p}} {
		go func() { _ = s.ActivateAndServe() }()
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return p
}

func fakeZone(serial int, extra ...string) string {
	return fmt.Sprintf(`contoso.lab. 3600 IN SOA dc1.contoso.lab. h.contoso.lab. %d 3600 600 86400 300
contoso.lab. 3600 IN NS dc1.contoso.lab.
dc1.contoso.lab. 3600 IN A 10.1.0.53
autodiscover.contoso.lab. 300 IN A 10.1.1.99
host1.contoso.lab. 300 IN A 10.5.0.%d
`, serial, serial) + strings.Join(extra, "\n")
}

// harness compiles a config holding contoso.lab as a secondary of p, with
// an autodiscover overlay, as the reloader would: each publish compiles and
// stores the snapshot.
type harness struct {
	m      *Manager
	snap   atomic.Pointer[zones.Snapshot]
	errs   atomic.Int64
	config string
}

func newHarness(t *testing.T, p *fakePrimary) *harness {
	t.Helper()
	h := &harness{config: fmt.Sprintf(`[[zone]]
origin = "contoso.lab"
primaries = [%q]
store = %q
[[zone.name]]
name = "autodiscover"
records = ["300 IN A 10.1.1.10"]
`, p.addr, t.TempDir()+"/contoso.lab.zone")}
	ctx, cancel := context.WithCancel(context.Background())
	h.m = New(ctx, nil, h.publish)
	h.m.timeout = 500 * time.Millisecond // a transfer cut short waits this long for more
	t.Cleanup(func() { cancel(); h.m.Wait() })
	if err := h.publish(h.m, "start"); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) publish(xfr zones.Transfers, reason string) error {
	snap, err := zones.ParseWith("sitedns.toml", "", []byte(h.config), nil, xfr)
	if err != nil {
		h.errs.Add(1)
		return err
	}
	h.snap.Store(snap)
	h.m.Sync(snap)
	return nil
}

// serial is the serving snapshot's serial, 0 while it has no data.
func (h *harness) serial() uint32 {
	z := h.snap.Load().Zones[0]
	if z.Expired {
		return 0
	}
	return z.SOA.Serial
}

func (h *harness) waitSerial(t *testing.T, want uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.serial() != want {
		if time.Now().After(deadline) {
			t.Fatalf("serial %d, want %d", h.serial(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCount waits until counter reaches n.
func waitCount(t *testing.T, what string, counter *atomic.Uint64, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counter.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, counter.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBadTransfersKeepTheLastGoodZone: a transfer that fails (broken
// framing) or does not compile (a record outside the zone, a CNAME beside
// the overlaid name) is counted and the zone keeps serving the last good
// data; the next good one is served.
func TestBadTransfersKeepTheLastGoodZone(t *testing.T) {
	p := startFake(t, fakeZone(1))
	h := newHarness(t, p)
	h.waitSerial(t, 1)
	st := h.m.zones["contoso.lab."].stats

	tests := []struct {
		name    string
		zone    string
		resp    func([]dns.RR) []dns.RR
		counter *atomic.Uint64
	}{
		{"out-of-zone record", fakeZone(2, "www.fabrikam.lab. 300 IN A 10.9.9.9"), nil, &st.transfers[0][2]},
		{"CNAME beside the overlay", fakeZone(3, "autodiscover.contoso.lab. 300 IN CNAME mail.contoso.lab."), nil, &st.transfers[0][2]},
		{"broken framing", fakeZone(4), func(rrs []dns.RR) []dns.RR { return rrs }, &st.transfers[0][1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.counter.Load()
			p.mu.Lock()
			p.resp = tt.resp
			p.mu.Unlock()
			p.set(tt.zone)
			h.m.Notify("contoso.lab.")
			waitCount(t, tt.name, tt.counter, before+1)
			if s := h.serial(); s != 1 {
				t.Errorf("serving serial %d, want the last good 1", s)
			}
			if d, _ := h.m.Transferred("contoso.lab.", nil); !strings.Contains(d.Text, " 1 3600 600 86400 300") {
				t.Errorf("manager's data is no longer serial 1:\n%s", d.Text)
			}
		})
	}
	p.mu.Lock()
	p.resp = nil
	p.mu.Unlock()
	p.set(fakeZone(5))
	h.m.Notify("contoso.lab.")
	h.waitSerial(t, 5)
	if r := h.snap.Load().Lookup("autodiscover.contoso.lab.", dns.TypeA); r.Kind != zones.KindAnswer ||
		r.Set.Default.RRs[0].(*dns.A).A.String() != "10.1.1.10" || len(r.Set.Default.RRs) != 1 {
		t.Errorf("autodiscover is not the overlay: %+v", r)
	}
}

// TestIXFRFallsBackToAXFR: an IXFR that does not apply (it deletes a record
// the zone lacks) is counted as an IXFR error, and an AXFR brings the zone.
func TestIXFRFallsBackToAXFR(t *testing.T) {
	p := startFake(t, fakeZone(1))
	h := newHarness(t, p)
	h.waitSerial(t, 1)
	st := h.m.zones["contoso.lab."].stats
	p.mu.Lock()
	p.resp = func(rrs []dns.RR) []dns.RR {
		old, _ := dns.NewRR("contoso.lab. 3600 IN SOA dc1.contoso.lab. h.contoso.lab. 1 3600 600 86400 300")
		gone, _ := dns.NewRR("nope.contoso.lab. 300 IN A 10.0.0.1")
		return []dns.RR{rrs[0], old, gone, rrs[0], rrs[0]}
	}
	p.mu.Unlock()
	p.set(fakeZone(2))
	// The AXFR that follows must get the zone: answer AXFR normally.
	p.mu.Lock()
	ixfr := p.resp
	p.resp = func(rrs []dns.RR) []dns.RR {
		p.mu.Lock()
		p.resp = nil // the next request (the AXFR) gets the whole zone
		p.mu.Unlock()
		return ixfr(rrs)
	}
	p.mu.Unlock()
	h.m.Notify("contoso.lab.")
	h.waitSerial(t, 2)
	if e, a := st.transfers[1][1].Load(), st.transfers[0][0].Load(); e != 1 || a != 2 {
		t.Errorf("IXFR errors %d, AXFR successes %d; want 1 and 2", e, a)
	}
}
