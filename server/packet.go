package server

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// Message size limits.
const (
	minUDPSize    = 512   // RFC 1035 §4.2.1; also the limit without EDNS
	maxUDPSize    = 4096  // the ceiling of a snapshot's MaxUDPSize, and the UDP buffers' size
	maxTCPSize    = 65535 // RFC 1035 §4.2.2
	advertiseSize = 1232  // the payload size our OPT advertises (DNS flag day 2020)
)

// scratch is the per-query state of one caller: reused across queries by a
// UDP reader or a TCP connection, pooled for ServePacket. Never shared.
type scratch struct {
	st   stats // where this caller's counts go (a shard for a UDP reader)
	req  dns.Msg
	resp dns.Msg
	dec  decision // the decision of the current query

	// OPT of the response: optOn says the query had one.
	opt     dns.OPT
	optOn   bool
	optDO   bool
	ecsOn   bool // echo ECS
	ecs     dns.EDNS0_LOCAL
	ecsData []byte
	options [1]dns.EDNS0

	fast fastState // the fast path's buffers

	// tap and tapName are tapAnswer's, used only with a Config.Tap.
	tap     TapEvent
	tapName []byte

	// tsig is what the query's TSIG asks of its answer (checkTSIG).
	tsig tsigQuery

	// peer is the packet's source address (never the ECS address): what
	// response rate limiting keys on. serve sets it for the general path.
	peer netip.Addr

	// batched is set by the UDP batch readers: done then leaves the
	// latency to the reader, which records the whole batch at once, and
	// counts the queries answered in answered.
	batched  bool
	answered int
}

func newScratch(st stats) *scratch { return &scratch{st: st} }

// ServePacket answers the DNS message req received from src over t and
// returns the response appended to dst[:0] (reusing dst's array when it is
// large enough), or nil when the message gets no reply. It is the single
// entry point of both transports and safe for concurrent use; it never
// panics (a panic is recovered, logged and counted as DropPanic).
//
// Over metrics.UDP the response fits the client's EDNS payload size (512
// bytes without EDNS, at most the snapshot's MaxUDPSize, 1232 by default); over metrics.TCP it may take 65535
// bytes. An allowed zone transfer, which the server's own TCP connections
// stream in several messages, is answered here as one message when the zone
// fits in 65535 bytes, and SERVFAIL otherwise.
//
// What it answers, per docs/design.md#answers:
//
//   - The header: ID and opcode copied, QR set, RA never. RD is copied under
//     opcode QUERY (RFC 1035 §4.1.1) and cleared under any other, whose flag
//     bits mean something we do not implement (RFC 2136 §2.2 makes them zero
//     in UPDATE). CD is never set: an authoritative server validates nothing
//     and SHOULD clear it (RFC 4035 §3.1.6), as NSD 4.6 and Knot 3.2 do.
//   - Shorter than a header, or QR=1: no reply (DropMalformed, DropResponse).
//   - A header followed by garbage, section counts that overrun the message,
//     an OPT out of place or twice: FORMERR with the ID, and the question
//     when it can be read.
//   - NOTIFY (RFC 1996) for a secondary zone from an address in its
//     notify_from: Config.Notify is called and the reply is the NOTIFY
//     response (AA, the question echoed); any other NOTIFY: REFUSED.
//   - Opcode other than QUERY and NOTIFY: NOTIMP. QDCOUNT other than 1: FORMERR. EDNS
//     version above 0: BADVERS. Class other than IN: REFUSED, but for the
//     CHAOS TXT queries id.server and hostname.bind when [server] identity
//     is set, version.bind and version.server when [server] version is
//     (an authoritative TXT with TTL 0). AXFR and IXFR:
//     REFUSED over UDP, and over TCP unless the packet source is in
//     Snapshot.AXFRAllow; an allowed IXFR gets the differences from the
//     client's serial when the zone's deltas reach back to it (CarryDeltas),
//     the SOA alone when the client is current, else the full zone (RFC
//     1995 §4). A secondary zone with no data or expired: SERVFAIL.
//   - ANY: one RRset of the node (RFC 8482 §4.1).
//
// Response rate limiting (the snapshot's [rrl], over metrics.UDP only): the
// finished response is charged to its client network's bucket; a limited
// one gets no reply (DropRateLimit) or, every slip-th, the header with TC=1
// and the question. It is decided before the response is counted: a dropped
// one counts as nothing but the drop, and a truncated one counts as a
// response but not as an answer.
//
// Truncation (RFC 2181 §9): when a response does not fit, the additional
// section is dropped first (setting TC when it held referral glue); when it
// still does not fit, the answer and authority sections are emptied and TC
// set, keeping the question and the OPT, so that no partial RRset is ever
// sent and the client retries over TCP.
//
// Client address: the packet source; when the snapshot enables
// client_subnet and the query holds an ECS option, its address. A malformed
// ECS option (RFC 7871 §6: unknown FAMILY, SOURCE beyond the family, SCOPE
// not 0, address bytes other than ceil(SOURCE/8), bits set beyond SOURCE, or
// two ECS options) gets FORMERR. With client_subnet off ECS is an unknown
// option: ignored, never echoed.
//
// ECS scope (RFC 7871 §7.2.1): the longest prefix of the client address
// that any part of the reply depended on — the client's site region for a
// set picked by site (answer, CNAME, glue, or the address of an SRV/MX/NS
// target), the local-tier scope of a set under netmask ordering — so that
// every client in that prefix gets the same reply but for rotation (see
// decide; docs/ecs.md); 0 when nothing depended on the address, and for
// SOURCE 0.
//
// Metrics: Query once per query that parses, Response once per reply,
// Observe per reply. The snapshot counters (answers first, netmask matches)
// count answer-section RRsets actually delivered, so a truncated UDP answer
// and its TCP retry count once; the site counter
// (sitedns_site_queries_total) counts every query whose name is in one of
// our zones, once, for the client's site.
func (s *Server) ServePacket(dst, req []byte, src netip.AddrPort, t metrics.Transport) []byte {
	sc := s.scratch.Get().(*scratch)
	out, _, ok := s.serveSafe(sc, dst, req, src, t, time.Now(), false)
	if ok {
		s.scratch.Put(sc)
	}
	return out
}

