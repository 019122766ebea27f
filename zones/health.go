package zones

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/dnssec"
	"github.com/sitedns/sitedns/health"
)

// maxChecked bounds the records of a checked answer set: which records are
// up is one 64-bit mask.
const maxChecked = 64

// answerHealth is the health side of an Answer. On a checked answer set it
// holds what For hands out in its place while some record is down; on the
// fail-open form of a set (every record down) it holds only failOpen.
type answerHealth struct {
	// live is what For returns for the set: nil while every record is up
	// (the set itself), the set without its dead records, or its fail-open
	// form. Written by ApplyHealth, read by the packet path.
	live atomic.Pointer[Answer]
	// failOpen counts the answers given in fail-open form
	// (sitedns_answers_failopen_total); set on the fail-open form only.
	failOpen Counter

	// The rest is set on checked sets and guarded by snapHealth.mu.
	rec      [][]int32 // rec[i]: the targets of record i; it is up when any is
	mask     uint64    // the records up at the last ApplyHealth
	variants map[uint64]*Answer
	counter  Counter // failOpen of the fail-open form
	// signer signs the set's views without their dead records when its
	// zone is signed; nil otherwise.
	signer *dnssec.Signer
}

// current is what For returns for the checked set a.
func (h *answerHealth) current(a *Answer) *Answer {
	if l := h.live.Load(); l != nil {
		return l
	}
	return a
}

// FailOpen returns the counter to bump when a is delivered in an answer
// section, or the zero Counter: a is the fail-open form of a checked set, every record
// of which is down, so that all of them are answered
// (sitedns_answers_failopen_total{zone,name,scope}).
func (a *Answer) FailOpen() Counter {
	if h := a.health; h != nil {
		return h.failOpen
	}
	return 0
}

// Checked reports whether a is an answer set with a health check.
func (a *Answer) Checked() bool { return a.health != nil && a.health.rec != nil }

// snapHealth is the health side of a Snapshot.
type snapHealth struct {
	mu      sync.Mutex // serialises ApplyHealth; guards the checked sets' state
	targets []health.Target
	checked []*answerHealth
	answers []*Answer // answers[i] is the set of checked[i]
}

// HealthTargets lists every (check, address) pair the snapshot's checked
// sets depend on, each once however many sets hold it. ApplyHealth's up
// reads them by index. The slice is the snapshot's: do not modify it.
func (s *Snapshot) HealthTargets() []health.Target { return s.health.targets }

// ApplyHealth makes every checked answer set answer with the records whose
// targets up reports up (a record of an SRV set: when any address of its
// target is): For then hands out the set without its dead records, ordered
// among themselves (round robin, netmask ordering and weights over what
// remains), or, when every record is down, all of them in a form that
// counts sitedns_answers_failopen_total. up(i) is about HealthTargets()[i].
//
// It never blocks the packet path: each set's view is one atomic pointer,
// and the views are made here (and kept, so that a set whose records come
// back and go again resumes its rotation). Safe for concurrent use; calls
// are serialised.
func (s *Snapshot) ApplyHealth(up func(i int) bool) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	for k, h := range s.health.checked {
		var mask uint64
		for i, ts := range h.rec {
			if len(ts) == 0 {
				mask |= 1 << i
			}
			for _, t := range ts {
				if up(int(t)) {
					mask |= 1 << i
					break
				}
			}
		}
		if mask == h.mask {
			continue
		}
		h.mask = mask
		h.live.Store(h.variant(s.health.answers[k], mask))
	}
}

// variant returns the view of a with the records of mask: nil for all of
// them, the fail-open form for none. Views are kept (at most maxVariants),
// so that a combination seen before resumes its rotation.
func (h *answerHealth) variant(a *Answer, mask uint64) *Answer {
	n := len(a.RRs)
	if mask == 1<<n-1 {
		return nil
	}
	if v := h.variants[mask]; v != nil {
		return v
	}
	var v *Answer
	if mask == 0 {
		c := *a // its records and their signatures
		c.health = &answerHealth{failOpen: h.counter}
		v = &c
	} else {
		v = subsetAnswer(a, mask)
		// Only a set the zone signed is signed again: glue, for one, is
		// not signed in a signed zone (RFC 4035 §2.2).
		if h.signer != nil && a.Sig != nil && !signSubset(v, h.signer) {
			return nil // the whole set, whose signatures hold, rather than an unsigned answer
		}
	}
	if h.variants == nil {
		h.variants = map[uint64]*Answer{}
	}
	if len(h.variants) >= maxVariants {
		// Many sets of live records seen: start afresh rather than keep
		// one view per combination for as long as the snapshot lives.
		clear(h.variants)
	}
	h.variants[mask] = v
	return v
}

