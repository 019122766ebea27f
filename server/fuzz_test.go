package server

import (
	"io"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sitedns/sitedns/metrics"
)

// seedQueries are real queries of every kind the server answers.
func seedQueries() []*dns.Msg {
	var out []*dns.Msg
	add := func(name string, qtype uint16, edit func(*dns.Msg)) {
		m := newQuery(name, qtype)
		if edit != nil {
			edit(m)
		}
		out = append(out, m)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"affinityus.contoso.lab", dns.TypeA},
		{"AutoDiscover.CONTOSO.lab", dns.TypeA},
		{"autodiscover.contoso.lab", dns.TypeAAAA},
		{"big.contoso.lab", dns.TypeA},
		{"www.contoso.lab", dns.TypeA},
		{"loop1.contoso.lab", dns.TypeA},
		{"dangling.contoso.lab", dns.TypeA},
		{"a.b.wild.contoso.lab", dns.TypeTXT},
		{"host.lab2.contoso.lab", dns.TypeA},
		{"_sipinternaltls._tcp.contoso.lab", dns.TypeSRV},
		{"contoso.lab", dns.TypeANY},
		{"contoso.lab", dns.TypeMX},
		{"contoso.lab", dns.TypeAXFR},
		{"nope.contoso.lab", dns.TypeA},
		{"www.example.com", dns.TypeA},
	} {
		add(q.name, q.qtype, nil)
	}
	add("autodiscover.contoso.lab", dns.TypeA, func(m *dns.Msg) { withECS(m, "127.2.1.0", 24) })
	add("autodiscover.contoso.lab", dns.TypeA, func(m *dns.Msg) { withECS(m, "2001:db8::", 56) })
	add("big.contoso.lab", dns.TypeA, func(m *dns.Msg) { m.SetEdns0(512, true) })
	add("affinityus.contoso.lab", dns.TypeA, func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		m.IsEdns0().SetVersion(1)
	})
	add("version.bind", dns.TypeTXT, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS })
	add("contoso.lab", dns.TypeSOA, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify })
	return out
}

// FuzzServePacket: whatever arrives, ServePacket does not panic, and it
// either stays silent (only for a response or less than a header) or sends
// a message that parses, is a response, and carries the query's ID.
func FuzzServePacket(f *testing.F) {
	for _, m := range seedQueries() {
		p, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p, false, uint8(77))
		f.Add(p, true, uint8(5))
	}
	f.Add([]byte{}, false, uint8(0))
	f.Add([]byte{0x12}, false, uint8(0))
	f.Add([]byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xC0, 0x0C}, false, uint8(0))

	// Every error the server logs is a recovered panic or a response that
	// could not be packed: both fail the property.
	var panics atomic.Int64
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.DebugLevel),
		zap.Hooks(func(e zapcore.Entry) error {
			if e.Level >= zapcore.ErrorLevel {
				panics.Add(1)
			}
			return nil
		}))
	s := New(Config{Logger: logger}, labSnapshot(f, "lab.toml"))

	f.Fuzz(func(t *testing.T, p []byte, tcp bool, host uint8) {
		tr := metrics.UDP
		if tcp {
			tr = metrics.TCP
		}
		src := "127.2.1." + strconv.Itoa(int(host))
		if host%3 == 0 {
			src = "127.5.0.1" // allowed to transfer zones
		}
		in := append([]byte(nil), p...)
		out := s.ServePacket(nil, p, addrPort(t, src), tr)
		if string(in) != string(p) {
			t.Fatal("ServePacket changed its input")
		}
		checkReply(t, p, out)
		if tr == metrics.UDP && len(out) > maxUDPSize {
			t.Fatalf("UDP reply of %d bytes", len(out))
		}
		if n := panics.Load(); n > 0 {
			t.Fatalf("%d panics recovered or errors logged", n)
		}
	})
}
