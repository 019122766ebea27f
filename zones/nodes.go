package zones

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/ordering"
)

// newNode makes the node of name in z.
func (c *compiler) newNode(z *Zone, name string) *Node {
	n := c.mem.nodes.new()
	n.Name = name
	z.Nodes[name] = n
	c.nodes = append(c.nodes, n)
	return n
}

// noTable is the [[zone.name]] of the names without one. Read only.
var noTable nameTable

// node compiles the sets ns of node n of z.
func (c *compiler) node(z *Zone, n *Node, ns *nameSets, zpol policy) {
	owner := n.Name
	tb := ns.table
	if tb == nil {
		tb = &noTable
	}
	pol := zpol
	if tb.pol != nil {
		pol = *tb.pol
	}
	byType := func(rs []record) map[uint16][]record {
		m := map[uint16][]record{}
		for _, r := range rs {
			t := r.rr.Header().Rrtype
			m[t] = append(m[t], r)
		}
		return m
	}
	if !tb.aware && sameType(ns.plain) {
		// The common name: plain records of one type. No maps to build.
		if len(ns.plain) > 0 {
			set := c.mem.sets.new()
			set.Type = ns.plain[0].rr.Header().Rrtype
			set.Default = c.answer(z, owner, "default", ns.plain, pol, false, c.siteRows(-1, nil))
			n.Sets = c.mem.setPtrs.take(1)
			n.Sets[0] = set
			c.checkedName(n, tb)
		} else if tb.where != 0 && z.Secondary == nil {
			c.add(tb.where, tb.wfield, owner, "no records for this name")
		}
		return
	}
	plain := byType(ns.plain)
	deflt := byType(tb.deflt)
	scoped := make(map[int]map[uint16][]record, len(tb.scoped))
	aware := map[uint16]bool{}
	for t := range deflt {
		aware[t] = true
	}
	for j, rs := range tb.scoped {
		scoped[j] = byType(rs)
		for t := range scoped[j] {
			aware[t] = true
		}
	}
	for t, rs := range plain {
		if aware[t] {
			c.addAt(rs[0], tb.wfield, owner, "%s records both in the zone and in the name's scopes; give them in one place", dns.TypeToString[t])
			continue
		}
		n.Sets = append(n.Sets, &RRset{Type: t, Default: c.answer(z, owner, "default", rs, pol, false, c.siteRows(-1, nil))})
	}
	for t := range aware {
		set := &RRset{Type: t, ByScope: make([]*Answer, len(c.scopeNames))}
		own := make([]bool, len(c.scopeNames)) // scopes with a set of their own
		for j, m := range scoped {
			own[j] = len(m[t]) > 0
		}
		if rs := deflt[t]; len(rs) > 0 {
			set.Default = c.answer(z, owner, "default", rs, pol, true, c.siteRows(-1, own))
		}
		for j, m := range scoped {
			if rs := m[t]; len(rs) > 0 {
				set.ByScope[j] = c.answer(z, owner, c.scopeNames[j], rs, pol, true, c.siteRows(j, nil))
			}
		}
		for len(set.ByScope) > 0 && set.ByScope[len(set.ByScope)-1] == nil {
			set.ByScope = set.ByScope[:len(set.ByScope)-1]
		}
		n.Sets = append(n.Sets, set)
	}
	if len(n.Sets) == 0 && tb.where != 0 && len(ns.plain) == 0 && z.Secondary == nil {
		c.add(tb.where, tb.wfield, owner, "no records for this name")
	}
	slices.SortFunc(n.Sets, func(a, b *RRset) int { return cmp.Compare(a.Type, b.Type) })
	c.checkedName(n, tb)
}

// checkedName reports a name whose check has nothing to check.
func (c *compiler) checkedName(n *Node, tb *nameTable) {
	if tb.checkLine != 0 && len(n.Sets) > 0 && !checkable(n.Sets) {
		c.add(tb.checkLine, tb.wfield+": check", n.Name, "the name has no A, AAAA or SRV records to check")
	}
}

// sameType reports whether every record of rs has the same type.
func sameType(rs []record) bool {
	for _, r := range rs[min(1, len(rs)):] {
		if r.rr.Header().Rrtype != rs[0].rr.Header().Rrtype {
			return false
		}
	}
	return true
}

