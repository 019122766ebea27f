package server

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// streamBudget is the most record bytes (uncompressed) per message of a
// streamed zone transfer.
const streamBudget = 16 << 10

// zoneAt returns the zone whose origin is lname, or nil.
func zoneAt(snap *zones.Snapshot, lname string) *zones.Zone {
	for _, z := range snap.Zones {
		if z.Origin == lname {
			return z
		}
	}
	return nil
}

// transferAllowed reports whether src is in Snapshot.AXFRAllow.
func transferAllowed(snap *zones.Snapshot, src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range snap.AXFRAllow {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// zoneRecords lists the records of a transfer of z (RFC 5936 §2.2): the SOA,
// every RRset of every name (site-aware names with their default answer
// set, delegations with their glue), the SOA again.
func zoneRecords(z *zones.Zone) []dns.RR {
	names := make([]string, 0, len(z.Nodes))
	for n := range z.Nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	rrs := []dns.RR{z.SOA}
	for _, n := range names {
		for _, set := range z.Nodes[n].Sets {
			if set.Type == dns.TypeSOA || set.Default == nil {
				continue
			}
			rrs = append(rrs, set.Default.RRs...)
		}
	}
	return append(rrs, z.SOA)
}

// transferOne answers an allowed transfer of z in one message (sc.resp was
// begun by serve), or SERVFAIL when the zone does not fit in one.
func (s *Server) transferOne(sc *scratch, dst []byte, z *zones.Zone, t metrics.Transport, start time.Time) []byte {
	rrs := zoneRecords(z)
	size := 0
	for _, rr := range rrs {
		size += dns.Len(rr)
	}
	if size > maxTCPSize-minUDPSize { // room for the header, question and OPT
		return s.finish(sc, dst, dns.RcodeServerFailure, t, start)
	}
	r := &sc.resp
	r.Authoritative = true
	r.Answer = append(r.Answer[:0], rrs...)
	out, _ := s.pack(sc, dst, maxTCPSize, false)
	sc.done(r.Rcode, t, start)
	return out
}

// transferStream sends an allowed transfer of z in as many messages as it
// takes, each passed packed to write; sc.resp was begun by serve. The
// question goes in the first message only (RFC 5936 §2.2.1).
func (s *Server) transferStream(sc *scratch, buf []byte, z *zones.Zone, start time.Time, write func([]byte) error) error {
	rrs := zoneRecords(z)
	r := &sc.resp
	r.Authoritative = true
	var err error
	for first := true; len(rrs) > 0 && err == nil; first = false {
		n, size := 0, 0
		for n < len(rrs) {
			l := dns.Len(rrs[n])
			if n > 0 && size+l > streamBudget {
				break
			}
			size += l
			n++
		}
		if !first {
			r.Question = r.Question[:0]
		}
		r.Answer = append(r.Answer[:0], rrs[:n]...)
		r.Extra = r.Extra[:0]
		rrs = rrs[n:]
		var out []byte
		if out, _ = s.pack(sc, buf, maxTCPSize, false); out == nil {
			break
		}
		err = write(out)
	}
	sc.done(r.Rcode, metrics.TCP, start)
	return err
}

// notify answers a NOTIFY (RFC 1996 §3.7) for q's zone from src: when the
// zone is a secondary zone of the snapshot and src is in its notify_from, it
// hands the zone to Config.Notify (which schedules a refresh) and replies
// with the NOTIFY response; otherwise REFUSED. sc.resp was begun by serve.
func (s *Server) notify(sc *scratch, dst []byte, q dns.Question, src netip.Addr, t metrics.Transport, start time.Time) []byte {
	snap := s.snap.Load()
	var z *zones.Zone
	if snap != nil && q.Qclass == dns.ClassINET {
		z = zoneAt(snap, strings.ToLower(q.Name))
	}
	if z == nil || z.Secondary == nil || s.cfg.Notify == nil || !z.Secondary.NotifyAllowed(src) {
		s.log.Debug("NOTIFY refused", zap.String("zone", q.Name), zap.Stringer("from", src))
		return s.finish(sc, dst, dns.RcodeRefused, t, start)
	}
	s.cfg.Notify(z.Origin)
	sc.resp.Authoritative = true
	return s.finish(sc, dst, dns.RcodeSuccess, t, start)
}
