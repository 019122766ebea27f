package server

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/ordering"
	"github.com/sitedns/sitedns/zones"
)

// The fast path answers the common query straight from the bytes, in three
// steps: parse reads the header, the question and the OPT without
// miekg/dns; decide (decision.go) makes the same decision the general path
// makes; writeFast writes it from the records the snapshot precompiled
// (zones.Wire), compressing names exactly as miekg/dns does, so that its
// output is byte for byte what the general writer sends for the same
// decision; fast_test.go checks that on the test labs and on random
// configs.
//
// parse takes one question of class IN, lower-case or not, no records but
// an optional OPT whose only option is ECS; anything else (other opcodes,
// ANY, zone transfers, other EDNS options, malformed messages) goes to the
// general path, which parses with miekg/dns. writeFast writes any decision
// whose sets are all precompiled and whose reply fits the client's payload
// size; the rest (wildcard owners, sets without wire form, truncation) is
// written by the general writer from the same decision.
//
// It allocates nothing once its buffers have grown to the largest answer.

// maxFastNames bounds the compression entries of one fast answer: names
// beyond it send the decision to the general writer.
const maxFastNames = 64

// maxCompressionOffset is the first offset a compression pointer cannot
// reach; miekg/dns records no name there.
const maxCompressionOffset = 1 << 14

// nameEntry is a name written into the response, for compression.
type nameEntry struct {
	key string // presentation form, as miekg/dns keys its compression map
	off int
}

// fastState is the fast path's per-caller state, part of scratch.
type fastState struct {
	q     fastQuery
	qname [255]byte // the question name as received, presentation form
	lname [256]byte // the same in lower case (256: a uint8 index needs no bounds check)
	qkey  string    // the question name as sent: lname or qname, valid during one answer
	names [maxFastNames]nameEntry
	nn    int

	sites siteMemo
	// written counts the replies writeFast wrote (for tests).
	written int
}

// fastQuery is what parse found in a query.
type fastQuery struct {
	qEnd    int    // where the question ends
	n       int    // the length of the name in presentation form, fastState.lname[:n]
	mixed   bool   // some byte of the name was not lower case
	qtype   uint16 //
	optOn   bool   // the query has an OPT
	do      bool
	udpSize uint16
	// ecsRaw is the data of the last ECS option, ecsCount how many there
	// were.
	ecsRaw   []byte
	ecsCount int
	// ecs is the option parsed, echo whether to echo it (client_subnet
	// on); set by fast, not parse.
	ecs  ecsOption
	echo bool
}

// siteMemo remembers the site regions of recent client addresses, per
// caller. An authoritative server's clients are mostly a few resolvers, and
// the trie walk of Sites.Region was a tenth of a fast answer's
// instructions. Each entry holds the *ordering.Sites it was found in, so a
// reload that changes the sites misses; an old Sites it keeps alive is a
// few kilobytes.
type siteMemo [16]struct {
	sites *ordering.Sites
	addr  netip.Addr
	site  int32
	bits  int32
}

// lookup is sites.Region(a), from the memo when it holds a.
func (m *siteMemo) lookup(sites *ordering.Sites, a netip.Addr) (site, bits int) {
	e := &m[memoSlot(a)]
	if e.sites == sites && e.addr == a && sites != nil {
		return int(e.site), int(e.bits)
	}
	site, bits = sites.Region(a)
	e.sites, e.addr, e.site, e.bits = sites, a, int32(site), int32(bits)
	return site, bits
}

// memoSlot spreads addresses over the memo by their last bytes.
func memoSlot(a netip.Addr) int {
	b := a.As16()
	return int(b[15]^b[14]>>4^b[13]) & 15
}

