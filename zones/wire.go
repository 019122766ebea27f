package zones

import (
	"encoding/binary"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Wire is an answer set precompiled for the server's fast path: every record
// split into the parts that never change (TYPE, CLASS, TTL, the RDATA bytes
// around its domain names) and the names, which the server compresses per
// response so that the bytes match what miekg/dns packs for the same message.
// Immutable after construction.
type Wire struct {
	// RRs[i] is RRs[i] of the Answer, precompiled.
	RRs []WireRR
	// Max bounds the bytes RRs take in a message, without compression.
	Max int
	// Labels bounds the compression entries the records' names can add.
	Labels int
	// Alias is the lower-case target of a CNAME RRset of one record, the
	// name the fast path looks up next ("" for any other RRset).
	Alias string
	// Targets is set when the records name hosts whose addresses go in the
	// additional section (SRV, MX, NS), and nil otherwise: apart, so that
	// the far more common address records do not carry its fields (a Wire
	// is 64 bytes rather than 120; TestWireSize).
	Targets *WireTargets
}

// WireTargets are the additional-section targets of a Wire's records.
type WireTargets struct {
	// Target[i] is the lower-case target of RRs[i] ("" for none, as for
	// the root).
	Target []string
	// Distinct counts the distinct non-empty targets.
	Distinct int
	// Additional[i] holds the address sets of Target[i], looked up once
	// the snapshot was compiled (nil for a Wire made otherwise): the fast
	// path then looks no target up per query.
	Additional []Additional
}

// Additional is what Snapshot.Lookup gives for the A and AAAA records of one
// SRV, MX or NS target: the RRset of that type (nil when the lookup is not
// an answer of that type), and whether it came through a wildcard.
type Additional struct {
	A, AAAA             *RRset
	AWildcard, AAAAWild bool
}

// WireRR is one record precompiled for the fast path. It packs as Owner,
// Head, then RDATA: Data[:Split], the Names (compressed per Compress, as
// miekg/dns does for the type), Data[Split:]. Immutable.
type WireRR struct {
	// Owner is the owner name as the record holds it (miekg/dns packs it as
	// it is, so its case matters for compression).
	Owner string
	// Head is TYPE, CLASS and TTL.
	Head [8]byte
	// Data is the RDATA without its names, split at Split.
	Data  []byte
	Split int
	// Names are the domain names in the RDATA, NumNames of them.
	Names    [2]string
	NumNames int
	// Compress says the names may be compressed (not for SRV, RFC 2782).
	Compress bool

	// lowerOwner, labels and max are made once by wireRR, since the fast
	// path asks for them on every answer; they fit in the struct's padding.
	lowerOwner bool
	labels     uint16
	max        int32
}

// Max is the most bytes r takes in a message: no name compressed.
func (r *WireRR) Max() int { return int(r.max) }

// Labels is how many compression entries r's names can add.
func (r *WireRR) Labels() int { return int(r.labels) }

// LowerOwner reports whether Owner is in lower case. The owner is then the
// node's name byte for byte, and a lower-case question for it is the owner
// itself: miekg/dns packs the owner as a pointer to the question.
func (r *WireRR) LowerOwner() bool { return r.lowerOwner }

// measure sets max, labels and lowerOwner once the names are known.
func (r *WireRR) measure() {
	n := nameLen(r.Owner) + 10 + len(r.Data)
	l := dns.CountLabel(r.Owner)
	for _, s := range r.Names[:r.NumNames] {
		n += nameLen(s)
		l += dns.CountLabel(s)
	}
	r.max, r.labels = int32(n), uint16(l)
	r.lowerOwner = !strings.ContainsFunc(r.Owner, func(c rune) bool { return c >= 'A' && c <= 'Z' })
}

// nameLen is the wire length of a simple fully qualified name.
func nameLen(s string) int {
	if s == "." {
		return 1
	}
	return len(s) + 1
}

// compileWire precompiles rrs for the fast path, or returns nil when some
// record holds a name or a type the fast path does not pack. The Wire and
// its records are taken from m.
func compileWire(rrs []dns.RR, m *wireMem) *Wire {
	if len(rrs) == 0 {
		return nil
	}
	w := m.wires.new()
	w.RRs = m.rrs.take(len(rrs))
	for i, rr := range rrs {
		if !wireRR(&w.RRs[i], rr, &m.data) {
			return nil
		}
		w.Max += w.RRs[i].Max()
		w.Labels += w.RRs[i].Labels()
	}
	switch rrs[0].Header().Rrtype {
	case dns.TypeCNAME:
		if r := &w.RRs[0]; len(rrs) == 1 && r.NumNames == 1 {
			w.Alias = strings.ToLower(r.Names[0])
		}
	case dns.TypeSRV, dns.TypeMX, dns.TypeNS:
		ts := &WireTargets{Target: make([]string, len(rrs))}
		w.Targets = ts
		seen := map[string]bool{}
		for i := range w.RRs {
			r := &w.RRs[i]
			t := strings.ToLower(r.Names[0])
			if r.NumNames == 0 || t == "." || t == "" {
				continue
			}
			ts.Target[i] = t
			if !seen[t] {
				seen[t] = true
				ts.Distinct++
			}
		}
		m.targeted = append(m.targeted, w)
	}
	return w
}

// linkTargets fills in the Additional sets of ws from s, which must be
// whole: a target may be anywhere in the snapshot.
func (s *Snapshot) linkTargets(ws []*Wire) {
	for _, w := range ws {
		ts := w.Targets
		ts.Additional = make([]Additional, len(ts.Target))
		for i, t := range ts.Target {
			if t == "" {
				continue
			}
			a := &ts.Additional[i]
			a.A, a.AWildcard = s.targetSet(t, dns.TypeA)
			a.AAAA, a.AAAAWild = s.targetSet(t, dns.TypeAAAA)
		}
	}
}

// targetSet is the RRset of type t at name as Lookup finds it, nil when
// that is not an answer of type t.
func (s *Snapshot) targetSet(name string, t uint16) (*RRset, bool) {
	res := s.Lookup(name, t)
	if res.Kind != KindAnswer || res.Set == nil || res.Set.Type != t {
		return nil, false
	}
	return res.Set, res.Wildcard
}

// negativeSOAWire is the SOA of negative answers precompiled. Nil if it
// cannot be.
func negativeSOAWire(neg *dns.SOA) *WireRR {
	if neg == nil {
		return nil
	}
	r := new(WireRR)
	var data slab[byte]
	if !wireRR(r, neg, &data) {
		return nil
	}
	return r
}

// wireRR fills r from rr, taking RDATA bytes from data; false when the fast
// path cannot pack it.
func wireRR(r *WireRR, rr dns.RR, data *slab[byte]) bool {
	h := rr.Header()
	if !simpleName(h.Name) {
		return false
	}
	r.Owner = h.Name
	binary.BigEndian.PutUint16(r.Head[0:], h.Rrtype)
	binary.BigEndian.PutUint16(r.Head[2:], h.Class)
	binary.BigEndian.PutUint32(r.Head[4:], h.Ttl)
	var names []string
	switch v := rr.(type) {
	case *dns.A:
		if ip := v.A.To4(); ip != nil {
			// The common record, whose RDATA is the address as PackRR
			// writes it: no need to pack the whole record to find it.
			r.Data = data.take(net.IPv4len)
			copy(r.Data, ip)
			r.Split = len(r.Data)
			r.measure()
			return true
		}
		return packRData(r, rr)
	case *dns.AAAA, *dns.TXT, *dns.CAA,
		*dns.NSEC3, *dns.NSEC3PARAM, *dns.DNSKEY, *dns.CDNSKEY, *dns.DS, *dns.CDS:
		return packRData(r, rr)
	case *dns.RRSIG:
		// Type covered to key tag (18 bytes), the signer, the signature.
		return packAround(r, rr, 18, v.SignerName)
	case *dns.NSEC:
		// The next name, then the type bitmap.
		return packAround(r, rr, 0, v.NextDomain)
	case *dns.SRV:
		r.Data = binary.BigEndian.AppendUint16(r.Data, v.Priority)
		r.Data = binary.BigEndian.AppendUint16(r.Data, v.Weight)
		r.Data = binary.BigEndian.AppendUint16(r.Data, v.Port)
		names = []string{v.Target}
	case *dns.MX:
		r.Data = binary.BigEndian.AppendUint16(r.Data, v.Preference)
		names = []string{v.Mx}
		r.Compress = true
	case *dns.NS:
		names = []string{v.Ns}
		r.Compress = true
	case *dns.CNAME:
		names = []string{v.Target}
		r.Compress = true
	case *dns.PTR:
		names = []string{v.Ptr}
		r.Compress = true
	case *dns.SOA:
		names = []string{v.Ns, v.Mbox}
		r.Compress = true
		r.Split = 0
		for _, x := range [...]uint32{v.Serial, v.Refresh, v.Retry, v.Expire, v.Minttl} {
			r.Data = binary.BigEndian.AppendUint32(r.Data, x)
		}
		for i, s := range names {
			if !simpleName(s) {
				return false
			}
			r.Names[i] = s
		}
		r.NumNames = len(names)
		r.measure()
		return true
	default:
		return false
	}
	r.Split = len(r.Data)
	for i, s := range names {
		if !simpleName(s) {
			return false
		}
		r.Names[i] = s
	}
	r.NumNames = len(names)
	r.measure()
	return true
}

// packRData fills r's RDATA from rr, which holds no names, packed as
// miekg/dns packs it.
func packRData(r *WireRR, rr dns.RR) bool {
	h := rr.Header()
	buf := make([]byte, 4+nameLen(h.Name)+10+dns.Len(rr))
	end, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return false
	}
	start := nameLen(h.Name) + 10
	if start > end {
		return false
	}
	r.Data = append([]byte(nil), buf[start:end]...)
	r.Split = len(r.Data)
	r.measure()
	return true
}

