package ordering

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// Sites maps client addresses to sites by longest-prefix match. Immutable
// after construction; safe for concurrent use.
type Sites struct {
	// table holds every site subnet, IPv4 and IPv6, with the site it belongs
	// to and its length, so that Lookup is a single trie walk.
	table bart.Table[siteEntry]
	// regions partitions the whole address space, both families, into
	// the largest prefixes on which Lookup gives one site: each entry is
	// a region with its site and length, so that Region is a single trie
	// walk too (see Region).
	regions bart.Table[siteEntry]
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
	s.buildRegions()
	return s, nil
}

// Region returns the site of a (0 when none matches) and the length of the
// region around a: the shortest prefix containing a in which every address
// has that same site. Sites are then a function of the first bits of an
// address, so an answer that depends on the site alone holds for every
// client in that prefix: it is the ECS scope such an answer deserves (RFC
// 7871 §7.2.1).
//
// The region is at least as long as the subnet that matched, and longer
// where a more specific subnet of another site lies inside it: with
// 10.0.0.0/8 in site A and 10.2.0.0/16 in site B, 10.1.2.3 is in A within
// 10.0.0.0/15 (10.0.0.0/14 would hold part of B). A client in no site gets
// the shortest prefix around it that overlaps no site subnet (0.0.0.0/0
// without sites), never the whole address unless a subnet is that close.
//
// An IPv4-mapped IPv6 address is looked up as the IPv4 address it maps, and
// its region counted in IPv4 bits, as Lookup does; an IPv6 region never
// holds the IPv4-mapped ::ffff:0:0/96 together with addresses of another
// site. It never allocates. A nil *Sites puts every address in site 0 with
// region length 0.
func (s *Sites) Region(a netip.Addr) (site int, bits int) {
	if s == nil {
		return 0, 0
	}
	e, ok := s.regions.Lookup(a.Unmap())
	if !ok {
		return 0, 0 // unreachable: the regions cover every valid address
	}
	return int(e.site), int(e.bits)
}

// regionSubnet is one subnet of a site while the regions are built.
type regionSubnet struct {
	p    netip.Prefix
	site int32
}

// buildRegions partitions each family's address space into regions (see
// Region). The partition is made top down: a prefix whose every subnet
// strictly inside it belongs to the site the prefix is in is a region;
// any other is split in two halves, each in the site of the subnet equal
// to it, if any, else of its parent, and the halves merged again when they
// turn out to be one region. Only prefixes on the path to a subnet of
// another site are split, so the table holds at most two regions per level
// per subnet: 64 or 256 times the subnets, built in time proportional to
// that.
func (s *Sites) buildRegions() {
	var v4, v6 []regionSubnet
	for p, e := range s.table.All() {
		if p.Addr().Is4() {
			v4 = append(v4, regionSubnet{p, e.site})
			// The same subnet as IPv4-mapped IPv6, so that an IPv6
			// region is never sound for a mapped address and wrong
			// for the IPv4 one it maps.
			m := netip.AddrFrom16(p.Addr().As16())
			v6 = append(v6, regionSubnet{netip.PrefixFrom(m, 96+p.Bits()), e.site})
		} else {
			v6 = append(v6, regionSubnet{p, e.site})
		}
	}
	for _, subs := range [][]regionSubnet{v4, v6} {
		slices.SortFunc(subs, func(a, b regionSubnet) int {
			if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
				return c
			}
			return cmp.Compare(a.p.Bits(), b.p.Bits())
		})
	}
	for _, f := range []struct {
		all  netip.Prefix
		subs []regionSubnet
	}{{netip.PrefixFrom(netip.IPv4Unspecified(), 0), v4}, {netip.PrefixFrom(netip.IPv6Unspecified(), 0), v6}} {
		if one, site := s.regionsIn(f.all, f.subs, 0); one {
			s.addRegion(f.all, site)
		}
	}
}

// regionsIn adds the regions inside block, which is in site bg, given the
// subnets inside it (sorted by address, then length; the first may be
// block itself), and reports whether block is one region, which it then
// leaves to the caller to add: two halves of one site make one region
// even when neither is a subnet (two /25s of one site are its /24).
func (s *Sites) regionsIn(block netip.Prefix, subs []regionSubnet, bg int32) (one bool, site int32) {
	if len(subs) > 0 && subs[0].p == block {
		bg = subs[0].site
		subs = subs[1:]
	}
	if !slices.ContainsFunc(subs, func(x regionSubnet) bool { return x.site != bg }) {
		return true, bg
	}
	// subs is not empty, so block is shorter than the address.
	bits := block.Bits() + 1
	lo := netip.PrefixFrom(block.Addr(), bits)
	hi := netip.PrefixFrom(withBit(block.Addr(), block.Bits()), bits)
	i, _ := slices.BinarySearchFunc(subs, hi.Addr(), func(x regionSubnet, a netip.Addr) int {
		return x.p.Addr().Compare(a)
	})
	oneLo, siteLo := s.regionsIn(lo, subs[:i], bg)
	oneHi, siteHi := s.regionsIn(hi, subs[i:], bg)
	if oneLo && oneHi && siteLo == siteHi {
		return true, siteLo
	}
	if oneLo {
		s.addRegion(lo, siteLo)
	}
	if oneHi {
		s.addRegion(hi, siteHi)
	}
	return false, 0
}

func (s *Sites) addRegion(p netip.Prefix, site int32) {
	s.regions.Insert(p, siteEntry{site: site, bits: uint8(p.Bits())})
}

// withBit returns a with bit i (0 the most significant) set.
func withBit(a netip.Addr, i int) netip.Addr {
	if a.Is4() {
		b := a.As4()
		b[i/8] |= 0x80 >> (i % 8)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	b[i/8] |= 0x80 >> (i % 8)
	return netip.AddrFrom16(b)
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
