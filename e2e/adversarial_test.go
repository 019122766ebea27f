package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The tests in this file turn the findings of an adversarial run into
// checks on the real binary: each failed on the code before its fix.

// floodConfig writes a config with the zone flood.lab: "wide" with n A
// records, "*.bigwild" with w A records (a wildcard flood's target), and
// extra lines appended (an [rrl] table, say); it returns its path.
func floodConfig(t *testing.T, server string, n, w int, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nclient_subnet = false\n%s\n", server)
	b.WriteString(`[[zone]]
origin = "flood.lab"
records = [
  "@ 3600 IN SOA ns1.flood.lab. hostmaster.flood.lab. 1 3600 600 86400 300",
  "@ 3600 IN NS ns1.flood.lab.",
  "ns1 3600 IN A 127.1.1.53",
  "small 300 IN A 127.1.1.10",
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  \"wide 300 IN A 127.8.%d.%d\",\n", i/200, 1+i%200)
	}
	for i := 0; i < w; i++ {
		fmt.Fprintf(&b, "  \"*.bigwild 300 IN A 127.9.%d.%d\",\n", i/200, 1+i%200)
	}
	b.WriteString("]\n")
	b.WriteString(extra)
	p := filepath.Join(t.TempDir(), "flood.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ednsQuery is a query offering an EDNS payload size of size.
func ednsQuery(name string, qtype uint16, size uint16) *dns.Msg {
	m := newQuery(name, qtype)
	m.SetEdns0(size, false)
	return m
}

// TestMaxUDPSize: a client offering 4096 bytes gets UDP answers of at most
// 1232 bytes (the default max_udp_size): one that does not fit comes
// truncated, whole over TCP; max_udp_size raises the cap.
func TestMaxUDPSize(t *testing.T) {
	for _, tc := range []struct {
		server string
		limit  int
	}{
		{"", 1232},
		{"max_udp_size = 4096", 4096},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			in := start(t, "-config", floodConfig(t, tc.server, 100, 0, ""))
			for _, name := range []string{"small.flood.lab", "wide.flood.lab", "x.bigwild.flood.lab"} {
				q := ednsQuery(name, dns.TypeA, 4096)
				r := in.query(t, "udp", "127.2.1.5", q)
				size := r.Len()
				t.Logf("%s over UDP offering 4096: %d bytes, %d records, TC=%v", name, size, len(r.Answer), r.Truncated)
				if size > tc.limit {
					t.Errorf("%s: %d-byte UDP answer, over the %d-byte cap", name, size, tc.limit)
				}
				tcp := in.query(t, "tcp", "127.2.1.5", ednsQuery(name, dns.TypeA, 4096))
				if fits := tcp.Len() <= tc.limit; r.Truncated == fits || (fits && len(r.Answer) != len(tcp.Answer)) {
					t.Errorf("%s: UDP %d records TC=%v, TCP %d records in %d bytes", name, len(r.Answer), r.Truncated, len(tcp.Answer), tcp.Len())
				}
			}
		})
	}
}
