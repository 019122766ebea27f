package zones

import (
	"bytes"
	"cmp"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/dnssec"
)

// A signed zone ([zone.dnssec]) is signed whole when its snapshot compiles:
// every answer set of every scope view (each scope, and the default) gets
// its RRSIGs, and every name its NSEC or NSEC3 record per view, so the
// query path only looks signatures up. The views share their names (a
// name that only some scopes see is, for the others, a name without
// types, as their NODATA answers already say) and differ in the type
// bitmaps of the names that are site-aware: a client of one scope can
// validate what its scope is told, and cannot be shown another scope's
// types.

// Signing defaults.
const (
	defaultValidity = 14 * 24 * time.Hour
	defaultRefresh  = 4 * 24 * time.Hour
)

// Signing is how a zone was signed, and its denial chain. Immutable after
// construction.
type Signing struct {
	// NSEC3 says denial is by NSEC3 (RFC 5155, SHA-1, no salt, no extra
	// iterations); otherwise by NSEC.
	NSEC3 bool
	// Keys are the zone's keys, in the order the config lists them.
	Keys []*dnssec.Key
	// Inception and Expiration bound every signature of the zone.
	Inception, Expiration time.Time
	// ResignAt is when less than the refresh period remains: the zone must
	// be signed again by then.
	ResignAt time.Time
	// NegSOASig holds the RRSIGs of the SOA with the TTL of the SOA in
	// negative answers (Zone.NegativeSOA).
	NegSOASig *Answer

	// signer signed the zone; it signs, for the same period, the sets that
	// health checks make later (a set without its dead records).
	signer *dnssec.Signer

	// chain is every authoritative name in chain order: by hash for NSEC3,
	// canonical order for NSEC; hashes[i] or keys[i] is chain[i]'s.
	chain  []*Node
	hashes [][dnssec.HashSize]byte
	keys   []string
	// views[v+1] is the chain of view v when that view does not have some
	// name (views.go); nil when it has them all and uses chain.
	views []*viewChain

	// xfr is the default view's chain as a zone transfer sends it, whose
	// records hold only the names that own records in the default view
	// (or are above one): a name only some scopes answer would otherwise
	// leave an NSEC3 record without its name in the transferred zone.
	// xfr[name] is the record of the name when it differs from its
	// Denial.Default; a nil
	// entry leaves n out.
	xfr map[string]*Answer
}

// viewChain is the chain of a view that does not have every name: the
// indices into Signing.chain of the names it has, in chain order, with
// their hashes (NSEC3) or canonical keys (NSEC).
type viewChain struct {
	idx    []int32
	hashes [][dnssec.HashSize]byte
	keys   []string
}

// TransferDenial is the NSEC or NSEC3 record of n, with its Sig, in a zone
// transfer of the default view; nil when n is not in it.
func (s *Signing) TransferDenial(n *Node) *Answer {
	if a, ok := s.xfr[n.Name]; ok {
		return a
	}
	if n.Denial == nil {
		return nil
	}
	return n.Denial.Default
}

// dnssecTypes are the types the signer makes; a zone that is signed may
// not hold them itself.
var dnssecTypes = []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY}

