package server

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/ordering"
	"github.com/sitedns/sitedns/zones"
)

// The fast path answers the common query straight from the bytes: one
// question of class IN, lower-case or not, no records but an optional OPT
// whose only option is ECS, and an answer that is a plain RRset of the type
// asked (with the addresses of SRV, MX and NS targets in the additional
// section), NXDOMAIN or NODATA, possibly behind one CNAME, that fits the
// client's payload size. It writes the records the snapshot precompiled
// (zones.Wire) in the order ordering.Set gives, compressing names exactly as
// miekg/dns does, so its output is byte for byte what the general path
// sends; fast_test.go checks that on every name of the test labs. Everything
// else — CNAME chains and loops, wildcards, referrals, ANY, transfers,
// truncation, errors, other EDNS options — goes to the general path, which
// stays the reference.
//
// It allocates nothing once its buffers have grown to the largest answer.

// maxFastNames bounds the compression entries of one fast answer: names
// beyond it send the query to the general path.
const maxFastNames = 64

// maxCompressionOffset is the first offset a compression pointer cannot
// reach; miekg/dns records no name there.
const maxCompressionOffset = 1 << 14

// maxFastTargets bounds the distinct SRV/MX/NS targets of a fast answer (the
// general path's maxAdditionalTargets).
const maxFastTargets = maxAdditionalTargets

// nameEntry is a name written into the response, for compression.
type nameEntry struct {
	key string // presentation form, as miekg/dns keys its compression map
	off int
}

// fastState is the fast path's per-caller state, part of scratch.
type fastState struct {
	qname [255]byte // the question name as received, presentation form
	lname [256]byte // the same in lower case (256: a uint8 index needs no bounds check)
	qkey  string    // the question name as sent: lname or qname, valid during one answer
	names [maxFastNames]nameEntry
	nn    int
	order []int
	addl  []int
	// addA and addAAAA are the additional answers of each distinct
	// target, in the order of WireTargets.Target's first occurrences.
	targets [maxFastTargets]string
	addA    [maxFastTargets]*zones.Answer
	addAAAA [maxFastTargets]*zones.Answer
	nt      int

	sites siteMemo
}

// siteMemo remembers the sites of recent client addresses, per caller. An
// authoritative server's clients are mostly a few resolvers, and the trie
// walk of Sites.Lookup was a tenth of a fast answer's instructions. Each
// entry holds the *ordering.Sites it was found in, so a reload that changes
// the sites misses; an old Sites it keeps alive is a few kilobytes.
type siteMemo [16]struct {
	sites *ordering.Sites
	addr  netip.Addr
	site  int32
	bits  int32
}

// lookup is sites.Lookup(a), from the memo when it holds a.
func (m *siteMemo) lookup(sites *ordering.Sites, a netip.Addr) (site, bits int) {
	e := &m[memoSlot(a)]
	if e.sites == sites && e.addr == a && sites != nil {
		return int(e.site), int(e.bits)
	}
	site, bits = sites.Lookup(a)
	e.sites, e.addr, e.site, e.bits = sites, a, int32(site), int32(bits)
	return site, bits
}

// memoSlot spreads addresses over the memo by their last bytes.
func memoSlot(a netip.Addr) int {
	b := a.As16()
	return int(b[15]^b[14]>>4^b[13]) & 15
}

