package server

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/internal/serial"
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
// set, delegations with their glue), the SOA again. A signed zone's
// transfer is its default view signed: each RRset's RRSIGs and the
// default view's NSEC or NSEC3 chain over the names the view answers
// (zones.Signing.TransferDenial).
func zoneRecords(z *zones.Zone) []dns.RR {
	names := make([]string, 0, len(z.Nodes))
	for n := range z.Nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	rrs := []dns.RR{z.SOA}
	for _, n := range names {
		node := z.Nodes[n]
		for _, set := range node.Sets {
			if set.Default == nil {
				continue
			}
			if set.Type != dns.TypeSOA {
				rrs = append(rrs, set.Default.RRs...)
			}
			if set.Default.Sig != nil {
				rrs = append(rrs, set.Default.Sig.RRs...)
			}
		}
		if z.DNSSEC == nil {
			continue
		}
		if d := z.DNSSEC.TransferDenial(node); d != nil {
			rrs = append(rrs, d.RRs...)
			if d.Sig != nil {
				rrs = append(rrs, d.Sig.RRs...)
			}
		}
	}
	return append(rrs, z.SOA)
}

// maxDeltas is how many versions back an IXFR can start from; a client
// further behind gets the whole zone.
const maxDeltas = 8

// transferRecords lists the records answering the transfer request req for
// z: for an IXFR from a serial z's deltas reach back to, the differences
// (RFC 1995 §4); for an IXFR from the current serial or a later one, the SOA
// alone; otherwise (AXFR, or an IXFR from further back) the whole zone,
// which RFC 1995 §4 allows as an IXFR answer too.
func transferRecords(z *zones.Zone, req *dns.Msg) []dns.RR {
	if len(req.Question) == 1 && req.Question[0].Qtype == dns.TypeIXFR {
		for _, rr := range req.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				if rrs := ixfrRecords(z, soa.Serial); rrs != nil {
					return rrs
				}
				break
			}
		}
	}
	return zoneRecords(z)
}

// ixfrRecords is the IXFR answer to a client at serial have, nil when z's
// deltas do not reach back to have.
func ixfrRecords(z *zones.Zone, have uint32) []dns.RR {
	if have == z.SOA.Serial || serial.Newer(have, z.SOA.Serial) {
		return []dns.RR{z.SOA}
	}
	for i, d := range z.Deltas {
		if d.From.Serial != have {
			continue
		}
		rrs := []dns.RR{z.SOA}
		for _, d := range z.Deltas[i:] {
			rrs = append(rrs, d.From)
			rrs = append(rrs, d.Deleted...)
			rrs = append(rrs, d.To)
			rrs = append(rrs, d.Added...)
		}
		return append(rrs, z.SOA)
	}
	return nil
}

// CarryDeltas gives each zone of cur the differences an IXFR out sends: the
// deltas the same zone had in old (the last maxDeltas-1 of them), plus old's
// version to cur's when the serial moved forward. A serial that went back,
// or a zone without data in either, starts afresh. It does nothing for a
// snapshot that allows no transfers (axfr_allow). Call it before cur serves:
// it writes cur's zones.
func CarryDeltas(old, cur *zones.Snapshot) {
	if old == nil || cur == nil || len(cur.AXFRAllow) == 0 {
		return
	}
	for _, z := range cur.Zones {
		o := zoneAt(old, z.Origin)
		if o == nil || o.Expired || z.Expired || o.SOA == nil || z.SOA == nil {
			continue
		}
		if o.SOA.Serial == z.SOA.Serial {
			z.Deltas = o.Deltas
			continue
		}
		if !serial.Newer(z.SOA.Serial, o.SOA.Serial) {
			continue
		}
		keep := o.Deltas[max(0, len(o.Deltas)-(maxDeltas-1)):]
		z.Deltas = append(append([]*zones.Delta(nil), keep...), delta(o, z))
	}
}

// delta is the difference from zone o to zone z, as zoneRecords lists
// them.
func delta(o, z *zones.Zone) *zones.Delta {
	before, after := zoneRecords(o), zoneRecords(z)
	return diff(o.SOA, z.SOA, before[1:len(before)-1], after[1:len(after)-1])
}

