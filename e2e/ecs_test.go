package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// digECS is what a dig reply shows of ECS and the records.
type digECS struct {
	scope  string   // the SCOPE of the CLIENT-SUBNET line
	answer []string // the answer section's RDATA, in order
	extra  []string // the additional section's RDATA, in order
}

var digSubnet = regexp.MustCompile(`(?m)^; CLIENT-SUBNET: \S+/\d+/(\d+)$`)

// parseDigECS reads dig's full output.
func parseDigECS(t *testing.T, out string) digECS {
	t.Helper()
	var r digECS
	m := digSubnet.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no CLIENT-SUBNET in dig output:\n%s", out)
	}
	r.scope = m[1]
	var sec *[]string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, ";; ANSWER SECTION:"):
			sec = &r.answer
		case strings.HasPrefix(line, ";; ADDITIONAL SECTION:"):
			sec = &r.extra
		case strings.HasPrefix(line, ";;") || strings.TrimSpace(line) == "":
			sec = nil
		case sec != nil:
			f := strings.Fields(line)
			*sec = append(*sec, strings.Join(f[4:], " "))
		}
	}
	return r
}

// TestECSScope asks the real server with dig +subnet for each way an answer
// depends on the client (testdata/config/good/ecs.toml, the examples of
// docs/ecs.md) and checks the SCOPE dig shows: the longest prefix the
// answer depended on, so that a resolver's cache never hands one client's
// answer to a client that would get another.
func TestECSScope(t *testing.T) {
	// One reader: the no-site cases' default set rotates, query after query.
	in := start(t, "-config", testdata("config", "good", "ecs.toml"), "-udp-workers", "1")
	cases := []struct {
		name   string
		args   []string
		scope  string
		answer []string
		extra  []string
	}{
		// netmask 0x0000003F: two /26s of one /24 get different local-first
		// orders, so the scope is /26, not /24.
		{"netmask /26, first network", []string{"+subnet=10.2.1.5/32", "cas26.example.lab"}, "26",
			[]string{"10.2.1.10", "10.2.1.200"}, nil},
		{"netmask /26, last network", []string{"+subnet=10.2.1.201/32", "cas26.example.lab"}, "26",
			[]string{"10.2.1.200", "10.2.1.10"}, nil},
		// A /24 source under a /26 netmask: the answer needs a longer
		// prefix than the client gave (RFC 7871 §7.2.1, scope > source).
		{"netmask /26, /24 source", []string{"+subnet=10.2.1.0/24", "cas26.example.lab"}, "26",
			[]string{"10.2.1.10", "10.2.1.200"}, nil},
		// ipv6_prefix = 96: two /96s of one /64.
		{"ipv6_prefix 96, first", []string{"+subnet=2001:db8:11::1:0:5/128", "cas6.example.lab", "AAAA"}, "96",
			[]string{"2001:db8:11::1:0:10", "2001:db8:11::2:0:10"}, nil},
		{"ipv6_prefix 96, second", []string{"+subnet=2001:db8:11::2:0:5/128", "cas6.example.lab", "AAAA"}, "96",
			[]string{"2001:db8:11::2:0:10", "2001:db8:11::1:0:10"}, nil},
		// An SRV record whose target is site-aware: the additional section
		// holds the site's CAS, so the scope is the site's region: /16 for
		// Hamburg, /17 for Chicago, whose other half is the lab's.
		{"SRV, site-aware target, Hamburg", []string{"+subnet=10.11.1.0/24", "_autodiscover._tcp.example.lab", "SRV"}, "16",
			[]string{"0 0 443 autodiscover.example.lab."}, []string{"10.11.1.10"}},
		{"SRV, site-aware target, Chicago", []string{"+subnet=10.2.1.0/24", "_autodiscover._tcp.example.lab", "SRV"}, "17",
			[]string{"0 0 443 autodiscover.example.lab."}, []string{"10.2.1.10"}},
		{"SRV, site-aware target, the lab", []string{"+subnet=10.2.200.0/24", "_autodiscover._tcp.example.lab", "SRV"}, "17",
			[]string{"0 0 443 autodiscover.example.lab."}, []string{"10.2.200.10"}},
		// A client in no site: the shortest prefix around it that holds no
		// site subnet and no record's network, not /32: 196.0.0.0/6 holds
		// no site, and 192.0.2.0/24, the records' network, is outside it;
		// 10.3.0.0/16 is beside Chicago's 10.2.0.0/16.
		{"no site", []string{"+subnet=198.51.100.0/24", "autodiscover.example.lab"}, "6",
			[]string{"192.0.2.10", "192.0.2.11"}, nil},
		{"no site, beside a site", []string{"+subnet=10.3.1.7/32", "autodiscover.example.lab"}, "16",
			[]string{"192.0.2.11", "192.0.2.10"}, nil},
		{"no site, in the records' network", []string{"+subnet=192.0.2.0/24", "autodiscover.example.lab"}, "24",
			[]string{"192.0.2.10", "192.0.2.11"}, nil},
		// Nothing depended on the address.
		{"plain name", []string{"+subnet=10.2.1.0/24", "ns1.example.lab"}, "0", []string{"192.0.2.53"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := in.dig(t, append([]string{"+nocookie"}, c.args...)...)
			r := parseDigECS(t, out)
			if r.scope != c.scope || !slices.Equal(r.answer, c.answer) || !slices.Equal(r.extra, c.extra) {
				t.Errorf("dig %s: scope /%s, answer %q, additional %q; want /%s, %q, %q\n%s",
					strings.Join(c.args, " "), r.scope, r.answer, r.extra, c.scope, c.answer, c.extra, out)
			}
		})
	}
}

// TestHeaderBits: dig +cdflag gets an authoritative answer without CD, as
// from NSD and Knot; an opcode we do not implement gets NOTIMP with neither
// RD nor CD echoed.
func TestHeaderBits(t *testing.T) {
	in := start(t, "-config", testdata("config", "good", "ecs.toml"))
	out := in.dig(t, "+cdflag", "+rdflag", "ns1.example.lab")
	status, flags := digHeader(t, out)
	if status != "NOERROR" || !slices.Equal(flags, []string{"qr", "aa", "rd"}) {
		t.Errorf("dig +cdflag: status %s flags %v, want NOERROR qr aa rd:\n%s", status, flags, out)
	}
	out = in.dig(t, "+opcode=3", "+cdflag", "+rdflag", "+noedns", "ns1.example.lab")
	status, flags = digHeader(t, out)
	if status != "NOTIMP" || !slices.Equal(flags, []string{"qr"}) {
		t.Errorf("dig +opcode=3 +cdflag +rdflag: status %s flags %v, want NOTIMP qr:\n%s", status, flags, out)
	}
}
