package loadtest

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// normalizeDown checks and normalises Config.Down: an address as the report
// writes it, or a host name (an SRV, MX or CNAME target) fully qualified
// and in lower case.
func normalizeDown(down []string) ([]string, error) {
	out := make([]string, 0, len(down))
	for _, d := range down {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		if a, err := netip.ParseAddr(d); err == nil {
			out = append(out, a.Unmap().String())
			continue
		}
		n := dns.Fqdn(strings.ToLower(d))
		if _, ok := dns.IsDomainName(n); !ok || strings.ContainsAny(d, "/: ") {
			return nil, fmt.Errorf("loadtest: down target %q: want an address or a host name", d)
		}
		out = append(out, n)
	}
	return out, nil
}

// holdsDown reports whether targets holds one of down.
func holdsDown(targets, down []string) bool {
	for _, t := range targets {
		for _, d := range down {
			if t == d {
				return true
			}
		}
	}
	return false
}
