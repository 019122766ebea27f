package ordering

import (
	"net/netip"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func TestSitesLookup(t *testing.T) {
	sites, err := NewSites([][]netip.Prefix{
		prefixes("10.0.0.0/8", "2001:db8::/32"),             // 1: a catch-all
		prefixes("10.2.0.0/16", "2001:db8:2::/48"),          // 2: Chicago
		prefixes("10.2.1.0/24"),                             // 3: a lab inside Chicago
		prefixes("192.168.7.9/16", "::ffff:172.16.0.0/108"), // 4: host bits set; 4in6
		nil,                   // 5: no subnets
		prefixes("0.0.0.0/0"), // 6: IPv4 default
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr       string
		site, bits int
	}{
		{"10.2.3.4", 2, 16},
		{"10.2.1.77", 3, 24},
		{"10.9.9.9", 1, 8},
		{"::ffff:10.2.3.4", 2, 16},
		{"2001:db8:2::1", 2, 48},
		{"2001:db8:3::1", 1, 32},
		{"2001:db9::1", 0, 0},
		{"192.168.200.1", 4, 16},
		{"172.16.1.1", 4, 12},
		{"::ffff:172.16.1.1", 4, 12},
		{"8.8.8.8", 6, 0},
		{"", 0, 0},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		site, bits := sites.Lookup(a)
		if site != tt.site || bits != tt.bits {
			t.Errorf("Lookup(%s) = %d, %d; want %d, %d", tt.addr, site, bits, tt.site, tt.bits)
		}
	}

	var none *Sites
	if site, bits := none.Lookup(netip.MustParseAddr("10.2.3.4")); site != 0 || bits != 0 {
		t.Errorf("nil Sites: Lookup = %d, %d", site, bits)
	}
	empty, err := NewSites(nil)
	if err != nil {
		t.Fatal(err)
	}
	if site, bits := empty.Lookup(netip.MustParseAddr("10.2.3.4")); site != 0 || bits != 0 {
		t.Errorf("empty Sites: Lookup = %d, %d", site, bits)
	}
}

func TestNewSitesErrors(t *testing.T) {
	tests := []struct {
		name    string
		subnets [][]netip.Prefix
		want    string // "" for success
	}{
		{"duplicate", [][]netip.Prefix{prefixes("10.0.0.0/8"), prefixes("10.2.0.0/16"), prefixes("10.2.0.0/16")},
			"prefix 10.2.0.0/16 is listed for both site 2 and site 3"},
		{"duplicate-masked", [][]netip.Prefix{prefixes("10.2.3.4/16"), prefixes("10.2.0.0/16")},
			"prefix 10.2.0.0/16 is listed for both site 1 and site 2"},
		{"duplicate-4in6", [][]netip.Prefix{prefixes("10.2.0.0/16"), prefixes("::ffff:10.2.0.0/112")},
			"prefix 10.2.0.0/16 is listed for both site 1 and site 2"},
		{"duplicate-ipv6", [][]netip.Prefix{prefixes("2001:db8::/32"), nil, prefixes("2001:db8::1/32")},
			"prefix 2001:db8::/32 is listed for both site 1 and site 3"},
		{"invalid", [][]netip.Prefix{{netip.Prefix{}}}, "site 1: invalid prefix"},
		{"same-site-twice", [][]netip.Prefix{prefixes("10.2.0.0/16", "10.2.9.9/16")}, ""},
		{"nested", [][]netip.Prefix{prefixes("10.0.0.0/8"), prefixes("10.0.0.0/9")}, ""},
	}
	for _, tt := range tests {
		_, err := NewSites(tt.subnets)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}