// maxVariants bounds the views kept per checked set.
const maxVariants = 64

// subsetAnswer is a without the records outside mask: its own order and
// precompiled records, the same counters.
func subsetAnswer(a *Answer, mask uint64) *Answer {
	var keep []int
	for i := range a.RRs {
		if mask&(1<<i) != 0 {
			keep = append(keep, i)
		}
	}
	v := &Answer{Scope: a.Scope, Local: a.Local, RemoteOnly: a.RemoteOnly, FirstRow: a.FirstRow}
	v.RRs = make([]dns.RR, len(keep))
	for i, k := range keep {
		v.RRs[i] = a.RRs[k]
	}
	if a.Order != nil {
		v.Order = a.Order.Subset(keep)
	}
	// First holds a row of counters per site (FirstCounter): the same
	// rows, each with the kept records' counters.
	if n := len(a.RRs); len(a.First) >= n {
		rows := len(a.First) / n
		v.First = make([]Counter, rows*len(keep))
		for r := range rows {
			for i, k := range keep {
				v.First[r*len(keep)+i] = a.First[r*n+k]
			}
		}
	}
	if a.Wire != nil {
		var m wireMem
		v.Wire = compileWire(v.RRs, &m)
		if v.Wire != nil && v.Wire.Targets != nil && a.Wire.Targets != nil && a.Wire.Targets.Additional != nil {
			add := make([]Additional, len(keep))
			for i, k := range keep {
				add[i] = a.Wire.Targets.Additional[k]
			}
			v.Wire.Targets.Additional = add
		}
	}
	return v
}

// signSubset gives v, a view of a signed set without its dead records, its
// own RRSIGs, made by the zone's signer for the zone's signing period. It
// reports false if signing failed (it does not for keys the zone signed
// with).
func signSubset(v *Answer, signer *dnssec.Signer) bool {
	sigs, err := signer.Sign(v.RRs)
	if err != nil {
		return false
	}
	var m wireMem
	v.Sig = &Answer{Scope: v.Scope, RRs: sigs, Wire: compileWire(sigs, &m)}
	return true
}

// pendingCheck is an answer set a check applies to, noted while its zone
// compiles and resolved into targets once the snapshot is whole (an SRV
// target may be in any zone).
type pendingCheck struct {
	a     *Answer
	check int    // index into Snapshot.Checks
	at    record // where an error about the set points
	zone  string
	owner string
}

// checkAnswer notes that check applies to the answer set a of owner, made
// from rs.
func (c *compiler) checkAnswer(z *Zone, owner string, a *Answer, rs []record, check int) {
	if len(a.RRs) > maxChecked {
		c.addAt(rs[0], "check", owner, "a checked set holds at most %d records, this one %d", maxChecked, len(a.RRs))
		return
	}
	c.pending = append(c.pending, pendingCheck{a: a, check: check, at: rs[0], zone: z.Origin, owner: owner})
}

// appliesCheck reports whether the check of pol applies to an answer set of
// n records of type t: a name's check to its address and SRV sets, a zone's
// to its address sets of more than one record.
func appliesCheck(pol policy, t uint16, n int) bool {
	if pol.check == 0 {
		return false
	}
	switch t {
	case dns.TypeA, dns.TypeAAAA:
		return pol.checkAll || n > 1
	case dns.TypeSRV:
		return pol.checkAll
	}
	return false
}

