// Package ordering decides the order of the records in an answer, the way
// Windows DNS does: netmask ordering (LocalNetPriority) puts the records in
// the client's own network first, round robin rotates them per query.
//
// It is pure: addresses and indices in, a permutation out. It knows nothing
// of DNS messages or sockets, so it can be tested exhaustively and called on
// the hot path without allocating:
//
//	set, _ := ordering.NewSet(ordering.DefaultPolicy(), addrs, true, nil)
//	var buf [16]int
//	n := set.Len()
//	set.Order(buf[:n], client) // buf[:n] is the order to write the records in
package ordering
