// Package ordering decides the order of the records in an answer, the way
// Windows DNS does: netmask ordering (LocalNetPriority) puts the records in
// the client's own network first, round robin rotates them per query. It also
// maps client addresses to sites by longest-prefix match.
//
// It is pure: addresses and indices in, a permutation out. It knows nothing
// of DNS messages or sockets, so it can be tested exhaustively and called on
// the hot path without allocating. A Set is compiled once per answer set when
// a snapshot is built; per query it writes indices into the caller's buffer
// and never reorders the records themselves:
//
//	set, err := ordering.NewSet(ordering.DefaultPolicy(), addrs, true, nil)
//	if err != nil {
//		return err
//	}
//	order := make([]int, set.Len()) // once per worker, reused across queries
//	local := set.Order(order, client)
//	// Write records addrs[order[0]], addrs[order[1]], ...; the first local
//	// of them are in the client's network.
//
// With the records 10.1.1.10, 10.2.1.10 and 10.3.1.10 (docs/design.md#the-affinityus-example) a client
// at 10.2.1.77 gets 10.2.1.10 first on every query and the other two
// alternating; a client at 10.9.9.9 gets all three in turn.
package ordering
