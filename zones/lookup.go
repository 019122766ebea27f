package zones

import "github.com/miekg/dns"

// Kind is the outcome of a name lookup.
type Kind uint8

const (
	// KindRefused: no zone of ours contains the name (REFUSED).
	KindRefused Kind = iota
	// KindAnswer: Set holds the answer. When the name owns a CNAME and the
	// query type is not CNAME, Set is the CNAME RRset and the server chases it.
	// For an ANY query Set is nil and Node.Sets holds the data.
	KindAnswer
	// KindNoData: the name exists (or is an empty non-terminal) without the type.
	KindNoData
	// KindNXDomain: the name does not exist and no wildcard covers it.
	KindNXDomain
	// KindReferral: the name is at or below a delegation; Node is the cut.
	KindReferral
	// KindServFail: the name is in a secondary zone that has no data or has
	// expired (Zone.Expired); the answer is SERVFAIL.
	KindServFail
)

// Result is what Lookup found.
type Result struct {
	Zone *Zone
	Kind Kind
	// Node is the node answered from: the exact node, the wildcard node that
	// synthesised the answer, or the delegation point.
	Node *Node
	// Set is the answer RRset for KindAnswer.
	Set *RRset
	// Wildcard is true when Node is a wildcard: the answer's owner must be the
	// query name.
	Wildcard bool
	// Viewed is true when the outcome depends on the client's view (a name
	// that some view does not have was met): the server must scope an ECS
	// answer to the client's site.
	Viewed bool
}

// Lookup finds qname (lower case, fully qualified) for qtype following RFC
// 1034 §4.3.2: the zone with the longest matching origin, then delegations
// above the name, the exact name, empty non-terminals, wildcards. It does not
// chase CNAMEs (the server does, so it can stop at zone edges and loops).
// It never allocates: every map key is a substring of qname. Every name
// exists: see LookupView for what one view of the zone has.
func (s *Snapshot) Lookup(qname string, qtype uint16) Result {
	return s.LookupView(qname, qtype, viewAll)
}

// LookupView is Lookup as the clients of scope (-1: no scope) see the zones:
// a site-aware name with no records for them, and none below it, is not
// there (views.go), so they get NXDOMAIN or a covering wildcard's answer.
// The cost over Lookup is one field test per node met.
func (s *Snapshot) LookupView(qname string, qtype uint16, scope int) Result {
	z := s.zoneFor(qname)
	if z == nil {
		return Result{}
	}
	if z.Expired {
		return Result{Zone: z, Kind: KindServFail}
	}
	// end is where the origin starts in qname: names between end and the
	// apex are below the apex.
	end := len(qname) - len(z.Origin)
	if z.hasCuts {
		// Top down, from the label just below the apex to qname itself, so
		// the highest cut wins.
		for i := end - 1; i >= 0; i-- {
			if i != 0 && qname[i-1] != '.' {
				continue
			}
			n := z.Nodes[qname[i:]]
			if n == nil || !n.Cut {
				continue
			}
			if i == 0 && qtype == dns.TypeDS {
				// The parent side of a cut answers DS (RFC 4035 §3.1.4.1).
				return answerAt(z, n, qtype, false)
			}
			return Result{Zone: z, Kind: KindReferral, Node: n}
		}
	}
	viewed := false
	if n := z.Nodes[qname]; n != nil {
		if !n.hiddenIn(z, scope) {
			r := answerAt(z, n, qtype, false)
			r.Viewed = n.hidden != 0 && scope != viewAll
			return r
		}
		viewed = true
	}
	// The closest encloser: strip labels from the left until a node exists
	// (in the view); the apex always does.
	for i := 0; i < end; i++ {
		if qname[i] != '.' {
			continue
		}
		ce := z.Nodes[qname[i+1:]]
		if ce == nil {
			continue
		}
		if ce.hiddenIn(z, scope) {
			viewed = true
			continue
		}
		if w := ce.wild; w != nil {
			if !w.hiddenIn(z, scope) {
				r := answerAt(z, w, qtype, true)
				r.Viewed = viewed || w.hidden != 0 && scope != viewAll
				return r
			}
			viewed = true
		}
		break
	}
	return Result{Zone: z, Kind: KindNXDomain, Viewed: viewed}
}

// answerAt answers qtype from the sets at n.
func answerAt(z *Zone, n *Node, qtype uint16, wild bool) Result {
	r := Result{Zone: z, Node: n, Wildcard: wild, Kind: KindNoData}
	if qtype == dns.TypeANY {
		if len(n.Sets) > 0 {
			r.Kind = KindAnswer
		}
		return r
	}
	if set := n.Set(qtype); set != nil {
		r.Kind, r.Set = KindAnswer, set
		return r
	}
	if set := n.Set(dns.TypeCNAME); set != nil {
		r.Kind, r.Set = KindAnswer, set
	}
	return r
}

// zoneFor returns the zone with the longest origin containing qname.
func (s *Snapshot) zoneFor(qname string) *Zone {
	for _, z := range s.Zones {
		o := z.Origin
		switch {
		case o == ".":
			return z
		case len(qname) == len(o):
			if qname == o {
				return z
			}
		case len(qname) > len(o):
			if qname[len(qname)-len(o)-1] == '.' && qname[len(qname)-len(o):] == o {
				return z
			}
		}
	}
	return nil
}
