package zones

import "github.com/miekg/dns"

// slab hands out values of T carved from shared chunks. A zone of a million
// names compiles a million Nodes, RRsets, Answers and precompiled records;
// taken from slabs they cost a few hundred allocations instead of several
// million, the garbage collector has far fewer objects to track, and the
// values of one name lie next to those of the name before it.
//
// A chunk stays alive as long as any value in it does. That suits a
// snapshot, whose values all live and die together; it would not suit
// values with different lifetimes. The zero slab is ready to use; it is not
// safe for concurrent use.
type slab[T any] struct {
	free []T // the rest of the current chunk
	next int // the size of the next chunk
}

const (
	// minChunk and maxChunk bound a chunk's length: chunks start small, so a
	// small config stays small, and double up to maxChunk.
	minChunk = 8
	maxChunk = 4096
)

// new returns a pointer to a zeroed T.
func (s *slab[T]) new() *T { return &s.take(1)[0] }

// take returns n zeroed values. The slice is capped at n, so appending to it
// reallocates rather than running into the values handed out next.
func (s *slab[T]) take(n int) []T {
	if n > len(s.free) {
		if n > maxChunk/4 {
			v := make([]T, n)
			prefault(v)
			return v
		}
		s.next = min(max(s.next*2, minChunk), maxChunk)
		s.free = make([]T, max(s.next, n))
		prefault(s.free)
	}
	v := s.free[:n:n]
	s.free = s.free[n:]
	return v
}

// append appends v to list, taking the first element from the slab: most
// lists of a large zone hold one value.
func (s *slab[T]) append(list []T, v T) []T {
	if cap(list) == 0 {
		list = s.take(1)[:0]
	}
	return append(list, v)
}

// snapMem holds the slabs a snapshot's compiled values are taken from.
type snapMem struct {
	nodes   slab[Node]
	sets    slab[RRset]
	setPtrs slab[*RRset]
	answers slab[Answer]
	rrs     slab[dns.RR]
	wire    wireMem
}

// wireMem holds the slabs of precompiled records.
type wireMem struct {
	wires slab[Wire]
	rrs   slab[WireRR]
	data  slab[byte]
	// targeted lists the Wires with SRV, MX or NS targets, whose
	// additional sets linkTargets finds once the snapshot is whole.
	targeted []*Wire
}