// fast answers req when it can (see above). ok false means it did nothing
// observable — no counter bumped, no rotation advanced — and the general
// path must answer. serve has checked the header length and QR.
func (s *Server) fast(sc *scratch, dst, req []byte, src netip.AddrPort, t metrics.Transport, start time.Time) (out []byte, ok bool) {
	f := &sc.fast
	// Header: QUERY, one question, no answer or authority records, at most
	// one additional (the OPT).
	_ = req[headerLen-1]
	if req[2]&0x78 != 0 || req[4] != 0 || req[5] != 1 || req[6]|req[7]|req[8]|req[9]|req[10] != 0 || req[11] > 1 {
		return nil, false
	}
	// The question name, checked to be one miekg/dns would print as is, and
	// lower-cased in one pass: its presentation form is the wire form after
	// the first length byte, with each later length byte (the root's too)
	// turned into a dot. mixed says some byte was not lower case.
	if len(req) <= headerLen || req[headerLen] == 0 || req[headerLen] > 63 {
		return nil, false // the root, or no question
	}
	w := req[headerLen+1 : min(len(req), headerLen+1+254)]
	next := int(req[headerLen]) // where in w the next length byte is
	var mixed byte
	n := 0
	for i := 0; ; i++ {
		if i >= len(w) {
			return nil, false // longer than 255 bytes, or cut short
		}
		b := w[i]
		if i == next {
			f.lname[uint8(i)] = '.'
			if b == 0 {
				n = i + 1
				break
			}
			if b > 63 {
				return nil, false
			}
			next = i + 1 + int(b)
			continue
		}
		l := lowerNameByte[b]
		f.lname[uint8(i)] = l
		if l != b {
			if l == 0 {
				return nil, false
			}
			mixed = 1
		}
	}
	off := headerLen + 1 + n
	if off+4 > len(req) {
		return nil, false // a short question
	}
	qtype := binary.BigEndian.Uint16(req[off:])
	if binary.BigEndian.Uint16(req[off+2:]) != dns.ClassINET {
		return nil, false
	}
	switch qtype {
	case dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR:
		return nil, false
	}
	qEnd := off + 4

	// The OPT, with no option but ECS, and nothing after it.
	var (
		optOn, do bool
		ecsRaw    []byte
		ecsCount  int
		udpSize   uint16
	)
	if req[11] == 1 {
		o := qEnd
		if o+11 > len(req) || req[o] != 0 || binary.BigEndian.Uint16(req[o+1:]) != typeOPT || req[o+6] != 0 {
			return nil, false
		}
		udpSize = binary.BigEndian.Uint16(req[o+3:])
		do = req[o+7]&0x80 != 0
		end := o + 11 + int(binary.BigEndian.Uint16(req[o+9:]))
		if end != len(req) {
			return nil, false
		}
		for p := o + 11; p < end; {
			if p+4 > end {
				return nil, false
			}
			code := binary.BigEndian.Uint16(req[p:])
			l := int(binary.BigEndian.Uint16(req[p+2:]))
			p += 4
			if code != optionECS || p+l > end {
				return nil, false
			}
			ecsRaw = req[p : p+l]
			ecsCount++
			p += l
		}
		optOn = true
	} else if qEnd != len(req) {
		return nil, false
	}

	snap := s.snap.Load()
	if snap == nil {
		return nil, false
	}
	client := src.Addr().Unmap()
	var ecs ecsOption
	echo := false
	if snap.ClientSubnet && ecsCount > 0 {
		e, ok := parseECS(ecsRaw)
		if !ok || ecsCount > 1 {
			return nil, false
		}
		ecs, client, echo = e, e.client, true
	}

	// What the answer holds, decided before anything is counted or rotated.
	site, siteBits := f.sites.lookup(snap.Sites, client)
	scopeIdx := -1
	if site >= 0 && site < len(snap.SiteScope) {
		scopeIdx = snap.SiteScope[site]
	}
	lname := unsafe.String(&f.lname[0], n)
	res := snap.Lookup(lname, qtype)
	var (
		a     *zones.Answer
		alias *zones.Answer // a CNAME the answer starts with
		// aliasOnly: alias's target is in none of our zones, so the answer
		// is the CNAME alone, for the resolver to follow.
		aliasOnly bool
		rcode     int
		scope     int
		neg       bool
	)
	if res.Kind == zones.KindAnswer && res.Set != nil && res.Set.Type == dns.TypeCNAME && qtype != dns.TypeCNAME {
		// One CNAME, followed as resolve does: the answer is the CNAME
		// and then whatever its target gives. Longer chains, loops,
		// wildcards and referrals take the general path.
		set := res.Set
		alias = set.For(scopeIdx)
		if res.Wildcard || alias == nil || alias.Wire == nil || alias.Wire.Alias == "" || alias.Wire.Alias == lname ||
			(alias.Order != nil && alias.Order.ClientDependent()) {
			return nil, false
		}
		if set.SiteAware() {
			scope = siteScope(site, siteBits, client)
		}
		res = snap.Lookup(alias.Wire.Alias, qtype)
		if res.Kind == zones.KindAnswer && res.Set != nil && res.Set.Type == dns.TypeCNAME {
			return nil, false
		}
		aliasOnly = res.Kind == zones.KindRefused
	}
	switch {
	case aliasOnly:
	case res.Kind == zones.KindNXDomain:
		rcode, neg = dns.RcodeNameError, true
	case res.Kind == zones.KindNoData:
		neg = true
	case res.Kind == zones.KindAnswer:
		set := res.Set
		if res.Wildcard || set == nil || set.Type != qtype {
			return nil, false
		}
		if set.SiteAware() {
			// A site-aware alias set, if any, gave scope this same value.
			scope = siteScope(site, siteBits, client)
		}
		a = set.For(scopeIdx)
		if a == nil || len(a.RRs) == 0 {
			a, neg = nil, true
		} else if a.Wire == nil {
			return nil, false
		}
	default:
		return nil, false
	}

	size := qEnd
	nameBudget := 0
	var soa *zones.WireRR
	if neg {
		if res.Zone == nil || res.Zone.SOA == nil {
			return nil, false
		}
		if soa = res.Zone.NegSOA; soa == nil {
			return nil, false
		}
		size += soa.Max()
		nameBudget += soa.Labels()
	}
	if alias != nil {
		size += alias.Wire.Max
		nameBudget += alias.Wire.Labels
	}
	f.nt = 0
	if a != nil {
		w := a.Wire
		size += w.Max
		nameBudget += w.Labels
		if ts := w.Targets; ts != nil {
			if ts.Distinct > maxFastTargets {
				return nil, false
			}
			for j, tg := range ts.Target {
				if tg == "" || slices.Contains(f.targets[:f.nt], tg) {
					continue
				}
				k := f.nt
				f.targets[k] = tg
				f.nt++
				var ok bool
				if ts.Additional != nil {
					x := &ts.Additional[j]
					f.addA[k], ok = additionalOf(x.A, x.AWildcard, scopeIdx)
					if ok {
						f.addAAAA[k], ok = additionalOf(x.AAAA, x.AAAAWild, scopeIdx)
					}
				} else if f.addA[k], ok = additional(snap, tg, dns.TypeA, scopeIdx); ok {
					f.addAAAA[k], ok = additional(snap, tg, dns.TypeAAAA, scopeIdx)
				}
				if !ok {
					f.clearTargets()
					return nil, false
				}
				for _, x := range [...]*zones.Answer{f.addA[k], f.addAAAA[k]} {
					if x != nil {
						size += x.Wire.Max
						nameBudget += x.Wire.Labels
					}
				}
			}
		}
	}
	if optOn {
		size += 11
		if echo {
			size += 4 + len(ecs.raw)
		}
	}
	limit := maxTCPSize
	if t == metrics.UDP {
		limit = minUDPSize
		if optOn {
			limit = udpCap(int(udpSize), snap)
		}
	}
	if size > limit || nameBudget > maxFastNames {
		f.clearTargets()
		return nil, false
	}

	// Committed: from here on the query is answered here.
	sc.st.query(t, qtype)
	b := dst[:cap(dst)]
	if len(b) < size {
		b = make([]byte, size)
	}
	b[0], b[1] = req[0], req[1]
	b[2] = 0x80 | 0x04 | req[2]&0x01 // QR, AA, RD
	b[3] = byte(rcode)               // RA, Z, AD and CD clear; RCODE
	clear(b[4:12])
	b[5] = 1
	copy(b[headerLen:qEnd], req[headerLen:qEnd])
	off = qEnd
	// The question as sent, for compression: the lower-case name unless
	// the client mixed case (0x20), which is rare enough to copy again.
	f.qkey = lname
	if mixed != 0 {
		f.qkey = f.questionName(req)
	}
	f.nn = 0

	var an, ns, ar int
	// Bumped once the response is sure to go out whole.
	var firstCount, netmaskCount, aliasCount, failOpenCount *atomic.Uint64
	// Owners that are the question as sent are pointers to it, and the
	// records without names in their RDATA are then fixed bytes.
	atQuestion := mixed == 0
	if alias != nil {
		r := &alias.Wire.RRs[0]
		if atQuestion && r.LowerOwner() {
			off = f.rrAtQuestion(b, off, r)
		} else {
			off = f.rr(b, off, r)
		}
		an = 1
		aliasCount = alias.FirstCounter(site, 0)
		atQuestion = false // the records that follow are the target's
	}
	if a != nil {
		w := a.Wire
		nr := len(a.RRs)
		f.order = slices.Grow(f.order[:0], nr)[:nr]
		ord := f.order
		local := 0
		if a.Order == nil {
			for i := range ord {
				ord[i] = i
			}
		} else {
			local = a.Order.Order(ord, client)
			if a.Order.ClientDependent() {
				scope = max(scope, netmaskScope(client))
			}
		}
		for _, j := range ord {
			r := &w.RRs[j]
			if atQuestion && r.LowerOwner() {
				off = f.rrAtQuestion(b, off, r)
			} else {
				off = f.rr(b, off, r)
			}
		}
		an += nr
		// The answer metrics, as countDelivered bumps them.
		firstCount = a.FirstCounter(site, ord[0])
		failOpenCount = a.FailOpen()
		if a.Order != nil && a.Order.ClientDependent() && w.RRs[0].Head[0] == 0 && w.RRs[0].Head[1] == byte(dns.TypeA) {
			netmaskCount = a.RemoteOnly
			if local > 0 {
				netmaskCount = a.Local
			}
		}
		if f.nt > 0 {
			var done uint32
			target := w.Targets.Target
			for _, j := range ord {
				tg := target[j]
				if tg == "" {
					continue
				}
				k := slices.Index(f.targets[:f.nt], tg)
				if done&(1<<k) != 0 {
					continue
				}
				done |= 1 << k
				for _, x := range [...]*zones.Answer{f.addA[k], f.addAAAA[k]} {
					if x != nil {
						off = f.additional(b, off, x, client, req)
						ar += len(x.RRs)
					}
				}
			}
			f.clearTargets()
		}
	}
	if soa != nil {
		off = f.rr(b, off, soa)
		ns = 1
	}
	if optOn {
		b[off] = 0
		binary.BigEndian.PutUint16(b[off+1:], typeOPT)
		binary.BigEndian.PutUint16(b[off+3:], advertiseSize)
		b[off+5], b[off+6], b[off+7], b[off+8] = 0, 0, 0, 0
		if do {
			b[off+7] = 0x80
		}
		rdlen := 0
		if echo {
			rdlen = 4 + len(ecs.raw)
		}
		binary.BigEndian.PutUint16(b[off+9:], uint16(rdlen))
		off += 11
		if echo {
			binary.BigEndian.PutUint16(b[off:], optionECS)
			binary.BigEndian.PutUint16(b[off+2:], uint16(len(ecs.raw)))
			copy(b[off+4:], ecs.raw)
			b[off+4+3] = 0
			if ecs.source != 0 {
				b[off+4+3] = byte(scope)
			}
			off += rdlen
		}
		ar++
	}
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	binary.BigEndian.PutUint16(b[8:], uint16(ns))
	binary.BigEndian.PutUint16(b[10:], uint16(ar))

	if c := snap.Counters.Site; site >= 0 && site < len(c) && c[site] != nil {
		c[site].Add(1)
	}
	f.qkey = ""
	out = b[:off]
	full := true
	if snap.RateLimit != nil { // spares the answer without [rrl] a call
		if out, full = s.limitKeyed(sc.st, t, snap, out, src.Addr(), fastWildcard(res, alias)); out == nil {
			return nil, true
		}
	}
	if full {
		if aliasCount != nil {
			aliasCount.Add(1)
		}
		if firstCount != nil {
			firstCount.Add(1)
		}
		if netmaskCount != nil {
			netmaskCount.Add(1)
		}
		if failOpenCount != nil {
			failOpenCount.Add(1)
		}
	}
	sc.done(rcode, t, start)
	return out, true
}

