package ordering

// Subset returns the ordering of the records keep of s (indices of s, in
// ascending order, at least one) as a set of its own: the same policy, the
// weights of those records when s is weighted, and a rotation counter of its
// own starting at zero. It has no slot in a Rotation: the readers share that
// one counter while the subset stands in for s. Record i of the result is record keep[i] of s.
//
// Health checks use it to order what remains of an answer set once its dead
// records are dropped, so that round robin, netmask ordering and weights run
// over the remaining records only and each keeps an equal (or weighted)
// share. It allocates; it is meant for the health goroutine, not for the
// query path.
func (s *Set) Subset(keep []int) *Set {
	n := &Set{
		v4:          make([]uint64, len(keep)),
		netmask:     s.netmask,
		v6bits:      s.v6bits,
		remoteFixed: s.remoteFixed,
		rotate:      s.rotate && len(keep) > 1,
	}
	orderable := false
	for i, k := range keep {
		n.v4[i] = s.v4[k]
		orderable = orderable || s.v4[k] != noV4
	}
	if s.v6 != nil {
		n.v6 = make([]record6, len(keep))
		for i, k := range keep {
			n.v6[i] = s.v6[k]
			orderable = orderable || s.v6[k].ok
		}
	}
	n.localOK = s.localOK && orderable
	if s.sched != nil && n.rotate {
		w := make([]int, len(keep))
		for i, k := range keep {
			w[i] = s.sched.weight(k)
		}
		// The weights of s passed newSchedule, so a part of them does too.
		n.sched, _ = newSchedule(w, len(w))
	}
	return n
}
