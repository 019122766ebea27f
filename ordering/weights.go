package ordering

import (
	"fmt"
	"slices"
)

// MaxWeight is the largest sum of weights NewSet accepts. The schedule holds
// one entry per unit of weight, so the bound keeps a set's memory small and
// its construction fast; 10000 still gives weights to four digits.
const MaxWeight = 10000

// schedule is a precomputed smooth weighted round robin: seq[t % len(seq)] is
// the record handed out first at tick t. Immutable after construction.
type schedule struct {
	// seq is the nginx smooth weighted round robin sequence: record i occurs
	// weight[i] times in len(seq) = sum(weights) entries, spread as evenly as
	// the weights allow.
	seq []uint16
	// pos[off[i]:off[i+1]] are the positions in seq that hold record i, in
	// ascending order; off[i+1]-off[i] is the weight of record i.
	pos []uint16
	off []uint16
}

// newSchedule validates weights for n records and builds their schedule.
func newSchedule(weights []int, n int) (*schedule, error) {
	if len(weights) != n {
		return nil, fmt.Errorf("weights: %d weights for %d records", len(weights), n)
	}
	total := 0
	for i, w := range weights {
		if w <= 0 {
			return nil, fmt.Errorf("weights: weight %d of record %d is not positive", w, i)
		}
		if w > MaxWeight || total+w > MaxWeight {
			return nil, fmt.Errorf("weights: sum of weights exceeds %d", MaxWeight)
		}
		total += w
	}
	if n == 0 {
		return &schedule{off: []uint16{0}}, nil
	}

	// nginx's smooth weighted round robin: every step each record gains its
	// weight, the richest (lowest index on a tie) is chosen and pays the
	// total. Over total steps each record is chosen exactly weight times, and
	// a heavy record's turns are interleaved with the others' rather than
	// bunched: weights 5,1,1 give a a b a c a a.
	s := &schedule{
		seq: make([]uint16, total),
		pos: make([]uint16, total),
		off: make([]uint16, n+1),
	}
	cur := make([]int, n)
	for t := range s.seq {
		best := 0
		for i, w := range weights {
			cur[i] += w
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		s.seq[t] = uint16(best)
	}
	for i, w := range weights {
		s.off[i+1] = s.off[i] + uint16(w)
	}
	next := slices.Clone(s.off[:n])
	for t, i := range s.seq {
		s.pos[next[i]] = uint16(t)
		next[i]++
	}
	return s, nil
}

// weight returns the weight of record i.
func (s *schedule) weight(i int) int { return int(s.off[i+1] - s.off[i]) }

// before returns how many entries of seq[:x] hold record i.
func (s *schedule) before(i, x int) int {
	n, _ := slices.BinarySearch(s.pos[s.off[i]:s.off[i+1]], uint16(x))
	return n
}

// pick returns the record a tier starts with at tick: the entry number
// tick % W of the schedule restricted to the tier, where W is the tier's
// total weight. The tier is local (its members are listed in local) or the
// rest of the set (local lists the records not in it). Restricting the one
// schedule keeps each tier smooth and exact: over W consecutive ticks every
// record of the tier comes first exactly its weight times.
//
// It runs a binary search over the schedule, counting the local entries
// before a position from each local record's sorted positions, so it costs
// O(len(local) · log² W) and allocates nothing.
func (s *schedule) pick(local []int, inLocal bool, tick uint64) int {
	total := len(s.seq)
	lw := 0
	for _, i := range local {
		lw += s.weight(i)
	}
	tw := lw
	if !inLocal {
		tw = total - lw
	}
	p := int(tick % uint64(tw))
	if tw == total {
		return int(s.seq[p])
	}
	// Find the smallest x with count(seq[:x]) > p; seq[x-1] is entry p of
	// the tier.
	lo, hi := 1, total
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c := 0
		for _, i := range local {
			c += s.before(i, mid)
		}
		if !inLocal {
			c = mid - c
		}
		if c > p {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return int(s.seq[lo-1])
}
