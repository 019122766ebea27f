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

// decision is everything a reply to one query holds, decided in one place,
// decide, from the snapshot, the question and the client: the rcode and AA,
// the client's site, which answer set of which RRset goes in which section
// in which order, and the ECS scope all of that implies. Two writers turn
// it into bytes and neither decides anything: the fast writer (fast.go),
// from the sets' precompiled wire form, and the general one (writeMsg),
// through miekg/dns, for what the fast one cannot write (wildcard owners,
// truncation, sets without wire form). They send the same bytes for the
// same decision (TestFastMatchesGeneral).
//
// A decision belongs to one scratch and is reset by decide; it points into
// the snapshot it was made from and is valid while that snapshot is.
//
// To change what an answer holds, change decide: a filter on answer sets
// (health checks) goes where add picks a set, before it is ordered; records
// that accompany a set (RRSIGs) are one more part after it; a counter per
// site reads decision.site when the reply is delivered (countDelivered).
// Whatever depends on the client address must widen scope (see widen).
type decision struct {
	rcode int
	aa    bool
	// glue says the additional section holds referral glue, which a
	// truncated response may not drop silently.
	glue bool
	// scope is the ECS SCOPE PREFIX-LENGTH the reply deserves: the longest
	// prefix of the client address that any part of it depended on (see
	// decide). The writers send 0 instead for a query whose ECS SOURCE is 0.
	scope int
	// site is the client's site index, siteCounted whether the query
	// counts toward the site's queries (its name is in one of our zones).
	site        int
	siteCounted bool
	parts       []part
	order       []int // order indices of every part, see part.lo

	// wildcard is the wildcard node (lower case, "*.<parent>") that
	// synthesised the answer or NODATA to the query name itself; "" when
	// none did. Response rate limiting keys such answers on the parent.
	wildcard string
}

// part is one RRset placed in a response: an answer set in the order chosen
// for this query, or a single record.
type part struct {
	sec section
	// ans is the scope's answer set; its records go out in the order
	// decision.order[lo:hi]. Nil when rr is set.
	ans    *zones.Answer
	lo, hi int
	// local is what ans.Order.Order returned: how many records are local to
	// the client.
	local int
	// counted says the part bumps the answer metrics when it is delivered
	// (answer-section sets only).
	counted bool
	// rr is a single record (the SOA of a negative answer), and wire its
	// precompiled form (nil when there is none).
	rr   dns.RR
	wire *zones.WireRR
	// owner, when not empty, replaces the owner of every record (wildcard
	// synthesis).
	owner string
}

func (d *decision) reset() {
	// Drop the references into the old snapshot, field by field: clear
	// would call the runtime for what is mostly one part.
	for i := range d.parts {
		p := &d.parts[i]
		p.ans, p.rr, p.wire, p.owner = nil, nil, nil, ""
	}
	*d = decision{parts: d.parts[:0], order: d.order[:0]}
}

// query is what decide needs to know about one query.
type query struct {
	name   string // as received, for the owner of synthesised records
	lname  string // name in lower case, what the snapshot is looked up by
	qtype  uint16
	client netip.Addr
	id     uint16 // the tick of orders that must not advance rotation
	shard  int    // the caller's rotation shard (ordering.Rotation)
	// do is the query's DO bit: answers from a signed zone then carry
	// their RRSIGs and denial records (see dnssec.go).
	do bool
}

// decide makes d the decision for q from snap, per docs/design.md#answers: the answer,
// CNAMEs chased inside our zones, negative answers with the SOA, referrals
// with glue, and SRV/MX/NS target addresses in the additional section.
// sites remembers the site regions of recent clients.
//
// Answer-section RRsets are ordered with Set.OrderIn, which advances their
// rotation in the caller's shard (each UDP reader rotates on its own). Records placed in the authority and additional sections are
// ordered with Set.OrderAt at the query ID as tick: local records still come
// first, but the rotation that the RRset's own answers see is not advanced by
// other names' answers, so each stream of answers stays uniformly rotated.
//
// The ECS scope (RFC 7871 §7.2.1) is the longest prefix of the client that
// any part depended on, so that every client in it would get the same reply
// but for rotation:
//
//   - a set picked from a site-aware RRset (answer, CNAME, referral, glue or
//     the address of an SRV/MX/NS target) depends on the client's site: the
//     length of the client's site region (ordering.Sites.Region), which for
//     a client in no site is the shortest prefix around it that overlaps no
//     site subnet;
//   - an answer-section set whose order depends on the client (netmask
//     ordering) depends on its local tier: ordering.Set.LocalScope, the
//     netmask (or ipv6_prefix) when some record is local, else the shortest
//     prefix around the client that holds no record;
//   - whether the name exists at all, when some view lacks it
//     (zones.Result.Viewed): the site region again;
//   - nothing else does: 0 for answers that are the same for everyone,
//     including negative answers and referrals from plain RRsets. The
//     order of additional and authority records (local first) is not
//     counted: their records, which sites choose, must hold for the whole
//     scope, but their order is a courtesy, and counting it would cut every
//     SRV answer to the client's /24.
func decide(d *decision, snap *zones.Snapshot, q *query, sites *siteMemo) {
	decideParts(d, snap, q, sites)
	if q.do {
		d.sortSections()
	}
}