// diff is the difference from the records before, at SOA from, to those
// after, at SOA to (each without the SOA): a record whose TTL changed is
// deleted and added.
func diff(from, to *dns.SOA, before, after []dns.RR) *zones.Delta {
	old := make(map[string]bool, len(before))
	for _, rr := range before {
		old[rr.String()] = true
	}
	d := &zones.Delta{From: from, To: to}
	for _, rr := range after {
		k := rr.String()
		if old[k] {
			delete(old, k)
			continue
		}
		d.Added = append(d.Added, rr)
	}
	for _, rr := range before {
		if old[rr.String()] {
			d.Deleted = append(d.Deleted, rr)
		}
	}
	return d
}

// transferOne answers an allowed transfer of z in one message (sc.resp was
// begun by serve), or SERVFAIL when the zone does not fit in one.
func (s *Server) transferOne(sc *scratch, dst []byte, z *zones.Zone, t metrics.Transport, start time.Time) []byte {
	rrs := transferRecords(z, &sc.req)
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
	rrs := transferRecords(z, &sc.req)
	r := &sc.resp
	r.Authoritative = true
	var err error
	mac := sc.tsig.mac
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
		if sc.tsig.signed {
			// Each message covers the MAC of the one before it, and the
			// first the query's (RFC 8945 §5.3.1).
			if out, mac, err = tsigSign(out, &sc.tsig, mac, !first); err != nil {
				break
			}
		}
		err = write(out)
	}
	sc.done(r.Rcode, metrics.TCP, start)
	return err
}

// notify answers a NOTIFY (RFC 1996 §3.7) for its zone (sc.req, unpacked
// from req) from src: when the zone is a secondary zone of the snapshot and
// src is in its notify_from, it hands the zone to Config.Notify (which
// schedules a refresh) and replies with the NOTIFY response; otherwise
// REFUSED. A NOTIFY signed with the zone's TSIG key (RFC 8945) must verify
// (else NOTAUTH, and no refresh), and its response is signed; one signed
// with another key is answered as an unsigned one would be, unsigned.
// sc.resp was begun by serve.
func (s *Server) notify(sc *scratch, dst, req []byte, src netip.Addr, t metrics.Transport, start time.Time) []byte {
	q := sc.req.Question[0]
	snap := s.snap.Load()
	var z *zones.Zone
	if snap != nil && q.Qclass == dns.ClassINET {
		z = zoneAt(snap, strings.ToLower(q.Name))
	}
	if z == nil || z.Secondary == nil || s.cfg.Notify == nil || !z.Secondary.NotifyAllowed(src) {
		s.log.Debug("NOTIFY refused", zap.String("zone", q.Name), zap.Stringer("from", src))
		return s.finish(sc, dst, dns.RcodeRefused, t, start)
	}
	key := z.Secondary.TSIG
	sig := sc.req.IsTsig()
	if key == nil || sig == nil || !strings.EqualFold(sig.Hdr.Name, key.Name) {
		s.log.Info("NOTIFY accepted", zap.String("zone", z.Origin), zap.Stringer("from", src), zap.Bool("signed", false))
		s.cfg.Notify(z.Origin)
		sc.resp.Authoritative = true
		return s.finish(sc, dst, dns.RcodeSuccess, t, start)
	}
	if err := verifyTSIG(req, key.Secret); err != nil {
		s.log.Info("NOTIFY with a bad signature refused", zap.String("zone", z.Origin), zap.Stringer("from", src), zap.Error(err))
		sc.resp.Extra = sc.resp.Extra[:0]
		return s.finish(sc, dst, dns.RcodeNotAuth, t, start)
	}
	s.log.Info("NOTIFY accepted", zap.String("zone", z.Origin), zap.Stringer("from", src), zap.Bool("signed", true))
	s.cfg.Notify(z.Origin)
	r := new(dns.Msg)
	r.SetReply(&sc.req)
	r.Authoritative = true
	r.Extra = nil
	r.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
	out, _, err := dns.TsigGenerate(r, key.Secret, sig.MAC, false)
	if err != nil {
		return s.finish(sc, dst, dns.RcodeServerFailure, t, start)
	}
	sc.done(dns.RcodeSuccess, t, start)
	return append(dst[:0], out...)
}
