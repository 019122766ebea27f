package notify

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

// listener is a UDP peer that records the NOTIFY messages it gets and
// answers them with rcode.
func listener(t *testing.T, rcode int) (netip.AddrPort, chan *dns.Msg) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan *dns.Msg, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:n]) != nil {
				continue
			}
			got <- m
			r := new(dns.Msg)
			r.SetRcode(m, rcode)
			b, _ := r.Pack()
			pc.WriteTo(b, from)
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String()), got
}

func zone(origin string, serial uint32, to ...netip.AddrPort) *zones.Zone {
	return &zones.Zone{Origin: origin, AlsoNotify: to,
		SOA: &dns.SOA{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600}, Ns: "ns." + origin, Mbox: "h." + origin, Serial: serial}}
}

// TestChanged: a zone whose serial changed is announced to each also_notify
// address with its SOA; an unchanged one is not.
func TestChanged(t *testing.T) {
	a, got := listener(t, dns.RcodeSuccess)
	s := New(context.Background(), nil)
	old := &zones.Snapshot{Zones: []*zones.Zone{zone("contoso.lab.", 1, a), zone("fabrikam.lab.", 5, a)}}
	cur := &zones.Snapshot{Zones: []*zones.Zone{zone("contoso.lab.", 2, a), zone("fabrikam.lab.", 5, a)}}
	s.Changed(old, cur)
	select {
	case m := <-got:
		if m.Opcode != dns.OpcodeNotify || m.Question[0].Name != "contoso.lab." || m.Question[0].Qtype != dns.TypeSOA ||
			len(m.Answer) != 1 || m.Answer[0].(*dns.SOA).Serial != 2 {
			t.Errorf("NOTIFY: %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY")
	}
	select {
	case m := <-got:
		t.Errorf("unexpected second NOTIFY: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestRetry: a NOTIFY answered with an error is sent again.
func TestRetry(t *testing.T) {
	a, got := listener(t, dns.RcodeRefused)
	s := New(context.Background(), nil)
	s.timeout = 50 * time.Millisecond
	s.tries = 3
	s.Changed(nil, &zones.Snapshot{Zones: []*zones.Zone{zone("contoso.lab.", 1, a)}})
	for i := range 3 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("try %d never came", i+1)
		}
	}
}

// TestSigned: with the zone's transfer_tsig key, the NOTIFY is signed with
// it (the peer verifies it) and a response must be signed too: an unsigned
// one counts as no answer, and the NOTIFY is sent again.
func TestSigned(t *testing.T) {
	key := &zones.TSIGKey{Name: "xfr-key.", Algorithm: dns.HmacSHA256, Secret: "c2l0ZWRucy10ZXN0LXNlY3JldC0zMmJ5dGVzLWxvbmc="}
	peer := func(signReply bool) (netip.AddrPort, chan error) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 16)
		srv := &dns.Server{PacketConn: pc, TsigSecret: map[string]string{key.Name: key.Secret},
			Handler: dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
				got <- w.TsigStatus()
				if m.IsTsig() == nil {
					got <- errUnsigned
				}
				r := new(dns.Msg)
				r.SetReply(m)
				if signReply {
					r.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
				}
				w.WriteMsg(r)
			})}
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
		return netip.MustParseAddrPort(pc.LocalAddr().String()), got
	}

	a, got := peer(true)
	s := New(context.Background(), nil)
	z := zone("contoso.lab.", 2, a)
	z.TransferTSIG = key
	s.Changed(nil, &zones.Snapshot{Zones: []*zones.Zone{z}})
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the peer's check of the NOTIFY's TSIG: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY")
	}
	select {
	case err := <-got:
		t.Errorf("a second NOTIFY after a signed answer (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}

	b, got := peer(false)
	// A sender of its own: the first one's goroutine may still be reading
	// its settings.
	s = New(context.Background(), nil)
	s.timeout, s.tries = 50*time.Millisecond, 2
	z = zone("contoso.lab.", 3, b)
	z.TransferTSIG = key
	s.Changed(nil, &zones.Snapshot{Zones: []*zones.Zone{z}})
	for i := range 2 {
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("try %d: %v", i+1, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("try %d never came: an unsigned answer was taken", i+1)
		}
	}
}

var errUnsigned = errors.New("NOTIFY not signed")