// decideParts is decide but for the order of the sections: the denial
// records of a wildcard answer in the middle of a CNAME chain, or of a
// referral, come before answer or additional parts.
func decideParts(d *decision, snap *zones.Snapshot, q *query, sites *siteMemo) {
	d.reset()
	site, region := sites.lookup(snap.Sites, q.client)
	if q.client.Is4In6() && region > 0 {
		region += 96 // Region counts IPv4 bits for a mapped address
	}
	d.site = site
	scopeIdx := -1
	if site >= 0 && site < len(snap.SiteScope) {
		scopeIdx = snap.SiteScope[site]
	}
	dc := decider{d: d, snap: snap, q: q, scopeIdx: scopeIdx, region: region}

	name, lname := q.name, q.lname
	var seen [maxChase]string
	d.aa = true
	for hop := 0; hop < maxChase; hop++ {
		seen[hop] = lname
		res := snap.LookupView(lname, q.qtype, scopeIdx)
		if res.Kind != zones.KindRefused {
			d.siteCounted = true
		}
		if res.Viewed {
			dc.widen(dc.region) // the name is not in every view: another site could get another answer
		}
		if hop == 0 && res.Wildcard && res.Node != nil {
			d.wildcard = res.Node.Name
		}
		switch res.Kind {
		case zones.KindRefused:
			if hop == 0 {
				d.rcode = dns.RcodeRefused
				d.aa = false
			}
			// An out-of-zone CNAME target: the resolver follows it.
			return

		case zones.KindServFail:
			// A secondary zone with no data, or expired (RFC 1034 §4.3.5).
			d.rcode = dns.RcodeServerFailure
			d.aa = false
			dc.drop()
			return

		case zones.KindReferral:
			if hop == 0 {
				d.aa = false
			}
			dc.referral(res)
			dc.referralProof(res)
			return

		case zones.KindNXDomain:
			d.rcode = dns.RcodeNameError
			dc.negative(res, lname)
			return

		case zones.KindNoData:
			if q.qtype == dns.TypeANY && res.Node != nil && len(res.Node.Sets) > 0 {
				dc.answerSet(res, res.Node.Sets[0], name, lname)
				return
			}
			dc.negative(res, lname)
			return

		case zones.KindAnswer:
			set := res.Set
			if q.qtype == dns.TypeANY && set == nil && res.Node != nil && len(res.Node.Sets) > 0 {
				set = res.Node.Sets[0]
			}
			p := dc.answerSet(res, set, name, lname)
			if p == nil {
				return
			}
			if set.Type != dns.TypeCNAME || q.qtype == dns.TypeCNAME || q.qtype == dns.TypeANY {
				dc.additional(p, set.Type)
				return
			}
			var ok bool
			if name, lname, ok = aliasTarget(p.ans, d.order[p.lo]); !ok {
				return
			}
			for _, s := range seen[:hop+1] {
				if s == lname {
					return // a loop: the answer so far
				}
			}
		}
	}
}

// aliasTarget returns the target of CNAME record i of a, as written and in
// lower case: from the precompiled form when there is one, so that the
// common alias costs no allocation.
func aliasTarget(a *zones.Answer, i int) (name, lname string, ok bool) {
	if w := a.Wire; w != nil && w.Alias != "" {
		return w.RRs[i].Names[0], w.Alias, true
	}
	cname, ok := a.RRs[i].(*dns.CNAME)
	if !ok {
		return "", "", false
	}
	return cname.Target, strings.ToLower(cname.Target), true
}

// decider carries the per-query state of decide.
type decider struct {
	d        *decision
	snap     *zones.Snapshot
	q        *query
	scopeIdx int
	region   int // the length of the client's site region
}

// pick returns the answer set of the client's scope in set, and widens the
// ECS scope to the site region when the set is site-aware.
func (dc *decider) pick(set *zones.RRset) *zones.Answer {
	if set.SiteAware() {
		dc.widen(dc.region)
	}
	return set.For(dc.scopeIdx)
}

// answerSet adds set, as the client's scope sees it, to the answer section.
// With no records for the scope it gives the NODATA answer instead and
// returns nil.
func (dc *decider) answerSet(res zones.Result, set *zones.RRset, name, lname string) *part {
	if set == nil {
		dc.negative(res, lname)
		return nil
	}
	a := dc.pick(set)
	if a == nil || len(a.RRs) == 0 {
		dc.negative(res, lname)
		return nil
	}
	at := len(dc.d.parts)
	dc.add(secAnswer, a, res.Wildcard, name, true)
	if res.Wildcard {
		dc.wildcardProof(res, lname)
	}
	return &dc.d.parts[at]
}

