// Package e2e holds the end-to-end tests: they build the real sitedns
// binary, start it on loopback and query it with real clients (dig, a
// miekg/dns client, Prometheus), sending from several 127.x.y.z source
// addresses to play clients in different sites.
//
// When a tool they need (dig, prometheus) is missing they skip, except under
// CI=true, where a missing tool is a failure: .ci/run installs them.
package e2e
