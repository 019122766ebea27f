// Package health probes the addresses that answer sets are checked against
// and keeps each one's state, so that a dead Client Access Server leaves the
// answers until it is back.
//
// A Spec is one [[check]] of the config: what to probe (tcp, tls, http,
// https), how often, how long to wait, and how many results in a row change
// the state (rise, fall). A Target is a Spec and one address. A Monitor
// probes every Target of the serving snapshot on its own schedule, each
// (check, address) pair once however many names hold the address, with a
// bound on the probes in flight; it never probes an address it was not
// given. States reads the current state of each target without a lock.
//
// States start Unknown, which answers treat as up: a server that has just
// started or reloaded hands out every address until a probe says otherwise
// (PowerDNS's ifportup/ifurlup treat the first lookup as down instead, and
// answer from the backup selector until the first check is back).
//
// Wiring (cmd/sitedns does this):
//
//	mon := health.NewMonitor(log, health.DefaultMaxProbes)
//	st := mon.Update(snap.HealthTargets()) // carries the state of known targets over
//	snap.ApplyHealth(st.Up)                // before the snapshot serves
//	srv.Swap(snap)
//	for range mon.Changed() { current.ApplyHealth(st.Up) }
package health