// add appends a part holding a in order and, for the answer section,
// widens the ECS scope by what the order depended on. Answer-section parts advance the rotation; others
// are ordered at the query ID.
func (dc *decider) add(sec section, a *zones.Answer, wildcard bool, owner string, counted bool) *part {
	d := dc.d
	lo := len(d.order)
	n := len(a.RRs)
	d.order = slices.Grow(d.order, n)[:lo+n]
	dst := d.order[lo : lo+n]
	local := 0
	switch {
	case a.Order == nil:
		for i := range dst {
			dst[i] = i
		}
	case sec == secAnswer:
		var scope int
		local, scope = a.Order.OrderIn(dst, dc.q.client, dc.snap.Rotation.Row(dc.q.shard))
		dc.widen(scope)
	default:
		local = a.Order.OrderAt(dst, dc.q.client, uint64(dc.q.id))
	}
	p := part{sec: sec, ans: a, lo: lo, hi: lo + n, local: local, counted: counted}
	if wildcard {
		p.owner = owner
	}
	d.parts = append(d.parts, p)
	at := len(d.parts) - 1
	if dc.q.do && a.Sig != nil && sec != secAdditional {
		dc.addSig(sec, a.Sig, p.owner)
	}
	return &d.parts[at]
}

// negative adds the SOA of res.Zone to the authority section, with the TTL
// of a negative answer: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3); with DO=1
// in a signed zone, its RRSIGs and the proof that lname has no such name
// or no such type.
func (dc *decider) negative(res zones.Result, lname string) {
	z := res.Zone
	if z == nil || z.NegativeSOA == nil {
		return
	}
	dc.d.parts = append(dc.d.parts, part{sec: secAuthority, rr: z.NegativeSOA, wire: z.NegSOA})
	dc.denialProof(res, lname)
}

// referral adds the NS RRset of the delegation at res.Node to the authority
// section and the glue addresses under the zone to the additional section.
func (dc *decider) referral(res zones.Result) {
	if res.Node == nil {
		return
	}
	ns := res.Node.Set(dns.TypeNS)
	if ns == nil {
		return
	}
	a := dc.pick(ns)
	if a == nil || len(a.RRs) == 0 {
		return
	}
	p := dc.add(secAuthority, a, false, "", false)
	lo, hi := p.lo, p.hi
	if res.Zone == nil {
		return
	}
	for _, i := range dc.d.order[lo:hi] {
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
				if g := dc.pick(set); g != nil && len(g.RRs) > 0 {
					dc.add(secAdditional, g, false, "", false)
					dc.d.glue = true
				}
			}
		}
	}
}

// additional adds the in-zone A and AAAA records of the targets of an SRV,
// MX or NS answer p, of type t, to the additional section, each target
// once, in the order of the answer, at most maxAdditionalTargets of them.
func (dc *decider) additional(p *part, t uint16) {
	switch t {
	case dns.TypeSRV, dns.TypeMX, dns.TypeNS:
	default:
		return
	}
	a := p.ans
	lo, hi := p.lo, p.hi // p may move as parts grow
	var done [maxAdditionalTargets]string
	nd := 0
	for _, i := range dc.d.order[lo:hi] {
		target, lt := targetOf(a, i)
		if lt == "." || lt == "" || slices.Contains(done[:nd], lt) {
			continue
		}
		if nd == len(done) {
			return
		}
		done[nd] = lt
		nd++
		if w := a.Wire; w != nil && w.Targets != nil && w.Targets.Additional != nil {
			x := &w.Targets.Additional[i]
			dc.target(x.A, x.AWildcard, target)
			dc.target(x.AAAA, x.AAAAWild, target)
			continue
		}
		for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
			res := dc.snap.Lookup(lt, t)
			if res.Kind == zones.KindAnswer && res.Set != nil && res.Set.Type == t {
				dc.target(res.Set, res.Wildcard, target)
			}
		}
	}
}

// target adds the addresses set holds for the client's scope to the
// additional section.
func (dc *decider) target(set *zones.RRset, wildcard bool, name string) {
	if set == nil {
		return
	}
	if g := dc.pick(set); g != nil && len(g.RRs) > 0 {
		dc.add(secAdditional, g, wildcard, name, false)
	}
}

// targetOf returns the SRV, MX or NS target of record i of a, as written
// and in lower case ("" for another type).
func targetOf(a *zones.Answer, i int) (target, lower string) {
	if w := a.Wire; w != nil && w.Targets != nil {
		return w.RRs[i].Names[0], w.Targets.Target[i]
	}
	switch rr := a.RRs[i].(type) {
	case *dns.SRV:
		target = rr.Target
	case *dns.MX:
		target = rr.Mx
	case *dns.NS:
		target = rr.Ns
	}
	return target, strings.ToLower(target)
}

// drop empties the decision of its parts (a CNAME chain that ended in a
// zone that cannot answer).
func (dc *decider) drop() {
	d := dc.d
	for i := range d.parts {
		d.parts[i] = part{}
	}
	d.parts, d.order = d.parts[:0], d.order[:0]
}

// widen makes the ECS scope at least bits.
func (dc *decider) widen(bits int) {
	dc.d.scope = max(dc.d.scope, bits)
}