// packAround fills r's RDATA from rr, whose RDATA is prefix bytes, the one
// name (never compressed, as miekg/dns packs an RRSIG's signer and an NSEC's
// next name), and the rest, packed as miekg/dns packs it.
func packAround(r *WireRR, rr dns.RR, prefix int, name string) bool {
	if !simpleName(name) {
		return false
	}
	h := rr.Header()
	buf := make([]byte, 4+nameLen(h.Name)+10+dns.Len(rr))
	end, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return false
	}
	start := nameLen(h.Name) + 10
	tail := start + prefix + nameLen(name)
	if tail > end {
		return false
	}
	r.Data = append(append([]byte(nil), buf[start:start+prefix]...), buf[tail:end]...)
	r.Split = prefix
	r.Names[0], r.NumNames = name, 1
	r.measure()
	return true
}

// simpleName reports whether s is a fully qualified name whose presentation
// form is its wire form label for label: no escapes, no characters miekg/dns
// would escape, no empty label, within 255 bytes on the wire.
func simpleName(s string) bool {
	if s == "." {
		return true
	}
	if len(s) < 2 || len(s) > 254 || s[len(s)-1] != '.' {
		return false
	}
	l := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if l == 0 || l > 63 {
				return false
			}
			l = 0
			continue
		}
		if !SimpleNameByte(c) {
			return false
		}
		l++
	}
	return true
}

// SimpleNameByte reports whether c stands for itself in a name's
// presentation form as miekg/dns writes it (printable ASCII other than
// the characters it escapes).
func SimpleNameByte(c byte) bool {
	if c <= ' ' || c >= 0x7F {
		return false
	}
	switch c {
	case '.', '\'', '@', ';', '(', ')', '"', '\\', '$':
		return false
	}
	return true
}

// negativeSOA is soa with the TTL of negative answers: min(SOA TTL, SOA
// MINIMUM) (RFC 2308 §3).
func negativeSOA(soa *dns.SOA) *dns.SOA {
	neg := *soa
	neg.Hdr.Ttl = min(neg.Hdr.Ttl, neg.Minttl)
	return &neg
}