// sign signs zone z per dc.
func (c *compiler) sign(z *Zone, dc *dnssecConfig, blk span, field string) {
	s := &Signing{NSEC3: true}
	validity, refresh := defaultValidity, defaultRefresh
	okV, okR := true, true
	if dc.SignatureValidity != nil {
		validity, okV = c.duration(blk, "signature_validity", *dc.SignatureValidity, field)
	}
	if dc.Refresh != nil {
		refresh, okR = c.duration(blk, "refresh", *dc.Refresh, field)
	}
	if okV && okR && refresh >= validity {
		shown := "4d"
		if dc.Refresh != nil {
			shown = *dc.Refresh
		}
		c.addf(c.loc.key(blk, "refresh"), field+": refresh", shown, "must be shorter than signature_validity (%s)", validity)
	}
	if dc.Denial != nil {
		switch *dc.Denial {
		case "nsec3":
		case "nsec":
			s.NSEC3 = false
		default:
			c.add(c.loc.value(blk, "denial", *dc.Denial), field+": denial", *dc.Denial, "want nsec3 or nsec")
		}
	}
	s.Keys = c.keys(z.Origin, dc.Keys, blk, field)
	for _, n := range c.nodes {
		for _, set := range n.Sets {
			if slices.Contains(dnssecTypes, set.Type) {
				c.addf(c.loc.key(blk, "keys"), field, n.Name, "a signed zone may not hold %s records: the signer makes them", dns.TypeToString[set.Type])
			}
		}
	}
	if len(s.Keys) == 0 || len(c.errs) > 0 {
		return
	}
	now := time.Now()
	c.signedSerial(z, now)
	signer := dnssec.NewSigner(s.Keys, now, validity)
	s.Inception, s.Expiration = signer.Inception, signer.Expiration
	s.ResignAt = s.Expiration.Add(-refresh)
	s.signer = signer
	z.DNSSEC = s

	c.apexKeys(z, signer)
	c.chain(z, s)
	c.signAll(z, signer, field)
}

// serialEpoch is where the seconds that a signed zone's serial adds to the
// config's start (signedSerial).
var serialEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// SignedSerial is the SOA serial of a zone signed at t whose config (or
// primary) gives it serial: serial plus the whole seconds from 2026-01-01
// 00:00 UTC to t, in serial arithmetic (RFC 1982). Each signing makes new
// signatures, and a secondary fetches them only when the serial moves
// forward: this moves it at every signing, across restarts too, since it
// follows the clock rather than a count kept in memory; raising the
// config's serial raises it as well. Within one second two signings share
// a serial (either's signatures are valid). It grows by about 31.5 million
// a year, far from the 2^31 one step may add. BIND's inline signing and
// Knot keep a signed serial apart from the unsigned one in the same way.
func SignedSerial(serial uint32, t time.Time) uint32 {
	return serial + uint32(max(0, t.Sub(serialEpoch)/time.Second))
}

// signedSerial gives z, about to be signed at now, its SignedSerial: a new
// SOA in the apex SOA set (whose Answer every view shares) and in the
// negative answers. The SOA the config or a transfer gave is left as it is:
// a secondary zone's refresh compares the primary's serial with its own.
func (c *compiler) signedSerial(z *Zone, now time.Time) {
	set := z.Nodes[z.Origin].Set(dns.TypeSOA)
	if set == nil || set.Default == nil || len(set.Default.RRs) != 1 {
		return // apex reported it
	}
	soa := dns.Copy(z.SOA).(*dns.SOA)
	soa.Serial = SignedSerial(soa.Serial, now)
	a := set.Default
	a.RRs = []dns.RR{soa}
	a.Wire = compileWire(a.RRs, &c.mem.wire)
	z.SOA = soa
	z.NegativeSOA = negativeSOA(soa)
	z.NegSOA = negativeSOAWire(z.NegativeSOA)
}

// duration parses a signing period: a Go duration ("36h", "90s") or a
// whole number of days or weeks ("14d", "2w").
func (c *compiler) duration(blk span, key, v, field string) (time.Duration, bool) {
	d, err := parsePeriod(v)
	if err != nil || d <= 0 {
		c.add(c.loc.value(blk, key, v), field+": "+key, v, "want a positive period such as 14d, 36h or 90s")
		return 0, false
	}
	return d, true
}

func parsePeriod(v string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			i, err := strconv.Atoi(n)
			return time.Duration(i) * unit, err
		}
	}
	return time.ParseDuration(v)
}

// keys loads the key files of a zone, relative to the config's directory.
func (c *compiler) keys(origin string, paths []string, blk span, field string) []*dnssec.Key {
	if len(paths) == 0 {
		c.add(c.loc.key(blk, "keys"), field+": keys", "", "no keys: give one CSK, or a KSK and a ZSK (BIND key files, without .key or .private)")
		return nil
	}
	if c.dir == "" {
		c.add(c.loc.key(blk, "keys"), field+": keys", "", "key files are not allowed in this config")
		return nil
	}
	var keys []*dnssec.Key
	for _, p := range paths {
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(c.dir, p)
		}
		k, err := dnssec.LoadKey(full)
		if err != nil {
			c.add(c.loc.value(blk, "keys", p), field+": keys", p, err.Error())
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) != len(paths) {
		return nil
	}
	for _, err := range dnssec.CheckKeys(origin, keys) {
		c.add(c.loc.key(blk, "keys"), field+": keys", "", err.Error())
	}
	return keys
}