// serveSafe is serve with panics recovered: ok is false after a panic, and
// sc must then not be reused.
func (s *Server) serveSafe(sc *scratch, dst, req []byte, src netip.AddrPort, t metrics.Transport, start time.Time, stream bool) (out []byte, xfr *zones.Zone, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			sc.st.drop(metrics.DropPanic)
			s.log.Error("panic while answering a query; no answer sent",
				zap.Any("panic", r), zap.Stringer("client", src), zap.Stack("stack"))
			out, xfr, ok = nil, nil, false
		}
	}()
	out, xfr = s.answer(sc, dst, req, src, t, start, stream)
	return out, xfr, true
}

// answer is serve, then what every answer goes through on its way out: the
// TSIG of an answer to a signed query, and the tap.
func (s *Server) answer(sc *scratch, dst, req []byte, src netip.AddrPort, t metrics.Transport, start time.Time, stream bool) (out []byte, xfr *zones.Zone) {
	sc.tsig.signed = false
	out, xfr = s.serve(sc, dst, req, src, t, start, stream)
	if sc.tsig.signed { // the check inline: signTSIG is too large to be
		out = signTSIG(sc, dst, out)
	}
	if s.cfg.Tap != nil && len(out) > 0 {
		s.tapAnswer(sc, req, out, src, t, start)
	}
	return out, xfr
}

