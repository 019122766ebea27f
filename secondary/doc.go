// Package secondary keeps the secondary zones of the serving config: zones
// whose records come from primaries by zone transfer (RFC 5936 AXFR, RFC
// 1995 IXFR) rather than from the config.
//
// A Manager runs one refresh loop per secondary zone (RFC 1034 §4.3.5): an
// SOA query to each primary in turn, signed with the zone's TSIG key (RFC
// 8945) when it has one; a transfer when the primary's serial is newer (RFC
// 1982); the SOA timers for the next check; a NOTIFY (RFC 1996) for an
// immediate one. A transfer becomes master-file text that the Publisher
// compiles with the config, exactly as a reload does; only when that
// compiles and is swapped in does the text become the zone's good data and
// its stored copy. Past the SOA expire without a good refresh the zone is
// published as expired and answers SERVFAIL.
//
// The Manager is also the zones.Transfers every compile of the config
// reads secondary data from:
//
//	var rl *reloader
//	sec := secondary.New(ctx, log, func(xfr zones.Transfers, reason string) error {
//		return rl.publish(xfr, reason) // compile the config with xfr, swap
//	})
//	snap, _ := zones.LoadWith(path, counters, sec) // stored copies at start
//	srv := server.New(server.Config{Notify: func(o string) { sec.Notify(o) }}, snap)
//	sec.Sync(snap) // start the refresh loops; again after every swap
package secondary