// apexKeys adds the DNSKEY, CDS and CDNSKEY RRsets to the apex (CDS and
// CDNSKEY of the SEP keys, RFC 7344), and the NSEC3PARAM for NSEC3, with the
// SOA's TTL (the NSEC3PARAM's is 0, RFC 5155 §4).
func (c *compiler) apexKeys(z *Zone, signer *dnssec.Signer) {
	n := z.Nodes[z.Origin]
	ttl := z.SOA.Hdr.Ttl
	var keys, cds, cdnskey []dns.RR
	for _, k := range z.DNSSEC.Keys {
		dk := *k.DNSKEY
		dk.Hdr.Ttl = ttl
		keys = append(keys, &dk)
		if k.SEP() {
			ds := dnssec.DS(k, ttl).ToCDS()
			cds = append(cds, ds)
			ck := dk.ToCDNSKEY()
			ck.Hdr.Ttl = ttl
			cdnskey = append(cdnskey, ck)
		}
	}
	add := func(rrs []dns.RR) {
		if len(rrs) == 0 {
			return
		}
		n.Sets = append(n.Sets, &RRset{Type: rrs[0].Header().Rrtype, Default: &Answer{Scope: "default", RRs: rrs, Wire: compileWire(rrs, &c.mem.wire)}})
		z.Records += len(rrs)
	}
	add(keys)
	add(cds)
	add(cdnskey)
	if z.DNSSEC.NSEC3 {
		add([]dns.RR{dnssec.NSEC3PARAM(z.Origin)})
	}
	slices.SortFunc(n.Sets, func(a, b *RRset) int { return cmp.Compare(a.Type, b.Type) })
}

// authoritative reports whether n holds the zone's own data: it is not
// below a delegation (where only glue lives).
func authoritative(z *Zone, n *Node) bool {
	if !z.hasCuts {
		return true
	}
	for name := n.Name; name != z.Origin; {
		i := strings.IndexByte(name, '.')
		if i < 0 || i == len(name)-1 {
			return true
		}
		name = name[i+1:]
		if p := z.Nodes[name]; p != nil && p.Cut {
			return false
		}
	}
	return true
}

