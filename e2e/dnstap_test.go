package e2e

import (
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tap "github.com/dnstap/golang-dnstap"
	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"
)

// rawExchange sends the packed query q over UDP from src to addr and returns
// the response as received.
func rawExchange(t *testing.T, addr, src string, q []byte) []byte {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no response from %s: %v", addr, err)
	}
	return buf[:n]
}

// TestDnstap starts sitedns with -dnstap to a Unix socket where a
// golang-dnstap reader listens, sends queries from several sites (one with
// ECS), and finds for each an AUTH_QUERY frame holding the query's bytes and
// an AUTH_RESPONSE frame holding the response's, both with the decision in
// the extra field.
func TestDnstap(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dnstap.sock")
	in0, err := tap.NewFrameStreamSockInputFromPath(sock)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 256)
	go in0.ReadInto(frames)

	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-dnstap", "unix:"+sock)
	cases := []struct {
		src   string
		m     *dns.Msg
		extra string
	}{
		{chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA), "site=US-Chicago scope=US"},
		{unknownClient, newQuery("autodiscover.contoso.lab", dns.TypeA), "site=unknown scope=default"},
		{hamburgClient, newQuery("affinityus.contoso.lab", dns.TypeA), "site=DE-Hamburg scope=default"},
		// ecs_scope is the response's own, appended below.
		{unknownClient, ecsQuery("autodiscover.contoso.lab", dns.TypeA, "127.13.7.0", 24), "site=DE-Leipzig scope=DE ecs=127.13.7.0/24"},
		{floridaClient, newQuery("nosuch.contoso.lab", dns.TypeA), "site=US-Florida"},
	}
	type sent struct{ query, response []byte }
	var want []sent
	for i := range cases {
		c := &cases[i]
		q, err := c.m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		r := rawExchange(t, in.DNS, c.src, q)
		want = append(want, sent{q, r})
		var m dns.Msg
		if err := m.Unpack(r); err != nil {
			t.Fatal(err)
		}
		if o := m.IsEdns0(); o != nil {
			for _, opt := range o.Option {
				if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
					cases[len(want)-1].extra += " ecs_scope=" + strconv.Itoa(int(e.SourceScope))
				}
			}
		}
	}
	if !strings.Contains(cases[3].extra, "ecs_scope=") {
		t.Fatalf("the ECS query's response has no ECS option")
	}

	// Frames arrive in the order the queries were answered, a query's
	// AUTH_QUERY right before its AUTH_RESPONSE.
	deadline := time.After(20 * time.Second)
	for i, c := range cases {
		for _, typ := range []tap.Message_Type{tap.Message_AUTH_QUERY, tap.Message_AUTH_RESPONSE} {
			var f []byte
			select {
			case f = <-frames:
			case <-deadline:
				t.Fatalf("query %d (%s from %s): no %v frame within 20s", i, c.m.Question[0].Name, c.src, typ)
			}
			var d tap.Dnstap
			if err := proto.Unmarshal(f, &d); err != nil {
				t.Fatal(err)
			}
			m := d.GetMessage()
			where := strconv.Itoa(i) + " " + c.m.Question[0].Name + " from " + c.src + " " + typ.String()
			if m.GetType() != typ {
				t.Fatalf("%s: a %v frame", where, m.GetType())
			}
			if string(d.GetExtra()) != c.extra {
				t.Errorf("%s: extra %q, want %q", where, d.GetExtra(), c.extra)
			}
			if !net.IP(m.GetQueryAddress()).Equal(net.ParseIP(c.src)) || m.GetSocketProtocol() != tap.SocketProtocol_UDP || m.GetSocketFamily() != tap.SocketFamily_INET {
				t.Errorf("%s: from %v over %v %v", where, net.IP(m.GetQueryAddress()), m.GetSocketFamily(), m.GetSocketProtocol())
			}
			if !strings.HasPrefix(string(d.GetVersion()), "sitedns") {
				t.Errorf("%s: version %q", where, d.GetVersion())
			}
			switch typ {
			case tap.Message_AUTH_QUERY:
				if !bytes.Equal(m.GetQueryMessage(), want[i].query) {
					t.Errorf("%s: query bytes %x, sent %x", where, m.GetQueryMessage(), want[i].query)
				}
			default:
				if !bytes.Equal(m.GetResponseMessage(), want[i].response) {
					t.Errorf("%s: response bytes %x, received %x", where, m.GetResponseMessage(), want[i].response)
				}
			}
		}
	}
}

// TestDnstapNoReader: with -dnstap to a socket nobody listens on, sitedns
// answers as it does without, and counts the messages it drops.
func TestDnstapNoReader(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nobody.sock")
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-dnstap", "unix:"+sock, "-dnstap-queue", "8")
	const n = 200
	for i := range n {
		r := in.query(t, "udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || firstA(t, r) != "127.2.1.10" {
			t.Fatalf("query %d: %v", i, r)
		}
	}
	code, body := in.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: status %d", code)
	}
	series := parseSeries(t, []byte(body))
	// The writer holds one answered query while it waits for a reader, the
	// queue eight: every other query's two messages are dropped.
	if d := series["sitedns_dnstap_dropped_total"]; d < 2*(n-9) {
		t.Errorf("sitedns_dnstap_dropped_total = %v, want at least %d", d, 2*(n-9))
	}
	if w := series["sitedns_dnstap_messages_total"]; w != 0 {
		t.Errorf("sitedns_dnstap_messages_total = %v with no reader", w)
	}
}

// TestDecisionLog: with -log-level debug, sitedns logs one "answered" line
// per query with what it decided for the client.
func TestDecisionLog(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "loopback.toml"), "-log-level", "debug")
	r := in.query(t, "udp", chicagoClient, newQuery("autodiscover.contoso.lab", dns.TypeA))
	if firstA(t, r) != "127.2.1.10" {
		t.Fatalf("answer %v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(in.Log(), "\n") {
			if strings.Contains(line, `"msg":"answered"`) && strings.Contains(line, `"name":"autodiscover.contoso.lab."`) {
				for _, want := range []string{`"logger":"decision"`, `"level":"debug"`, `"client":"` + chicagoClient + `:`, `"site":"US-Chicago"`, `"scope":"US"`, `"qtype":"A"`, `"rcode":"NOERROR"`} {
					if !strings.Contains(line, want) {
						t.Errorf("decision log line lacks %s: %s", want, line)
					}
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision log line within 10s:\n%s", in.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
