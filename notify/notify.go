// Package notify sends NOTIFY messages (RFC 1996) for the zones sitedns
// serves as a primary: when a zone's serial changes (a reload, or a
// transfer into a secondary zone), each of its also_notify addresses is told
// so that it can refresh at once instead of at its next SOA refresh.
//
//	n := notify.New(ctx, log)
//	old := srv.Swap(snap)
//	n.Changed(old, snap) // returns at once; sends in the background
package notify

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/zones"
)

// Sender sends the NOTIFY messages. Safe for concurrent use.
type Sender struct {
	ctx context.Context
	log *zap.Logger
	// Tries and Timeout bound each message: RFC 1996 §3.6 retries an
	// unanswered NOTIFY, with a growing interval.
	tries   int
	timeout time.Duration
}

// New returns a sender whose messages stop when ctx ends.
func New(ctx context.Context, log *zap.Logger) *Sender {
	if log == nil {
		log = zap.NewNop()
	}
	return &Sender{ctx: ctx, log: log, tries: 5, timeout: time.Second}
}

// Changed sends NOTIFY, in the background, for every zone of cur with
// also_notify addresses whose serial differs from the same zone's in old
// (or which old lacks). old may be nil: every such zone is announced.
func (s *Sender) Changed(old, cur *zones.Snapshot) {
	if cur == nil {
		return
	}
	prev := map[string]uint32{}
	if old != nil {
		for _, z := range old.Zones {
			if z.SOA != nil && !z.Expired {
				prev[z.Origin] = z.SOA.Serial
			}
		}
	}
	for _, z := range cur.Zones {
		if len(z.AlsoNotify) == 0 || z.SOA == nil || z.Expired {
			continue
		}
		if p, ok := prev[z.Origin]; ok && p == z.SOA.Serial {
			continue
		}
		for _, a := range z.AlsoNotify {
			go s.send(z.Origin, z.SOA, z.TransferTSIG, a)
		}
	}
}

// send tells addr that origin is now at soa's serial, trying again (after
// 1, 2, 4... timeouts) until it answers or the tries run out. With a key,
// each NOTIFY is signed with it and the response must be (RFC 8945).
func (s *Sender) send(origin string, soa *dns.SOA, key *zones.TSIGKey, addr netip.AddrPort) {
	var err error
	wait := s.timeout
	for try := 0; try < s.tries; try++ {
		if err = s.once(origin, soa, key, addr); err == nil {
			s.log.Info("NOTIFY sent", zap.String("zone", origin), zap.Uint32("serial", soa.Serial), zap.Stringer("to", addr))
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
	s.log.Warn("NOTIFY unanswered", zap.String("zone", origin), zap.Uint32("serial", soa.Serial),
		zap.Stringer("to", addr), zap.Int("tries", s.tries), zap.Error(err))
}

// once sends one NOTIFY (the SOA in the answer section, as RFC 1996 §3.7
// allows) and checks the response.
func (s *Sender) once(origin string, soa *dns.SOA, key *zones.TSIGKey, addr netip.AddrPort) error {
	m := new(dns.Msg)
	m.SetNotify(origin)
	m.Answer = []dns.RR{soa}
	c := &dns.Client{Net: "udp", Timeout: s.timeout}
	if key != nil {
		// The client signs the message and verifies the response's TSIG
		// when there is one; one missing is checked below.
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{key.Name: key.Secret}
	}
	r, _, err := c.ExchangeContext(s.ctx, m, addr.String())
	if err != nil {
		return err
	}
	if r.Opcode != dns.OpcodeNotify || r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("response %s, opcode %s", dns.RcodeToString[r.Rcode], dns.OpcodeToString[r.Opcode])
	}
	if key != nil && r.IsTsig() == nil {
		return fmt.Errorf("response not signed with %s", key.Name)
	}
	return nil
}
