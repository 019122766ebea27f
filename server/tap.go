package server

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"

	"github.com/sitedns/sitedns/metrics"
)

// Tap is told of every query the server answers, with its response and what
// was decided for the client: the dnstap logger and the debug decision log
// implement it (Config.Tap). Tap is called on the goroutine that answered,
// after the response is made and before it is sent, so it must return at
// once: copy what it keeps (the event and its slices are the caller's, valid
// only during the call) and never block. Zone transfers streamed over TCP
// and packets that get no reply are not tapped.
type Tap interface {
	Tap(e *TapEvent)
}

// TapEvent is one answered query.
type TapEvent struct {
	// Query and Response are the messages as received and as sent.
	Query, Response []byte
	// Client is the packet's source; Transport how it came.
	Client    netip.AddrPort
	Transport metrics.Transport
	// Time is when the query was read.
	Time time.Time
	// Name is the question name, lower case and fully qualified, and Qtype
	// its type ("" and 0 when the query has no question that parses).
	Name  string
	Qtype uint16

	// Site is the client's site ("unknown" for none): the packet source's,
	// or the ECS subnet's when ECS stands for the client.
	Site string
	// Scope is the answer set the client got for the question: the scope's
	// name when the name is site-aware and the client's scope has a set of
	// its own, else "default"; "" when the question is in none of our
	// zones or the response has no answer from a set.
	Scope string
	// ECS is the client subnet of the query's ECS option when it stood for
	// the client (client_subnet on); the zero Prefix otherwise.
	ECS netip.Prefix
	// ECSScope is the SCOPE PREFIX-LENGTH of the response's ECS option, -1
	// when the response has none.
	ECSScope int
}

// tapAnswer tells the configured Tap of an answered query. Only called when
// a Tap is set: it re-reads the client and question from the query, which
// the answer paths do not keep, so that they stay as they are without one.
func (s *Server) tapAnswer(sc *scratch, req, resp []byte, src netip.AddrPort, t metrics.Transport, start time.Time) {
	e := &sc.tap
	*e = TapEvent{Query: req, Response: resp, Client: src, Transport: t, Time: start, ECSScope: -1}
	snap := s.snap.Load()
	if snap == nil || len(req) < headerLen {
		s.cfg.Tap.Tap(e)
		return
	}
	client := src.Addr().Unmap()
	w, err := scanQuery(req)
	if err == nil && snap.ClientSubnet && w.opt.ecsCount == 1 {
		if ecs, ok := parseECS(w.opt.ecs); ok && ecs.client.IsValid() {
			client = ecs.client
			e.ECS = netip.PrefixFrom(ecs.client, int(ecs.source))
		}
	}
	site, _ := snap.Sites.Lookup(client)
	scopeIdx := -1
	if site >= 0 && site < len(snap.SiteNames) {
		e.Site = snap.SiteNames[site]
		scopeIdx = snap.SiteScope[site]
	}
	if err == nil && w.qEnd > headerLen {
		if name, ok := sc.lowerName(req); ok {
			qtype := binary.BigEndian.Uint16(req[w.qEnd-4:])
			e.Name, e.Qtype = name, qtype
			res := snap.Lookup(name, qtype)
			if res.Set != nil {
				if a := res.Set.For(scopeIdx); a != nil {
					e.Scope = a.Scope
				}
			}
		}
	}
	if rw, err := scanQuery(resp); err == nil && len(rw.opt.ecs) >= 4 {
		e.ECSScope = int(rw.opt.ecs[3])
	}
	s.cfg.Tap.Tap(e)
}

// lowerName returns the question name of req, lower case and fully
// qualified ("." for the root), in sc's buffer: valid until the next call.
// ok is false for a name that is compressed or does not fit.
func (sc *scratch) lowerName(req []byte) (string, bool) {
	b := sc.tapName[:0]
	for off := headerLen; off < len(req); {
		l := int(req[off])
		off++
		switch {
		case l == 0:
			if len(b) == 0 {
				b = append(b, '.')
			}
			sc.tapName = b
			return unsafe.String(unsafe.SliceData(b), len(b)), true
		case l > 63 || off+l > len(req) || len(b)+l+1 > 255:
			return "", false
		}
		for _, c := range req[off : off+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, '.')
		off += l
	}
	return "", false
}