// fast answers req when parse takes it: ok false means it did nothing
// observable — nothing counted, no rotation advanced — and the general path
// must answer. serve has checked the header length and QR. Once parse has
// taken the query, the reply is decided here and written by writeFast or,
// when it cannot, by the general writer; ok is then true even when the
// reply is nil (rate limited).
func (s *Server) fast(sc *scratch, dst, req []byte, src netip.AddrPort, t metrics.Transport, start time.Time) (out []byte, ok bool) {
	f := &sc.fast
	q := &f.q
	if !f.parse(req) {
		return nil, false
	}
	snap := s.snap.Load()
	if snap == nil {
		return nil, false
	}
	client := src.Addr().Unmap()
	q.echo = false
	if snap.ClientSubnet && q.ecsCount > 0 {
		e, ok := parseECS(q.ecsRaw)
		if !ok || q.ecsCount > 1 {
			return nil, false // FORMERR, from the general path
		}
		q.ecs, q.echo, client = e, true, e.client
	}

	// Committed: from here on the query is answered here.
	sc.st.query(t, q.qtype)
	lname := unsafe.String(&f.lname[0], q.n)
	// The question as sent, for compression and owners: the lower-case
	// name unless the client mixed case (0x20), which is rare enough to
	// copy again.
	f.qkey = lname
	if q.mixed {
		f.qkey = f.questionName(req)
	}
	d := &sc.dec
	dq := query{name: f.qkey, lname: lname, qtype: q.qtype, client: client, id: binary.BigEndian.Uint16(req), shard: sc.st.rot, do: q.do}
	decide(d, snap, &dq, &f.sites)
	scope := 0
	if q.echo && q.ecs.source != 0 {
		scope = d.scope
	}
	limit := maxTCPSize
	if t == metrics.UDP {
		limit = minUDPSize
		if q.optOn {
			limit = udpCap(int(q.udpSize), snap)
		}
	}
	if size, ok := f.fits(d, limit); ok {
		out = s.writeFast(sc, dst, req, snap, d, size, scope, src.Addr(), t, start)
		f.qkey = ""
		return out, true
	}
	sc.beginFast(req, strings.Clone(f.qkey))
	f.qkey = ""
	if q.echo {
		sc.echoECS(q.ecs.raw, scope)
	}
	sc.peer = src.Addr()
	return s.writeMsg(sc, dst, snap, d, t, limit, start), true
}

// parse reads the header, question and OPT of req into f.q and the name
// into f.lname, and reports whether the fast path takes the query (see
// above). serve has checked the header length.
func (f *fastState) parse(req []byte) bool {
	q := &f.q
	// Header: QUERY, one question, no answer or authority records, at most
	// one additional (the OPT).
	_ = req[headerLen-1]
	if req[2]&0x78 != 0 || req[4] != 0 || req[5] != 1 || req[6]|req[7]|req[8]|req[9]|req[10] != 0 || req[11] > 1 {
		return false
	}
	// The question name, checked to be one miekg/dns would print as is, and
	// lower-cased in one pass: its presentation form is the wire form after
	// the first length byte, with each later length byte (the root's too)
	// turned into a dot. mixed says some byte was not lower case.
	if len(req) <= headerLen || req[headerLen] == 0 || req[headerLen] > 63 {
		return false // the root, or no question
	}
	w := req[headerLen+1 : min(len(req), headerLen+1+254)]
	next := int(req[headerLen]) // where in w the next length byte is
	var mixed byte
	n := 0
	for i := 0; ; i++ {
		if i >= len(w) {
			return false // longer than 255 bytes, or cut short
		}
		b := w[i]
		if i == next {
			f.lname[uint8(i)] = '.'
			if b == 0 {
				n = i + 1
				break
			}
			if b > 63 {
				return false
			}
			next = i + 1 + int(b)
			continue
		}
		l := lowerNameByte[b]
		f.lname[uint8(i)] = l
		if l != b {
			if l == 0 {
				return false
			}
			mixed = 1
		}
	}
	off := headerLen + 1 + n
	if off+4 > len(req) {
		return false // a short question
	}
	q.n, q.mixed = n, mixed != 0
	q.qtype = binary.BigEndian.Uint16(req[off:])
	if binary.BigEndian.Uint16(req[off+2:]) != dns.ClassINET {
		return false
	}
	switch q.qtype {
	case dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR:
		return false
	}
	q.qEnd = off + 4
	return f.parseOPT(req)
}

// parseOPT reads the OPT after the question, which must have no option but
// ECS, and nothing after it.
func (f *fastState) parseOPT(req []byte) bool {
	q := &f.q
	q.optOn, q.do, q.ecsRaw, q.ecsCount, q.udpSize = false, false, nil, 0, 0
	if req[11] == 0 {
		return q.qEnd == len(req)
	}
	o := q.qEnd
	if o+11 > len(req) || req[o] != 0 || binary.BigEndian.Uint16(req[o+1:]) != typeOPT || req[o+6] != 0 {
		return false
	}
	q.udpSize = binary.BigEndian.Uint16(req[o+3:])
	q.do = req[o+7]&0x80 != 0
	end := o + 11 + int(binary.BigEndian.Uint16(req[o+9:]))
	if end != len(req) {
		return false
	}
	for p := o + 11; p < end; {
		if p+4 > end {
			return false
		}
		code := binary.BigEndian.Uint16(req[p:])
		l := int(binary.BigEndian.Uint16(req[p+2:]))
		p += 4
		if code != optionECS || p+l > end {
			return false
		}
		q.ecsRaw = req[p : p+l]
		q.ecsCount++
		p += l
	}
	q.optOn = true
	return true
}