// serve answers one query (see ServePacket). With stream set, an allowed zone
// transfer returns its zone instead of a response, for the caller to stream;
// sc.req then holds the query.
func (s *Server) serve(sc *scratch, dst, req []byte, src netip.AddrPort, t metrics.Transport, start time.Time, stream bool) ([]byte, *zones.Zone) {
	if len(req) < headerLen {
		sc.st.drop(metrics.DropMalformed)
		return nil, nil
	}
	if req[2]&(flagQR>>8) != 0 {
		sc.st.drop(metrics.DropResponse)
		return nil, nil
	}
	if s.beforeAnswer == nil {
		if out, ok := s.fast(sc, dst, req, src, t, start); ok {
			return out, nil
		}
	}
	sc.peer = src.Addr()
	w, err := scanQuery(req)
	m := &sc.req
	if err == nil {
		// miekg/dns rejects some options it decodes (a short EXPIRE, a bad
		// ECS family); we use none of them but ECS, which we read raw.
		if err = m.Unpack(req); err != nil && w.opt.present && len(w.opt.rdata) > 0 {
			err = m.Unpack(withoutOPTData(req, &w.opt))
		}
	}
	if err != nil {
		return s.formErr(sc, dst, req, &w, t, start), nil
	}
	if s.beforeAnswer != nil {
		s.beforeAnswer()
	}

	resp := sc.begin(m, &w)
	if len(m.Question) > 0 {
		sc.st.query(t, m.Question[0].Qtype)
	}
	switch {
	case m.Opcode == dns.OpcodeNotify && w.qdcount == 1 && len(m.Question) == 1:
		return s.notify(sc, dst, req, src.Addr(), t, start), nil
	case m.Opcode != dns.OpcodeQuery:
		return s.finish(sc, dst, dns.RcodeNotImplemented, t, start), nil
	case w.qdcount != 1 || len(m.Question) != 1:
		resp.Question = resp.Question[:0]
		return s.finish(sc, dst, dns.RcodeFormatError, t, start), nil
	case w.opt.present && w.opt.version > 0:
		return s.finish(sc, dst, dns.RcodeBadVers, t, start), nil
	}
	snap := s.snap.Load()
	if snap == nil {
		return s.finish(sc, dst, dns.RcodeServerFailure, t, start), nil
	}
	if rcode := checkTSIG(sc, snap, req); rcode != 0 {
		return s.finish(sc, dst, rcode, t, start), nil
	}

	client := src.Addr().Unmap()
	var ecs ecsOption
	if snap.ClientSubnet && w.opt.ecsCount > 0 {
		e, ok := parseECS(w.opt.ecs)
		if !ok || w.opt.ecsCount > 1 {
			return s.finish(sc, dst, dns.RcodeFormatError, t, start), nil
		}
		ecs, client = e, e.client
		sc.echoECS(e.raw, 0)
	}

	q := m.Question[0]
	if q.Qclass != dns.ClassINET {
		if txt := chaosTXT(snap, q); txt != "" {
			resp.Authoritative = true
			resp.Answer = append(resp.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS},
				Txt: []string{txtEscaper.Replace(txt)}, // miekg/dns reads escapes in TXT strings
			})
			return s.finish(sc, dst, dns.RcodeSuccess, t, start), nil
		}
		return s.finish(sc, dst, dns.RcodeRefused, t, start), nil
	}
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		z := zoneAt(snap, strings.ToLower(q.Name))
		if t != metrics.TCP || z == nil || !transferAllowed(snap, src.Addr()) || !transferTSIG(sc, z) {
			return s.finish(sc, dst, dns.RcodeRefused, t, start), nil
		}
		if z.Expired {
			return s.finish(sc, dst, dns.RcodeServerFailure, t, start), nil
		}
		if stream {
			return nil, z
		}
		return s.transferOne(sc, dst, z, t, start), nil
	}

	lname := q.Name
	if hasUpper(lname) {
		lname = strings.ToLower(lname)
	}
	d := &sc.dec
	decide(d, snap, &query{name: q.Name, lname: lname, qtype: q.Qtype, client: client, id: m.Id, shard: sc.st.rot, do: sc.optDO}, &sc.fast.sites)
	if sc.ecsOn && ecs.source != 0 {
		sc.ecsData[3] = byte(d.scope)
	}
	limit := maxTCPSize
	if t == metrics.UDP {
		limit = udpLimit(&w.opt, snap) - sc.tsig.room()
	}
	return s.writeMsg(sc, dst, snap, d, t, limit, start), nil
}

// hasUpper reports whether s holds an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// writeMsg is the general writer: it sends d, the decision for the query
// sc.resp answers (begun, with its OPT noted and ECS echoed), through
// miekg/dns within limit bytes, truncating as ServePacket describes, and
// counts it.
func (s *Server) writeMsg(sc *scratch, dst []byte, snap *zones.Snapshot, d *decision, t metrics.Transport, limit int, start time.Time) []byte {
	row := snap.Counters.Tally.Row(sc.st.rot)
	countSite(row, snap, d)
	resp := &sc.resp
	resp.Rcode = d.rcode
	resp.Authoritative = d.aa
	for i := range d.parts {
		p := &d.parts[i]
		var sec *[]dns.RR
		switch p.sec {
		case secAnswer:
			sec = &resp.Answer
		case secAuthority:
			sec = &resp.Ns
		default:
			sec = &resp.Extra
		}
		if p.rr != nil {
			*sec = append(*sec, p.rr)
			continue
		}
		for _, j := range d.order[p.lo:p.hi] {
			rr := p.ans.RRs[j]
			if p.owner != "" {
				rr = dns.Copy(rr)
				// The owner may be the fast path's buffer, which the
				// next query overwrites.
				rr.Header().Name = strings.Clone(p.owner)
			}
			*sec = append(*sec, rr)
		}
	}

	out, delivered := s.pack(sc, dst, limit, d.glue)
	out, full := s.limitKeyed(sc.st, t, snap, out, sc.peer, d.wildcard)
	if out == nil {
		return nil
	}
	if delivered && full {
		countDelivered(row, d)
	}
	sc.done(sc.resp.Rcode, t, start)
	return out
}