// chain orders the zone's authoritative names and makes each its NSEC or
// NSEC3 record per view.
func (c *compiler) chain(z *Zone, s *Signing) {
	for _, n := range c.nodes {
		if authoritative(z, n) {
			s.chain = append(s.chain, n)
		}
	}
	if s.NSEC3 {
		type hashed struct {
			h [dnssec.HashSize]byte
			n *Node
		}
		hs := make([]hashed, len(s.chain))
		for i, n := range s.chain {
			hs[i].h, _ = dnssec.Hash(n.Name)
			hs[i].n = n
		}
		slices.SortFunc(hs, func(a, b hashed) int { return bytes.Compare(a.h[:], b.h[:]) })
		s.hashes = make([][dnssec.HashSize]byte, len(hs))
		for i := range hs {
			s.chain[i], s.hashes[i] = hs[i].n, hs[i].h
		}
	} else {
		type keyed struct {
			k string
			n *Node
		}
		ks := make([]keyed, len(s.chain))
		var buf []byte
		for i, n := range s.chain {
			buf, _ = dnssec.CanonicalKey(buf[:0], n.Name)
			ks[i] = keyed{string(buf), n}
		}
		slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.k, b.k) })
		s.keys = make([]string, len(ks))
		for i := range ks {
			s.chain[i], s.keys[i] = ks[i].n, ks[i].k
		}
	}
	ttl := z.NegativeSOA.Hdr.Ttl
	views := len(c.scopeNames)
	nexts := c.viewChains(z, s, views)
	for i, n := range s.chain {
		record := func(next int, types []uint16) dns.RR {
			if s.NSEC3 {
				return dnssec.NSEC3(z.Origin, s.hashes[i], s.hashes[next], ttl, types)
			}
			return &dns.NSEC{Hdr: dns.RR_Header{Name: n.Name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl}, NextDomain: s.chain[next].Name, TypeBitMap: types}
		}
		next := func(v int) int {
			if nx := nexts[v+1]; nx != nil && nx[i] >= 0 {
				return int(nx[i])
			}
			return (i + 1) % len(s.chain)
		}
		d := &RRset{Type: dns.TypeNSEC}
		if s.NSEC3 {
			d.Type = dns.TypeNSEC3
		}
		deflt, dnext := viewTypes(n, -1, s.NSEC3), next(-1)
		d.Default = &Answer{Scope: "default", RRs: []dns.RR{record(dnext, deflt)}}
		if n.hidden != 0 || slices.ContainsFunc(n.Sets, (*RRset).SiteAware) || slices.ContainsFunc(nexts, func(nx []int32) bool { return nx != nil }) {
			d.ByScope = make([]*Answer, views)
			for j := range views {
				if n.hiddenIn(z, j) {
					continue // not in view j's chain: never handed out there
				}
				ts, nx := viewTypes(n, j, s.NSEC3), next(j)
				if !slices.Equal(ts, deflt) || nx != dnext {
					d.ByScope[j] = &Answer{Scope: c.scopeNames[j], RRs: []dns.RR{record(nx, ts)}}
				}
			}
			for len(d.ByScope) > 0 && d.ByScope[len(d.ByScope)-1] == nil {
				d.ByScope = d.ByScope[:len(d.ByScope)-1]
			}
		}
		n.Denial = d
		d.Default.Wire = compileWire(d.Default.RRs, &c.mem.wire)
		for _, a := range d.ByScope {
			if a != nil {
				a.Wire = compileWire(a.RRs, &c.mem.wire)
			}
		}
	}
	c.transferChain(z, s, ttl)
}

// transferChain makes s.xfr: the names of the default view, each pointing
// at the next of them.
func (c *compiler) transferChain(z *Zone, s *Signing, ttl uint32) {
	in := map[*Node]bool{z.Nodes[z.Origin]: true}
	for _, n := range s.chain {
		if len(viewTypes(n, -1, true)) == 0 || in[n] {
			continue
		}
		for name := n.Name; ; {
			p := z.Nodes[name]
			if p == nil || in[p] {
				break
			}
			in[p] = true
			i := strings.IndexByte(name, '.')
			if name == z.Origin || i < 0 || i == len(name)-1 {
				break
			}
			name = name[i+1:]
		}
	}
	s.xfr = map[string]*Answer{}
	var xs []int // indices into s.chain of the default view's names
	for i, n := range s.chain {
		if in[n] {
			xs = append(xs, i)
		} else {
			s.xfr[n.Name] = nil
		}
	}
	for k, i := range xs {
		next := xs[(k+1)%len(xs)]
		if next == (i+1)%len(s.chain) {
			continue
		}
		n := s.chain[i]
		types := viewTypes(n, -1, s.NSEC3)
		var rr dns.RR
		if s.NSEC3 {
			rr = dnssec.NSEC3(z.Origin, s.hashes[i], s.hashes[next], ttl, types)
		} else {
			rr = &dns.NSEC{Hdr: dns.RR_Header{Name: n.Name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl}, NextDomain: s.chain[next].Name, TypeBitMap: types}
		}
		s.xfr[n.Name] = &Answer{Scope: "default", RRs: []dns.RR{rr}}
	}
}