// resolveChecks turns the noted sets into the snapshot's targets and
// checked sets. An SRV set's record depends on the addresses of its target
// (every scope's), and those address sets, unless they have a check of
// their own, get the SRV set's check: a pool address that is down leaves
// the additional section and the pool's own answers too.
func (c *compiler) resolveChecks(snap *Snapshot) {
	idx := map[health.Target]int32{}
	targetOf := func(check int, addr netip.Addr) int32 {
		t := health.Target{Spec: snap.Checks[check], Addr: addr}
		i, ok := idx[t]
		if !ok {
			i = int32(len(snap.health.targets))
			idx[t] = i
			snap.health.targets = append(snap.health.targets, t)
		}
		return i
	}
	checked := map[*Answer]bool{}
	for _, p := range c.pending {
		checked[p.a] = true
	}
	var srv, addr []pendingCheck
	for _, p := range c.pending {
		if p.a.RRs[0].Header().Rrtype == dns.TypeSRV {
			srv = append(srv, p)
		} else {
			addr = append(addr, p)
		}
	}
	srvTargets := make([][][]*Answer, len(srv))
	for k, p := range srv {
		srvTargets[k] = make([][]*Answer, len(p.a.RRs))
		for i, rr := range p.a.RRs {
			name := strings.ToLower(rr.(*dns.SRV).Target)
			var sets []*Answer
			for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
				set, _ := snap.targetSet(name, t)
				if set == nil {
					continue
				}
				for _, a := range append([]*Answer{set.Default}, set.ByScope...) {
					if a != nil && len(a.RRs) > 0 {
						sets = append(sets, a)
					}
				}
			}
			if len(sets) == 0 {
				c.addAt(p.at, "check", p.owner, "SRV target %s has no A or AAAA records in the zones served: there is no address to check", name)
				continue
			}
			srvTargets[k][i] = sets
			for _, a := range sets {
				if !checked[a] && len(a.RRs) <= maxChecked {
					checked[a] = true
					zone := p.zone
					if z := snap.zoneFor(name); z != nil {
						zone = z.Origin
					}
					addr = append(addr, pendingCheck{a: a, check: p.check, at: p.at, zone: zone, owner: name})
				}
			}
		}
	}
	for _, p := range addr {
		h := c.newAnswerHealth(snap, p)
		for i, rr := range p.a.RRs {
			if a, ok := rrAddr(rr); ok {
				h.rec[i] = []int32{targetOf(p.check, a)}
			}
		}
		c.addChecked(snap, p.a, h)
	}
	for k, p := range srv {
		h := c.newAnswerHealth(snap, p)
		for i := range p.a.RRs {
			seen := map[int32]bool{}
			for _, a := range srvTargets[k][i] {
				for _, rr := range a.RRs {
					if ad, ok := rrAddr(rr); ok {
						if t := targetOf(p.check, ad); !seen[t] {
							seen[t] = true
							h.rec[i] = append(h.rec[i], t)
						}
					}
				}
			}
		}
		c.addChecked(snap, p.a, h)
	}
	c.pending = nil
}

func (c *compiler) newAnswerHealth(snap *Snapshot, p pendingCheck) *answerHealth {
	h := &answerHealth{
		rec:     make([][]int32, len(p.a.RRs)),
		mask:    1<<len(p.a.RRs) - 1,
		counter: c.labeledCounter(&c.labeled.FailOpen, "answers_failopen", p.zone, p.owner, p.a.Scope),
	}
	if z := snap.zoneFor(strings.ToLower(p.owner)); z != nil && z.DNSSEC != nil {
		h.signer = z.DNSSEC.signer
	}
	return h
}

func (c *compiler) addChecked(snap *Snapshot, a *Answer, h *answerHealth) {
	a.health = h
	snap.health.checked = append(snap.health.checked, h)
	snap.health.answers = append(snap.health.answers, a)
}

// rrAddr is the address of an A or AAAA record.
func rrAddr(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(v.A.To4())
		return a, ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA.To16())
		return a, ok
	}
	return netip.Addr{}, false
}

// checkable reports whether a name's check has something to check among
// sets: an address or SRV set.
func checkable(sets []*RRset) bool {
	for _, s := range sets {
		switch s.Type {
		case dns.TypeA, dns.TypeAAAA, dns.TypeSRV:
			return true
		}
	}
	return false
}
