package server

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

// maxChase is how many CNAMEs an answer follows inside our zones.
const maxChase = 8

// maxAdditionalTargets bounds the SRV, MX and NS targets whose addresses an
// answer adds to the additional section.
const maxAdditionalTargets = 16

// section is a section of a response.
type section uint8

const (
	secAnswer section = iota
	secAuthority
	secAdditional
)

// part is one RRset placed in a response: an answer set in the order chosen
// for this query, or a single record.
type part struct {
	sec section
	// ans is the scope's answer set; its records go out in the order
	// res.order[lo:hi]. Nil when rr is set.
	ans    *zones.Answer
	lo, hi int
	// local is what ans.Order.Order returned: how many records are local to
	// the client.
	local int
	// counted says the part bumps the answer metrics when it is delivered
	// (answer-section sets only).
	counted bool
	// rr is a single record (the SOA of a negative answer).
	rr dns.RR
	// owner, when not empty, replaces the owner of every record (wildcard
	// synthesis).
	owner string
}

// resolution is the outcome of resolve: the rcode, the flags and which
// records go in which section in which order. It is independent of how the
// response is packed, so that a packed-answer fast path can share it.
type resolution struct {
	rcode int
	aa    bool
	// glue says the additional section holds referral glue, which a
	// truncated response may not drop silently.
	glue bool
	// scope is the ECS SCOPE PREFIX-LENGTH the answer deserves.
	scope int
	// site is the client's site index, siteCounted whether the query counts
	// toward the site's queries.
	site        int
	siteCounted bool
	parts       []part
	order       []int // order indices of every part, see part.lo

	// wildcard is the wildcard node (lower case, "*.<parent>") that
	// synthesised the answer or NODATA to the query name itself; "" when
	// none did. Response rate limiting keys such answers on the parent.
	wildcard string
}

func (r *resolution) reset() {
	clear(r.parts) // drop references into the old snapshot
	*r = resolution{parts: r.parts[:0], order: r.order[:0]}
}

// query is what resolve needs to know about one query.
type query struct {
	name   string // as received, for the owner of synthesised records
	qtype  uint16
	client netip.Addr
	id     uint16 // the tick of orders that must not advance rotation
}

// resolve answers q from snap per DESIGN §2.1: the answer, CNAMEs chased
// inside our zones, negative answers with the SOA, referrals with glue, and
// SRV/MX/NS target addresses in the additional section.
//
// Answer-section RRsets are ordered with Set.Order, which advances their
// rotation. Records placed in the authority and additional sections are
// ordered with Set.OrderAt at the query ID as tick: local records still come
// first, but the rotation that the RRset's own answers see is not advanced by
// other names' answers, so each stream of answers stays uniformly rotated.
func resolve(r *resolution, snap *zones.Snapshot, q query) {
	r.reset()
	site, siteBits := snap.Sites.Lookup(q.client)
	r.site = site
	scopeIdx := -1
	if site >= 0 && site < len(snap.SiteScope) {
		scopeIdx = snap.SiteScope[site]
	}
	rc := resolver{r: r, snap: snap, q: q, scopeIdx: scopeIdx, siteBits: siteBits}

	name, lname := q.name, strings.ToLower(q.name)
	var seen [maxChase]string
	r.aa = true
	for hop := 0; hop < maxChase; hop++ {
		seen[hop] = lname
		res := snap.Lookup(lname, q.qtype)
		if res.Kind != zones.KindRefused {
			r.siteCounted = true
		}
		if hop == 0 && res.Wildcard && res.Node != nil {
			r.wildcard = res.Node.Name
		}
		switch res.Kind {
		case zones.KindRefused:
			if hop == 0 {
				r.rcode = dns.RcodeRefused
				r.aa = false
			}
			// An out-of-zone CNAME target: the resolver follows it.
			return

		case zones.KindServFail:
			// A secondary zone with no data, or expired (RFC 1034 §4.3.5).
			r.rcode = dns.RcodeServerFailure
			r.aa = false
			r.parts = r.parts[:0]
			return

		case zones.KindReferral:
			if hop == 0 {
				r.aa = false
			}
			rc.referral(res)
			return

		case zones.KindNXDomain:
			r.rcode = dns.RcodeNameError
			rc.negative(res.Zone)
			return

		case zones.KindNoData:
			if q.qtype == dns.TypeANY && res.Node != nil && len(res.Node.Sets) > 0 {
				rc.answerSet(res, res.Node.Sets[0], name)
				return
			}
			rc.negative(res.Zone)
			return

		case zones.KindAnswer:
			set := res.Set
			if q.qtype == dns.TypeANY && set == nil && res.Node != nil && len(res.Node.Sets) > 0 {
				set = res.Node.Sets[0]
			}
			p := rc.answerSet(res, set, name)
			if p == nil {
				return
			}
			if set.Type != dns.TypeCNAME || q.qtype == dns.TypeCNAME || q.qtype == dns.TypeANY {
				rc.additional(p)
				return
			}
			cname, ok := p.ans.RRs[r.order[p.lo]].(*dns.CNAME)
			if !ok {
				return
			}
			name, lname = cname.Target, strings.ToLower(cname.Target)
			for _, s := range seen[:hop+1] {
				if s == lname {
					return // a loop: the answer so far
				}
			}
		}
	}
}

// resolver carries the per-query state of resolve.
type resolver struct {
	r        *resolution
	snap     *zones.Snapshot
	q        query
	scopeIdx int
	siteBits int
}