// siteScope is the ECS scope of a site-aware RRset for a client in site:
// the length of the site subnet it matched, or of its whole address when it
// is in no site.
func siteScope(site, siteBits int, client netip.Addr) int {
	if site != 0 {
		return siteBits
	}
	return client.Unmap().BitLen()
}

// additional returns the answer the general path's additional section
// takes for target and qtype (nil for none), or ok false when the fast path
// cannot write it (a wildcard owner, a set without wire data).
func additional(snap *zones.Snapshot, target string, qtype uint16, scopeIdx int) (a *zones.Answer, ok bool) {
	res := snap.Lookup(target, qtype)
	if res.Kind != zones.KindAnswer || res.Set == nil || res.Set.Type != qtype {
		return nil, true
	}
	return additionalOf(res.Set, res.Wildcard, scopeIdx)
}

// additionalOf is additional for a target's set as Lookup found it
// (zones.WireTargets.Additional holds them for precompiled answers).
func additionalOf(set *zones.RRset, wildcard bool, scopeIdx int) (a *zones.Answer, ok bool) {
	if set == nil {
		return nil, true
	}
	g := set.For(scopeIdx)
	if g == nil || len(g.RRs) == 0 {
		return nil, true
	}
	if wildcard || g.Wire == nil {
		return nil, false
	}
	return g, true
}