// answer compiles one answer set: deduplicated records, their ordering and
// their counters. rows is the FirstRow table of the sites whose clients get
// the set (siteRows).
func (c *compiler) answer(z *Zone, owner, scope string, rs []record, pol policy, aware bool, rows siteRowTable) *Answer {
	rrs := c.mem.rrs.take(len(rs))[:0]
	weights := c.weights[:0]
	weighted := 0
	for _, r := range rs {
		dup := false
		for _, x := range rrs {
			if dns.IsDuplicate(x, r.rr) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		rrs = append(rrs, r.rr)
		weights = append(weights, int(r.weight))
		if r.weight > 0 {
			weighted++
		}
	}
	c.weights = weights[:0]
	t := rrs[0].Header().Rrtype
	if t == dns.TypeCNAME && len(rrs) > 1 {
		c.addAt(rs[1], "", owner, "more than one CNAME at one name (RFC 2181 §10.1)")
	}
	switch {
	case weighted == 0:
		weights = nil
	case weighted != len(rrs):
		c.addAt(rs[0], "weights", owner, "weights given for %d of the %d %s records; give all or none", weighted, len(rrs), dns.TypeToString[t])
		weights = nil
	}
	// One record of a plain name has no order: no ordering state (a zone of
	// a million one-address names would hold a million for nothing), and
	// its answer holds for every client (ECS scope 0).
	var set *ordering.Set
	if len(rrs) > 1 || aware || weights != nil {
		var err error
		set, err = ordering.NewSet(pol.Policy, c.addresses(rrs), !slices.Contains(pol.noRR, t), weights)
		if err != nil {
			c.addAt(rs[0], "ordering", owner, "%v", err)
		}
	}
	c.checkSize(owner, rrs, rs)
	a := c.mem.answers.new()
	*a = Answer{Scope: scope, RRs: rrs, Order: set, Wire: compileWire(rrs, &c.mem.wire)}
	if set != nil && len(rrs) > 1 {
		c.rotating = append(c.rotating, rotating{origin: z.Origin, owner: owner, qtype: t, scope: scope, a: a})
		c.rotation.Add(set)
	}
	z.Records += len(rrs)
	if appliesCheck(pol, t, len(rrs)) {
		c.checkAnswer(z, owner, a, rs, pol.check-1)
	}
	if counted(t) && (aware || len(rrs) > 1) {
		c.firstCounters(a, z.Origin, owner, scope, rows)
	}
	// A single record of a plain name has no order to count: leaving it out
	// keeps a zone of many one-address names from adding two series a name.
	if t == dns.TypeA && set != nil && set.ClientDependent() && (aware || len(rrs) > 1) {
		a.Local = c.labeledCounter(&c.labeled.Netmask, "netmask_matches", z.Origin, owner, "local")
		a.RemoteOnly = c.labeledCounter(&c.labeled.Netmask, "netmask_matches", z.Origin, owner, "remote_only")
	}
	return a
}

// addresses returns the address of each of rrs, the zero Addr for a record
// that holds none. The slice is c's scratch: valid until the next call.
func (c *compiler) addresses(rrs []dns.RR) []netip.Addr {
	addrs := slices.Grow(c.addrs[:0], len(rrs))[:len(rrs)]
	c.addrs = addrs
	for i, rr := range rrs {
		addrs[i] = netip.Addr{}
		switch v := rr.(type) {
		case *dns.A:
			addrs[i], _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			addrs[i], _ = netip.AddrFromSlice(v.AAAA.To16())
		}
	}
	return addrs
}

// counted reports whether answers of type t get per-target counters: the
// types whose first record picks a server.
func counted(t uint16) bool {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX, dns.TypeCNAME:
		return true
	}
	return false
}

// target is the target label of a record: the address, or the host name a
// client goes to next (an SRV target with its port).
func target(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.SRV:
		return strings.ToLower(v.Target) + ":" + strconv.Itoa(int(v.Port))
	case *dns.MX:
		return strings.ToLower(v.Mx)
	case *dns.CNAME:
		return strings.ToLower(v.Target)
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// apex sets the zone's SOA and NS, synthesising an SOA when the config gives
// none: "ns.<origin> hostmaster.<origin> 1 3600 600 86400 300" with TTL
// 3600, or the first apex NS as the primary when there is one.
func (c *compiler) apex(z *Zone, blk span, field string) {
	n := z.Nodes[z.Origin]
	if n == nil {
		n = c.newNode(z, z.Origin)
	}
	if ns := n.Set(dns.TypeNS); ns != nil && ns.Default != nil {
		z.NS = ns.Default.RRs
	}
	if s := n.Set(dns.TypeSOA); s != nil {
		if s.SiteAware() || s.Default == nil {
			c.add(c.loc.key(blk, "origin"), field, "", "the SOA cannot be site-aware")
			return
		}
		if len(s.Default.RRs) > 1 {
			c.add(c.loc.key(blk, "origin"), field, "", "more than one SOA")
		}
		z.SOA = s.Default.RRs[0].(*dns.SOA)
		z.NegativeSOA = negativeSOA(z.SOA)
		z.NegSOA = negativeSOAWire(z.NegativeSOA)
		return
	}
	mname := "ns." + z.Origin
	if len(z.NS) > 0 {
		mname = strings.ToLower(z.NS[0].(*dns.NS).Ns)
	}
	z.SOASynthesized = true
	z.SOA = &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.Origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns:      mname,
		Mbox:    "hostmaster." + z.Origin,
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  300,
	}
	z.NegativeSOA = negativeSOA(z.SOA)
	z.NegSOA = negativeSOAWire(z.NegativeSOA)
	set, _ := ordering.NewSet(ordering.DefaultPolicy(), []netip.Addr{{}}, false, nil)
	n.Sets = append(n.Sets, &RRset{Type: dns.TypeSOA, Default: &Answer{Scope: "default", RRs: []dns.RR{z.SOA}, Order: set, Wire: compileWire([]dns.RR{z.SOA}, &c.mem.wire)}})
	slices.SortFunc(n.Sets, func(a, b *RRset) int { return cmp.Compare(a.Type, b.Type) })
	z.Records++
}

