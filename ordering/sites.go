package ordering

import (
	"fmt"
	"net/netip"

	"github.com/gaissmai/bart"
)

// Sites maps client addresses to sites by longest-prefix match. Immutable
// after construction; safe for concurrent use.
type Sites struct {
	// table holds every site subnet, IPv4 and IPv6, with the site it belongs
	// to and its length, so that Lookup is a single trie walk.
	table bart.Table[siteEntry]
}

// siteEntry is the value stored for one subnet.
type siteEntry struct {
	site int32
	bits uint8
}

// NewSites builds the table. subnets[i] are the subnets of site i+1; site 0
// is "unknown" (no match). It fails on a prefix listed for two sites.
//
// Prefixes are compared masked (10.2.3.4/16 is 10.2.0.0/16), and an
// IPv4-mapped IPv6 prefix of length 96 or more is stored as the IPv4 prefix it
// maps, since Lookup unmaps client addresses. Listing a prefix twice for the
// same site is harmless and accepted.
func NewSites(subnets [][]netip.Prefix) (*Sites, error) {
	s := &Sites{}
	for i, ps := range subnets {
		site := i + 1
		for _, p := range ps {
			if !p.IsValid() {
				return nil, fmt.Errorf("site %d: invalid prefix %s", site, p)
			}
			q := canonicalPrefix(p)
			if e, ok := s.table.Get(q); ok {
				if int(e.site) == site {
					continue
				}
				return nil, fmt.Errorf("prefix %s is listed for both site %d and site %d", q, e.site, site)
			}
			s.table.Insert(q, siteEntry{site: int32(site), bits: uint8(q.Bits())})
		}
	}
	return s, nil
}

// canonicalPrefix masks p and turns an IPv4-mapped IPv6 prefix into IPv4.
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Lookup returns the site of a (0 when none matches) and the length of the
// prefix that matched (0 when none). An IPv4-mapped IPv6 address is looked up
// as the IPv4 address it maps. It never allocates. A nil *Sites matches
// nothing.
func (s *Sites) Lookup(a netip.Addr) (site int, bits int) {
	if s == nil {
		return 0, 0
	}
	e, ok := s.table.Lookup(a.Unmap())
	if !ok {
		return 0, 0
	}
	return int(e.site), int(e.bits)
}
