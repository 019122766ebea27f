package zones

import "github.com/miekg/dns"

// rotating is an answer set of a snapshot whose order rotates, with what
// finds its counterpart in the snapshot before: CarryRotation's list.
type rotating struct {
	origin, owner string
	qtype         uint16
	scope         string // "default" or a scope name, as Answer.Scope
	a             *Answer
}

// CarryRotation makes every rotating answer set of next that is unchanged
// from prev (the same owner, type, scope and records in the same order)
// continue prev's rotation instead of starting again at its first record.
// Without it a reload resets every rotation, and reloads more frequent than
// the queries of a name (zone transfers, a config watch) hand out its first
// record far more often than the others. Call it on a snapshot not yet
// serving, right before swapping it in for prev, so that hardly a query of
// prev is answered after it; it then forgets the list it walks. It costs
// a map lookup per rotating answer set, none for single records.
func CarryRotation(prev, next *Snapshot) {
	if prev == nil || next == nil {
		next.forgetRotating()
		return
	}
	var pz *Zone
	for _, r := range next.rotating {
		if pz == nil || pz.Origin != r.origin {
			pz = prev.zone(r.origin)
			if pz == nil {
				continue
			}
		}
		n := pz.Nodes[r.owner]
		if n == nil {
			continue
		}
		set := n.Set(r.qtype)
		if set == nil {
			continue
		}
		old := set.Default
		if r.scope != "default" {
			old = nil
			for j, name := range prev.ScopeNames {
				if name == r.scope && j < len(set.ByScope) {
					old = set.ByScope[j]
				}
			}
		}
		if old != nil && sameRecords(old.RRs, r.a.RRs) {
			next.Rotation.Resume(r.a.Order, prev.Rotation, old.Order)
		}
	}
	next.forgetRotating()
}

func (s *Snapshot) forgetRotating() {
	if s != nil {
		s.rotating = nil
	}
}

// zone returns the zone of origin, or nil.
func (s *Snapshot) zone(origin string) *Zone {
	for _, z := range s.Zones {
		if z.Origin == origin {
			return z
		}
	}
	return nil
}

// sameRecords reports whether a and b hold the same records (TTLs aside)
// in the same order.
func sameRecords(a, b []dns.RR) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !dns.IsDuplicate(a[i], b[i]) {
			return false
		}
	}
	return true
}
