package metrics

import "time"

// Transport is how a query arrived.
type Transport uint8

const (
	UDP Transport = iota
	TCP
)

// DropReason says why a packet got no reply (sitedns_dropped_total{reason}).
type DropReason uint8

const (
	DropMalformed DropReason = iota // too short or garbled to answer even with FORMERR
	DropResponse                    // QR=1: a response, never answered
	DropRateLimit                   // response rate limiting
	DropTCPLimit                    // TCP connection refused by a cap
	DropPanic                       // a handler panicked; the query got no answer
	dropReasons
)

// Stats holds the server's own counters and histograms: queries, responses,
// drops, latency, reloads. The packet path bumps them with atomic adds, never
// a label lookup. Safe for concurrent use.
type Stats struct {
	// implementation-defined
}

// NewStats returns zeroed stats.
func NewStats() *Stats { panic("unimplemented") }

// Query counts one query (sitedns_queries_total{transport,qtype}); qtypes
// outside the fixed list count as "other".
func (s *Stats) Query(t Transport, qtype uint16) { panic("unimplemented") }

// Response counts one response by rcode (sitedns_responses_total{rcode}),
// extended rcodes (BADVERS) included.
func (s *Stats) Response(rcode int) { panic("unimplemented") }

// Drop counts one packet that got no reply.
func (s *Stats) Drop(r DropReason) { panic("unimplemented") }

// Observe records how long a query took (sitedns_request_duration_seconds).
func (s *Stats) Observe(t Transport, d time.Duration) { panic("unimplemented") }

// Reloaded records a reload attempt (sitedns_config_reloads_total{result},
// sitedns_config_last_reload_successful, ..._success_timestamp_seconds).
func (s *Stats) Reloaded(ok bool, at time.Time) { panic("unimplemented") }