// chaosTXT returns what answers q when it asks, in class CHAOS, for the TXT
// (or ANY) of a name servers use to say who they are — id.server and
// hostname.bind: Snapshot.Identity; version.bind and version.server:
// Snapshot.Version — and "" for anything else, which is REFUSED.
func chaosTXT(snap *zones.Snapshot, q dns.Question) string {
	if q.Qclass != dns.ClassCHAOS || (q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY) {
		return ""
	}
	switch strings.ToLower(q.Name) {
	case "id.server.", "hostname.bind.":
		return snap.Identity
	case "version.bind.", "version.server.":
		return snap.Version
	}
	return ""
}

// txtEscaper makes a string go on the wire byte for byte as a TXT string
// through miekg/dns, which reads \ escapes in it.
var txtEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// udpLimit is the largest UDP response the client takes and snap lets us
// send: 512 without EDNS, else its payload size, at least 512 and at most
// snap's MaxUDPSize.
func udpLimit(o *wireOPT, snap *zones.Snapshot) int {
	if !o.present {
		return minUDPSize
	}
	return udpCap(int(o.udpSize), snap)
}

// udpCap bounds a client's EDNS payload size by what snap sends over UDP
// ([server] max_udp_size) and by minUDPSize below.
func udpCap(size int, snap *zones.Snapshot) int {
	ceiling := maxUDPSize
	if m := snap.MaxUDPSize; m > 0 && m < ceiling {
		ceiling = m
	}
	return min(max(size, minUDPSize), ceiling)
}

// countSite counts the query in its client's site
// (sitedns_site_queries_total) when the decision says to, in row: the
// caller's shard of the snapshot's counters.
func countSite(row zones.TallyRow, snap *zones.Snapshot, d *decision) {
	if c := snap.Counters.Site; d.siteCounted && d.site < len(c) {
		row.Add(c[d.site])
	}
}

// countDelivered bumps the snapshot counters of the answer-section RRsets of
// a response that went out with its answer section, in row: the caller's
// shard of the snapshot's counters.
func countDelivered(row zones.TallyRow, d *decision) {
	for i := range d.parts {
		p := &d.parts[i]
		if !p.counted || p.hi == p.lo {
			continue
		}
		a := p.ans
		row.Add(a.FirstCounter(d.site, d.order[p.lo]))
		row.Add(a.FailOpen())
		// Local and RemoteOnly are set only for A sets under netmask
		// ordering.
		if p.local > 0 {
			row.Add(a.Local)
		} else {
			row.Add(a.RemoteOnly)
		}
	}
}

// begin resets sc.resp as the reply to m with the header ServePacket
// describes (ID and opcode copied, QR set, RD copied under opcode QUERY
// only, CD and RA never), the question echoed as received; and notes the
// query's OPT.
func (sc *scratch) begin(m *dns.Msg, w *wireQuery) *dns.Msg {
	r := &sc.resp
	clear(r.Answer)
	clear(r.Ns)
	clear(r.Extra)
	r.MsgHdr = dns.MsgHdr{
		Id:               m.Id,
		Response:         true,
		Opcode:           m.Opcode,
		RecursionDesired: m.RecursionDesired && m.Opcode == dns.OpcodeQuery,
	}
	r.Compress = true
	r.Question = r.Question[:0]
	if len(m.Question) > 0 {
		r.Question = append(r.Question, m.Question[0])
	}
	r.Answer, r.Ns, r.Extra = r.Answer[:0], r.Ns[:0], r.Extra[:0]
	sc.optOn, sc.optDO, sc.ecsOn = w.opt.present, w.opt.do, false
	return r
}

// beginFast is begin for a query the fast path parsed, whose question name
// as received is name: the general writer then writes its decision.
func (sc *scratch) beginFast(req []byte, name string) {
	q := &sc.fast.q
	r := &sc.resp
	clear(r.Answer)
	clear(r.Ns)
	clear(r.Extra)
	r.MsgHdr = dns.MsgHdr{
		Id:               binary.BigEndian.Uint16(req),
		Response:         true,
		Opcode:           dns.OpcodeQuery,
		RecursionDesired: req[2]&(flagRD>>8) != 0,
	}
	r.Compress = true
	r.Question = append(r.Question[:0], dns.Question{Name: name, Qtype: q.qtype, Qclass: dns.ClassINET})
	r.Answer, r.Ns, r.Extra = r.Answer[:0], r.Ns[:0], r.Extra[:0]
	sc.optOn, sc.optDO, sc.ecsOn = q.optOn, q.do, false
}