// additional writes the records of x at off in the order the general path
// gives additional records: local first, rotated at the query ID.
func (f *fastState) additional(b []byte, off int, x *zones.Answer, client netip.Addr, req []byte) int {
	nr := len(x.RRs)
	f.addl = slices.Grow(f.addl[:0], nr)[:nr]
	if x.Order == nil {
		for i := range f.addl {
			f.addl[i] = i
		}
	} else {
		x.Order.OrderAt(f.addl, client, uint64(binary.BigEndian.Uint16(req)))
	}
	for _, j := range f.addl {
		off = f.rr(b, off, &x.Wire.RRs[j])
	}
	return off
}

// clearTargets drops the references to the snapshot's answers.
func (f *fastState) clearTargets() {
	clear(f.addA[:f.nt])
	clear(f.addAAAA[:f.nt])
	f.nt = 0
}

// lowerNameByte maps each byte that stands for itself in a name
// (zones.SimpleNameByte) to its lower case, and every other byte to 0.
var lowerNameByte = func() (t [256]byte) {
	for c := range 256 {
		b := byte(c)
		if !zones.SimpleNameByte(b) {
			continue
		}
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		t[c] = b
	}
	return t
}()

// questionName copies the question name of req, as sent, into f.qname in
// presentation form. fast has checked it.
func (f *fastState) questionName(req []byte) string {
	off, n := headerLen, 0
	for c := int(req[off]); c != 0; c = int(req[off]) {
		n += copy(f.qname[n:], req[off+1:off+1+c])
		f.qname[n] = '.'
		n++
		off += 1 + c
	}
	return unsafe.String(&f.qname[0], n)
}