// fits reports whether writeFast can write d within limit bytes: every part
// precompiled, no owner to replace, and the reply certain to fit without
// truncation and without more names than the compression table holds. size
// bounds the bytes it takes.
func (f *fastState) fits(d *decision, limit int) (size int, ok bool) {
	size, names := f.q.qEnd, 0
	for i := range d.parts {
		p := &d.parts[i]
		switch {
		case p.rr != nil:
			if p.wire == nil {
				return 0, false
			}
			size += p.wire.Max()
			names += p.wire.Labels()
		case p.owner != "" || p.ans.Wire == nil:
			return 0, false
		default:
			size += p.ans.Wire.Max
			names += p.ans.Wire.Labels
		}
	}
	if f.q.optOn {
		size += 11
		if f.q.echo {
			size += 4 + len(f.q.ecs.raw)
		}
	}
	return size, size <= limit && names <= maxFastNames
}

// writeFast writes d, which fits in size bytes, as the reply to req with
// ECS scope scope, and counts it as writeMsg would.
func (s *Server) writeFast(sc *scratch, dst, req []byte, snap *zones.Snapshot, d *decision, size, scope int, peer netip.Addr, t metrics.Transport, start time.Time) []byte {
	f := &sc.fast
	q := &f.q
	b := dst[:cap(dst)]
	if len(b) < size {
		b = make([]byte, size)
	}
	b[0], b[1] = req[0], req[1]
	b[2] = 0x80 | req[2]&0x01 // QR, opcode QUERY, RD
	if d.aa {
		b[2] |= 0x04
	}
	b[3] = byte(d.rcode) // RA, Z, AD and CD clear
	clear(b[4:12])
	b[5] = 1
	copy(b[headerLen:q.qEnd], req[headerLen:q.qEnd])
	off := q.qEnd
	f.nn = 0

	var count [3]int
	for i := range d.parts {
		p := &d.parts[i]
		if p.rr != nil {
			off = f.rr(b, off, p.wire)
			count[p.sec]++
			continue
		}
		w := p.ans.Wire
		// Owners that are the question as sent are pointers to it, and the
		// records without names in their RDATA are then fixed bytes. The
		// first answer part is at the question; the choice is made inline
		// per record, since a helper making it would be too large to
		// inline and add a call per record.
		atQuestion := i == 0 && p.sec == secAnswer && !q.mixed
		for _, j := range d.order[p.lo:p.hi] {
			r := &w.RRs[j]
			if atQuestion && r.LowerOwner() {
				off = f.rrAtQuestion(b, off, r)
			} else {
				off = f.rr(b, off, r)
			}
		}
		count[p.sec] += p.hi - p.lo
	}
	if q.optOn {
		off = f.opt(b, off, scope)
		count[secAdditional]++
	}
	binary.BigEndian.PutUint16(b[6:], uint16(count[secAnswer]))
	binary.BigEndian.PutUint16(b[8:], uint16(count[secAuthority]))
	binary.BigEndian.PutUint16(b[10:], uint16(count[secAdditional]))
	f.written++

	row := snap.Counters.Tally.Row(sc.st.rot)
	countSite(row, snap, d)
	out := b[:off]
	full := true
	if snap.RateLimit != nil { // spares the answer without [rrl] a call
		if out, full = s.limitKeyed(sc.st, t, snap, out, peer, d.wildcard); out == nil {
			return nil
		}
	}
	if full {
		countDelivered(row, d)
	}
	sc.done(d.rcode, t, start)
	return out
}

// opt writes the reply's OPT at off: our payload size, DO echoed, and the
// query's ECS option with scope when it is echoed.
func (f *fastState) opt(b []byte, off, scope int) int {
	q := &f.q
	b[off] = 0
	binary.BigEndian.PutUint16(b[off+1:], typeOPT)
	binary.BigEndian.PutUint16(b[off+3:], advertiseSize)
	b[off+5], b[off+6], b[off+7], b[off+8] = 0, 0, 0, 0
	if q.do {
		b[off+7] = 0x80
	}
	rdlen := 0
	if q.echo {
		rdlen = 4 + len(q.ecs.raw)
	}
	binary.BigEndian.PutUint16(b[off+9:], uint16(rdlen))
	off += 11
	if q.echo {
		binary.BigEndian.PutUint16(b[off:], optionECS)
		binary.BigEndian.PutUint16(b[off+2:], uint16(len(q.ecs.raw)))
		copy(b[off+4:], q.ecs.raw)
		b[off+4+3] = byte(scope)
		off += rdlen
	}
	return off
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
