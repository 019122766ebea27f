package zones

// Kind is the outcome of a name lookup.
type Kind uint8

const (
	// KindRefused: no zone of ours contains the name (REFUSED).
	KindRefused Kind = iota
	// KindAnswer: Set holds the answer. When the name owns a CNAME and the
	// query type is not CNAME, Set is the CNAME RRset and the server chases it.
	KindAnswer
	// KindNoData: the name exists (or is an empty non-terminal) without the type.
	KindNoData
	// KindNXDomain: the name does not exist and no wildcard covers it.
	KindNXDomain
	// KindReferral: the name is at or below a delegation; Node is the cut.
	KindReferral
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
}

// Lookup finds qname (lower case, fully qualified) for qtype following RFC
// 1034 §4.3.2: the zone with the longest matching origin, then delegations
// above the name, the exact name, empty non-terminals, wildcards. It does not
// chase CNAMEs (the server does, so it can stop at zone edges and loops).
func (s *Snapshot) Lookup(qname string, qtype uint16) Result { panic("unimplemented") }