// rrAtQuestion writes r, whose owner is the question name as sent, at off.
// miekg/dns packs such an owner as a pointer to the question and records no
// new compression entry for it. fast chooses between it and rr inline, for
// the alias and for each answer record: a helper choosing for it would be
// too large to inline and add a call per record.
func (f *fastState) rrAtQuestion(b []byte, off int, r *zones.WireRR) int {
	b[off], b[off+1] = 0xC0, headerLen
	return f.rdata(b, off+2, r)
}

// rr writes r at off and returns the offset after it.
func (f *fastState) rr(b []byte, off int, r *zones.WireRR) int {
	return f.rdata(b, f.name(b, off, r.Owner, true), r)
}

// rdata writes r's TYPE, CLASS, TTL and RDATA at off, after its owner.
// RDATA without names (A, AAAA, TXT, CAA) is fixed bytes.
func (f *fastState) rdata(b []byte, off int, r *zones.WireRR) int {
	h := b[off : off+10]
	binary.LittleEndian.PutUint64(h, binary.LittleEndian.Uint64(r.Head[:]))
	if r.NumNames == 0 {
		d := r.Data
		binary.BigEndian.PutUint16(h[8:], uint16(len(d)))
		off += 10
		if len(d) == 4 { // an A record: one 32-bit move rather than a copy call
			binary.LittleEndian.PutUint32(b[off:off+4], binary.LittleEndian.Uint32(d))
			return off + 4
		}
		return off + copy(b[off:], d)
	}
	off += 10
	start := off
	off += copy(b[off:], r.Data[:r.Split])
	for _, s := range r.Names[:r.NumNames] {
		off = f.name(b, off, s, r.Compress)
	}
	off += copy(b[off:], r.Data[r.Split:])
	binary.BigEndian.PutUint16(h[8:], uint16(off-start))
	return off
}

// name writes the simple name s at off as miekg/dns's packDomainName does
// with its compression map: at each label, the rest of the name is looked
// up among the names written before (the question first); a hit becomes a
// pointer when compress is set, and a miss is recorded at its offset.
func (f *fastState) name(b []byte, off int, s string, compress bool) int {
	if s == "." {
		b[off] = 0
		return off + 1
	}
	for begin := 0; begin < len(s); {
		key := s[begin:]
		if p, ok := f.find(key); ok {
			if compress {
				binary.BigEndian.PutUint16(b[off:], uint16(p|0xC000))
				return off + 2
			}
		} else if off < maxCompressionOffset && f.nn < len(f.names) {
			f.names[f.nn] = nameEntry{key: key, off: off}
			f.nn++
		}
		l := strings.IndexByte(key, '.')
		b[off] = byte(l)
		off += 1 + copy(b[off+1:], key[:l])
		begin += l + 1
	}
	b[off] = 0
	return off + 1
}

// find returns where the name key was written before: a suffix of the
// question, or a name recorded since.
func (f *fastState) find(key string) (int, bool) {
	q := f.qkey
	// The label boundary and the first byte rule out most suffixes before
	// the whole compare.
	if d := len(q) - len(key); d >= 0 && (d == 0 || q[d-1] == '.') && q[d] == key[0] && q[d:] == key {
		return headerLen + d, true
	}
	for _, e := range f.names[:f.nn] {
		if e.key == key {
			return e.off, true
		}
	}
	return 0, false
}

// fastWildcard is the wildcard node that synthesised res (a NODATA, on the
// fast path) for the query name itself, for response rate limiting; "" when
// none did or the answer started with an alias.
func fastWildcard(res zones.Result, alias *zones.Answer) string {
	if !res.Wildcard || alias != nil || res.Node == nil {
		return ""
	}
	return res.Node.Name
}