// echoECS makes the response carry the query's ECS option with scope.
func (sc *scratch) echoECS(raw []byte, scope int) {
	sc.ecsData = append(sc.ecsData[:0], raw...)
	sc.ecsData[3] = byte(scope)
	sc.ecsOn = true
}

// optRR returns the response's OPT record: version 0, our payload size, DO
// echoed, and the ECS option when echoed. Unknown options are not echoed.
func (sc *scratch) optRR() *dns.OPT {
	o := &sc.opt
	o.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: advertiseSize}
	o.SetDo(sc.optDO)
	o.Option = sc.options[:0]
	if sc.ecsOn {
		sc.ecs = dns.EDNS0_LOCAL{Code: optionECS, Data: sc.ecsData}
		o.Option = append(o.Option, &sc.ecs)
	}
	return o
}

// pack packs sc.resp, with the OPT, into dst within limit bytes, truncating
// as ServePacket describes. delivered reports whether the answer section
// went out. A response that cannot be packed becomes SERVFAIL.
func (s *Server) pack(sc *scratch, dst []byte, limit int, glue bool) (out []byte, delivered bool) {
	r := &sc.resp
	if sc.optOn {
		r.Extra = append(r.Extra, sc.optRR())
	}
	out, err := r.PackBuffer(dst[:cap(dst)])
	if err == nil && len(out) > limit {
		extra := len(r.Extra)
		if sc.optOn {
			extra--
		}
		if extra > 0 {
			r.Extra = r.Extra[:0]
			if sc.optOn {
				r.Extra = append(r.Extra, sc.optRR())
			}
			r.Truncated = glue
			out, err = r.PackBuffer(dst[:cap(dst)])
		}
		if err == nil && len(out) > limit {
			r.Truncated = true
			r.Answer, r.Ns = r.Answer[:0], r.Ns[:0]
			out, err = r.PackBuffer(dst[:cap(dst)])
			if err == nil {
				return out, false
			}
		}
	}
	if err != nil {
		s.log.Error("cannot pack a response; answering SERVFAIL",
			zap.Error(err), zap.String("question", questionString(r)))
		r.Rcode = dns.RcodeServerFailure
		r.Authoritative, r.Truncated = false, false
		r.Answer, r.Ns, r.Extra = r.Answer[:0], r.Ns[:0], r.Extra[:0]
		sc.ecsOn = false
		if sc.optOn {
			r.Extra = append(r.Extra, sc.optRR())
		}
		out, err = r.PackBuffer(dst[:cap(dst)])
		if err != nil {
			return nil, false
		}
		return out, false
	}
	return out, true
}

func questionString(r *dns.Msg) string {
	if len(r.Question) == 0 {
		return ""
	}
	return r.Question[0].String()
}

// finish packs a response with no records and rcode, and counts it.
func (s *Server) finish(sc *scratch, dst []byte, rcode int, t metrics.Transport, start time.Time) []byte {
	r := &sc.resp
	r.Rcode = rcode
	if rcode > 0xF && !sc.optOn {
		r.Rcode = dns.RcodeFormatError // unreachable: extended rcodes come with an OPT
	}
	out, _ := s.pack(sc, dst, maxTCPSize, false)
	if out, _ = s.limit(sc.st, t, s.snap.Load(), out, sc.peer); out == nil {
		return nil
	}
	sc.done(r.Rcode, t, start)
	return out
}

// done counts one reply.
func (sc *scratch) done(rcode int, t metrics.Transport, start time.Time) {
	sc.st.response(rcode)
	if sc.batched {
		sc.answered++
		return
	}
	sc.st.observe(t, time.Since(start))
}

// formErr answers a message that cannot be parsed: FORMERR with its ID, its
// question when the first question can be read on its own, and an OPT when
// the query's OPT was well formed.
func (s *Server) formErr(sc *scratch, dst, req []byte, w *wireQuery, t metrics.Transport, start time.Time) []byte {
	var m dns.Msg
	m.Id = w.id
	m.Opcode = int(w.bits>>11) & 0xF
	m.RecursionDesired = w.bits&flagRD != 0
	if w.qdcount == 1 && w.qEnd > 0 {
		var q dns.Msg
		if q.Unpack(questionOnly(req, w.qEnd)) == nil && len(q.Question) == 1 {
			m.Question = q.Question
		}
	}
	sc.begin(&m, w)
	return s.finish(sc, dst, dns.RcodeFormatError, t, start)
}
