package server

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
)

// TestScopeSoundness is the property the ECS scope promises (RFC 7871
// §7.2.1): over random configs (newRandConfig) and random clients, when
// the reply to client C says SCOPE S, a client C' anywhere in C/S gets the
// same reply: the same rcode and flags, the same answer section in the same
// order (so the same answer set and the same local tier), the same
// authority section, and the same additional records (in any order: their
// local-first order is not part of the scope).
//
// The two clients ask two servers compiled from the same config, one each,
// query for query, so that their rotation counters stay in step and any
// difference is the client's. It runs over the fast and the general path
// (the general one forced by the beforeAnswer hook) and over UDP and TCP.
func TestScopeSoundness(t *testing.T) {
	configs, probes := 60, 200
	if testing.Short() {
		configs = 15
	}
	rng := rand.New(rand.NewPCG(7871, 17))
	fails := 0
	qtypes := []uint16{dns.TypeA, dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX, dns.TypeCNAME, dns.TypeTXT}
	for ci := range configs {
		rc := newRandConfig(rng)
		for _, general := range []bool{false, true} {
			for _, tr := range []metrics.Transport{metrics.UDP, metrics.TCP} {
				snapA, file := rc.load(t)
				snapB, _ := rc.load(t)
				a := New(Config{Stats: metrics.NewStats()}, snapA)
				b := New(Config{Stats: metrics.NewStats()}, snapB)
				if general {
					a.beforeAnswer, b.beforeAnswer = func() {}, func() {}
				}
				for range probes {
					name := rc.names[rng.IntN(len(rc.names))]
					qtype := qtypes[rng.IntN(len(qtypes))]
					c := rc.client(rng)
					source := c.BitLen()
					if rng.IntN(3) == 0 {
						source = 8 + rng.IntN(c.BitLen()-7)
					}
					id := uint16(rng.Uint32())
					ra := ecsQuery(t, a, name, qtype, id, netip.PrefixFrom(c, source).Masked(), tr)
					e := ecsOf(ra)
					if e == nil {
						t.Fatalf("no ECS in the reply to %s %s from %s/%d", name, dns.TypeToString[qtype], c, source)
					}
					scope := int(e.SourceScope)
					c2 := inside(rng, netip.PrefixFrom(c, source).Masked().Addr(), scope)
					rb := ecsQuery(t, b, name, qtype, id, netip.PrefixFrom(c2, c2.BitLen()), tr)
					diff := replyDiff(ra, rb)
					if diff == "" {
						continue
					}
					// The first failure in full, a few more in a line each.
					if fails++; fails == 1 {
						t.Errorf("config %d (%s), general path %v, %v: %s %s from %s/%d got SCOPE /%d, but %s inside it gets another reply: %s\n"+
							"reply to %s/%d:\n%s\nreply to %s:\n%s\nconfig:\n%s",
							ci, file, general, tr, name, dns.TypeToString[qtype], c, source, scope, c2, diff,
							c, source, ra, c2, rb, rc.text)
					} else {
						t.Errorf("config %d, general path %v, %v: %s %s from %s/%d got SCOPE /%d, but %s inside it gets another %s",
							ci, general, tr, name, dns.TypeToString[qtype], c, source, scope, c2, strings.SplitN(diff, "\n", 2)[0])
					}
					if fails == 12 {
						t.FailNow()
					}
				}
			}
		}
	}
}

// ecsQuery asks s for name and qtype with an ECS option for p and returns
// the reply.
func ecsQuery(t *testing.T, s *Server, name string, qtype, id uint16, p netip.Prefix, tr metrics.Transport) *dns.Msg {
	t.Helper()
	m := newQuery(name, qtype)
	m.Id = id
	withECS(m, p.Masked().Addr().String(), uint8(p.Bits()))
	r := serveMsg(t, s, m, "192.0.2.1", tr)
	if r == nil {
		t.Fatalf("no reply to %s %s from %s", name, dns.TypeToString[qtype], p)
	}
	return r
}

// replyDiff says how two replies differ, ignoring the ID and the OPT, and
// the order of the additional section; "" when they do not.
func replyDiff(a, b *dns.Msg) string {
	if a.Rcode != b.Rcode || a.Authoritative != b.Authoritative || a.Truncated != b.Truncated {
		return fmt.Sprintf("rcode %s AA=%v TC=%v against %s AA=%v TC=%v",
			dns.RcodeToString[a.Rcode], a.Authoritative, a.Truncated, dns.RcodeToString[b.Rcode], b.Authoritative, b.Truncated)
	}
	for _, s := range []struct {
		name   string
		x, y   []dns.RR
		sorted bool
	}{{"answer", a.Answer, b.Answer, false}, {"authority", a.Ns, b.Ns, false}, {"additional", a.Extra, b.Extra, true}} {
		x, y := rrLines(s.x, s.sorted), rrLines(s.y, s.sorted)
		if !slices.Equal(x, y) {
			return fmt.Sprintf("%s section\n  %s\nagainst\n  %s", s.name, strings.Join(x, "\n  "), strings.Join(y, "\n  "))
		}
	}
	return ""
}

// rrLines prints rrs without the OPT, sorted when asked.
func rrLines(rrs []dns.RR, sorted bool) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr.String())
		}
	}
	if sorted {
		slices.Sort(out)
	}
	return out
}