// viewChains makes s.views, the chains of the views that lack some name
// (Node.hidden), and returns, for each such view v, nexts[v+1][i]: the
// index in s.chain of the name after s.chain[i] in that view (-1 for a
// name the view does not have); nexts[v+1] is nil for a view with every
// name, whose next is the chain's.
func (c *compiler) viewChains(z *Zone, s *Signing, views int) [][]int32 {
	nexts := make([][]int32, views+1)
	s.views = make([]*viewChain, views+1)
	if len(z.hidden) == 0 {
		return nexts
	}
	for v := -1; v < views; v++ {
		vc := &viewChain{}
		for i, n := range s.chain {
			if !n.hiddenIn(z, v) {
				vc.idx = append(vc.idx, int32(i))
			}
		}
		if len(vc.idx) == len(s.chain) {
			continue
		}
		nx := make([]int32, len(s.chain))
		for i := range nx {
			nx[i] = -1
		}
		for k, i := range vc.idx {
			nx[i] = vc.idx[(k+1)%len(vc.idx)]
			if s.NSEC3 {
				vc.hashes = append(vc.hashes, s.hashes[i])
			} else {
				vc.keys = append(vc.keys, s.keys[i])
			}
		}
		s.views[v+1], nexts[v+1] = vc, nx
	}
	return nexts
}

// viewTypes lists the types at n that scope j (-1: the default view) sees,
// in order, with RRSIG when one of them is signed and NSEC for an NSEC
// chain: the type bitmap of n's NSEC or NSEC3 record in that view.
func viewTypes(n *Node, j int, nsec3 bool) []uint16 {
	var ts []uint16
	signed := !nsec3
	for _, set := range n.Sets {
		if a := set.For(j); a != nil && len(a.RRs) > 0 {
			ts = append(ts, set.Type)
			signed = signed || !(n.Cut && set.Type == dns.TypeNS)
		}
	}
	if signed {
		ts = append(ts, dns.TypeRRSIG)
	}
	if !nsec3 {
		ts = append(ts, dns.TypeNSEC)
	}
	slices.Sort(ts)
	return ts
}

// signAll signs every answer set of every authoritative name and every
// denial record, on every core: a 100,000-name zone takes over 100,000
// signatures.
func (c *compiler) signAll(z *Zone, signer *dnssec.Signer, field string) {
	var jobs []*Answer
	seen := map[*Answer]bool{}
	add := func(a *Answer) {
		if a != nil && len(a.RRs) > 0 && !seen[a] {
			seen[a] = true
			jobs = append(jobs, a)
		}
	}
	for _, n := range z.DNSSEC.chain {
		for _, set := range n.Sets {
			if n.Cut && set.Type == dns.TypeNS {
				continue // the child's, not ours (RFC 4035 §2.2)
			}
			add(set.Default)
			for _, a := range set.ByScope {
				add(a)
			}
		}
		add(n.Denial.Default)
		for _, a := range n.Denial.ByScope {
			add(a)
		}
		add(z.DNSSEC.xfr[n.Name])
	}
	sigs := make([][]dns.RR, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(jobs)/64+1)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(jobs); i += workers {
				rrs := jobs[i].RRs
				if owner := rrs[0].Header().Name; slices.ContainsFunc(rrs[1:], func(r dns.RR) bool { return r.Header().Name != owner }) {
					errs[i] = fmt.Errorf("records of one RRset with owners %s and %s", owner, rrs[1].Header().Name)
					continue
				}
				sigs[i], errs[i] = signer.Sign(rrs)
			}
		})
	}
	wg.Wait()
	for i, a := range jobs {
		if errs[i] != nil {
			c.add(0, field, a.RRs[0].Header().Name, errs[i].Error())
			continue
		}
		a.Sig = &Answer{Scope: a.Scope, RRs: sigs[i], Wire: compileWire(sigs[i], &c.mem.wire)}
	}
	if soa := z.Nodes[z.Origin].Set(dns.TypeSOA); soa != nil && soa.Default.Sig != nil {
		neg := make([]dns.RR, len(soa.Default.Sig.RRs))
		for i, rr := range soa.Default.Sig.RRs {
			cp := *rr.(*dns.RRSIG)
			cp.Hdr.Ttl = z.NegativeSOA.Hdr.Ttl
			neg[i] = &cp
		}
		z.DNSSEC.NegSOASig = &Answer{Scope: "default", RRs: neg, Wire: compileWire(neg, &c.mem.wire)}
	}
}

// Signed reports whether some zone of the snapshot is signed.
func (s *Snapshot) Signed() bool { return !s.ResignAt.IsZero() }
