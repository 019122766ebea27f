package ordering

// FirstShares writes into dst[i] the share of answers that put record i
// first for a client with no record in its network: over a full rotation,
// 1/Len() each when the set rotates, weight/total under weighted round
// robin, and 1 for record 0 (0 for the others) when the set is in zone
// order, as windows2000 with netmask ordering and round robin off leave it.
// A client with a local record gets that record first instead, so the
// shares are what the records of a set see from the clients outside them.
// dst must have room for Len() entries; the shares sum to 1 for a non-empty
// set. FirstShares reads only the compiled settings, never the rotation.
func (s *Set) FirstShares(dst []float64) {
	n := len(s.v4)
	dst = dst[:n]
	switch {
	case n == 0:
	case s.sched != nil:
		total := float64(len(s.sched.seq))
		for i := range dst {
			dst[i] = float64(s.sched.weight(i)) / total
		}
	case s.rotate:
		for i := range dst {
			dst[i] = 1 / float64(n)
		}
	default:
		clear(dst)
		dst[0] = 1
	}
}