// answerSet adds set, as the client's scope sees it, to the answer section
// and widens the ECS scope. With no records for the scope it gives the
// NODATA answer instead and returns nil.
func (rc *resolver) answerSet(res zones.Result, set *zones.RRset, name string) *part {
	if set == nil {
		rc.negative(res.Zone)
		return nil
	}
	a := set.For(rc.scopeIdx)
	if set.SiteAware() {
		rc.widen(rc.siteScope())
	}
	if a == nil || len(a.RRs) == 0 {
		rc.negative(res.Zone)
		return nil
	}
	p := rc.add(secAnswer, a, res.Wildcard, name, true)
	if a.Order != nil && a.Order.ClientDependent() {
		rc.widen(netmaskScope(rc.q.client))
	}
	return p
}

// add appends a part holding a in order. Answer-section parts advance the
// rotation; others are ordered at the query ID.
func (rc *resolver) add(sec section, a *zones.Answer, wildcard bool, owner string, counted bool) *part {
	r := rc.r
	lo := len(r.order)
	n := len(a.RRs)
	r.order = slices.Grow(r.order, n)[:lo+n]
	dst := r.order[lo : lo+n]
	local := 0
	switch {
	case a.Order == nil:
		for i := range dst {
			dst[i] = i
		}
	case sec == secAnswer:
		local = a.Order.Order(dst, rc.q.client)
	default:
		local = a.Order.OrderAt(dst, rc.q.client, uint64(rc.q.id))
	}
	p := part{sec: sec, ans: a, lo: lo, hi: lo + n, local: local, counted: counted}
	if wildcard {
		p.owner = owner
	}
	r.parts = append(r.parts, p)
	return &r.parts[len(r.parts)-1]
}

// negative adds the SOA of z to the authority section, with the TTL of a
// negative answer: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
func (rc *resolver) negative(z *zones.Zone) {
	if z == nil || z.NegativeSOA == nil {
		return
	}
	rc.r.parts = append(rc.r.parts, part{sec: secAuthority, rr: z.NegativeSOA})
}

// referral adds the NS RRset of the delegation at res.Node to the authority
// section and the glue addresses under the zone to the additional section.
func (rc *resolver) referral(res zones.Result) {
	if res.Node == nil {
		return
	}
	ns := res.Node.Set(dns.TypeNS)
	if ns == nil {
		return
	}
	a := ns.For(rc.scopeIdx)
	if a == nil || len(a.RRs) == 0 {
		return
	}
	p := rc.add(secAuthority, a, false, "", false)
	lo, hi := p.lo, p.hi
	if res.Zone == nil {
		return
	}
	for _, i := range rc.r.order[lo:hi] {
		rr, ok := a.RRs[i].(*dns.NS)
		if !ok {
			continue
		}
		node := res.Zone.Nodes[strings.ToLower(rr.Ns)]
		if node == nil {
			continue
		}
		for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			if set := node.Set(t); set != nil {
				if g := set.For(rc.scopeIdx); g != nil && len(g.RRs) > 0 {
					rc.add(secAdditional, g, false, "", false)
					rc.r.glue = true
				}
			}
		}
	}
}

// additional adds the in-zone A and AAAA records of the targets of an SRV,
// MX or NS answer to the additional section, each target once, in the order
// of the answer.
func (rc *resolver) additional(p *part) {
	a := p.ans
	switch a.RRs[0].Header().Rrtype {
	case dns.TypeSRV, dns.TypeMX, dns.TypeNS:
	default:
		return
	}
	lo, hi := p.lo, p.hi // p may move as parts grow
	var done [maxAdditionalTargets]string
	nd := 0
	for _, i := range rc.r.order[lo:hi] {
		var target string
		switch rr := a.RRs[i].(type) {
		case *dns.SRV:
			target = rr.Target
		case *dns.MX:
			target = rr.Mx
		case *dns.NS:
			target = rr.Ns
		}
		lt := strings.ToLower(target)
		if lt == "." || lt == "" {
			continue
		}
		dup := false
		for _, d := range done[:nd] {
			dup = dup || d == lt
		}
		if dup {
			continue
		}
		if nd == len(done) {
			return
		}
		done[nd] = lt
		nd++
		for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			res := rc.snap.Lookup(lt, t)
			if res.Kind != zones.KindAnswer || res.Set == nil || res.Set.Type != t {
				continue
			}
			if g := res.Set.For(rc.scopeIdx); g != nil && len(g.RRs) > 0 {
				rc.add(secAdditional, g, res.Wildcard, target, false)
			}
		}
	}
}

// siteScope is the ECS scope of an answer chosen by the client's site: the
// length of the site subnet that matched, or, for a client in no site, the
// full address length, since the answer holds for that address and no
// shorter prefix is known not to overlap a site subnet.
func (rc *resolver) siteScope() int {
	return siteScope(rc.r.site, rc.siteBits, rc.q.client)
}

// netmaskScope is the ECS scope of an order that depended on the client's
// network under netmask ordering: /24 for IPv4 (the LocalNetPriorityNetMask
// default) and /64 for IPv6 (the ipv6_prefix default).
func netmaskScope(client netip.Addr) int {
	if client.Unmap().Is4() {
		return 24
	}
	return 64
}

func (rc *resolver) widen(bits int) {
	if bits > rc.r.scope {
		rc.r.scope = bits
	}
}