// validate checks the rules that span RRsets: CNAME alone at its name, SOA
// at the apex only, nothing but glue below a delegation. It reports the
// problems of the names in name order.
func (c *compiler) validate(z *Zone, field string) {
	// at is a record of n to place an error at: its first plain record,
	// or its [[zone.name]] table.
	at := func(n *Node) record {
		ns := c.names[n.names]
		switch {
		case ns == nil:
			return record{src: &recordSrc{file: c.file}}
		case len(ns.plain) > 0:
			return ns.plain[0]
		case ns.table == nil:
			return record{src: &recordSrc{file: c.file}}
		}
		return record{src: &recordSrc{file: c.file}, line: int32(ns.table.where)}
	}
	// One pass in the order the nodes were made finds the few names to look
	// at closer; only those are sorted.
	var odd, cuts []*Node
	for _, n := range c.nodes {
		apex := n.Name == z.Origin
		if (n.Set(dns.TypeCNAME) != nil && len(n.Sets) > 1) || (!apex && n.Set(dns.TypeSOA) != nil) {
			odd = append(odd, n)
		}
		if !apex && n.Set(dns.TypeNS) != nil {
			n.Cut = true
			z.hasCuts = true
			cuts = append(cuts, n)
		}
	}
	slices.SortFunc(odd, byName)
	for _, n := range odd {
		o := n.Name
		if n.Set(dns.TypeCNAME) != nil && len(n.Sets) > 1 {
			var others []string
			for _, s := range n.Sets {
				if s.Type != dns.TypeCNAME {
					others = append(others, dns.TypeToString[s.Type])
				}
			}
			c.addAt(at(n), field, o, "CNAME beside other data (%s): a CNAME must be alone at its name (RFC 1034 §3.6.2)", strings.Join(others, ", "))
		}
		if o != z.Origin && n.Set(dns.TypeSOA) != nil {
			c.addAt(at(n), field, o, "SOA below the zone apex %s", z.Origin)
		}
	}
	if len(cuts) == 0 {
		return
	}
	slices.SortFunc(cuts, byName)
	var below []*Node // at or below some cut
	for _, n := range c.nodes {
		if slices.ContainsFunc(cuts, func(cut *Node) bool { return dns.IsSubDomain(cut.Name, n.Name) }) {
			below = append(below, n)
		}
	}
	slices.SortFunc(below, byName)
	for _, n := range below {
		o := n.Name
		for _, cut := range cuts {
			if !dns.IsSubDomain(cut.Name, o) {
				continue
			}
			for _, s := range n.Sets {
				switch s.Type {
				case dns.TypeA, dns.TypeAAAA:
				case dns.TypeNS, dns.TypeDS:
					if o == cut.Name {
						continue
					}
					fallthrough
				default:
					c.addAt(at(n), field, o, "%s record at or below the delegation %s: only glue (A, AAAA) belongs there", dns.TypeToString[s.Type], cut.Name)
				}
			}
		}
	}
}

// byName orders nodes by name.
func byName(a, b *Node) int { return strings.Compare(a.Name, b.Name) }

// entsAndWildcards adds the empty non-terminals between every name and the
// apex, and links each wildcard to the node it hangs from.
func (c *compiler) entsAndWildcards(z *Zone) {
	for _, n := range c.nodes {
		for name := n.Name; name != z.Origin; {
			i := strings.IndexByte(name, '.')
			if i < 0 || i == len(name)-1 {
				break
			}
			name = name[i+1:]
			if _, ok := z.Nodes[name]; ok {
				break
			}
			c.newNode(z, name)
		}
	}
	for _, n := range c.nodes {
		if rest, ok := strings.CutPrefix(n.Name, "*."); ok {
			if p := z.Nodes[rest]; p != nil {
				p.wild = n
			}
		}
	}
}

// String describes a zone for logs.
func (z *Zone) String() string { return fmt.Sprintf("%s (%d records)", z.Origin, z.Records) }
