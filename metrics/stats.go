package metrics

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Transport is how a query arrived.
type Transport uint8

const (
	UDP Transport = iota
	TCP
	transports
)

var transportNames = [transports]string{UDP: "udp", TCP: "tcp"}

// String returns the transport's label value ("udp", "tcp").
func (t Transport) String() string {
	if t < transports {
		return transportNames[t]
	}
	return "unknown"
}

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

var dropNames = [dropReasons]string{
	DropMalformed: "malformed",
	DropResponse:  "response",
	DropRateLimit: "ratelimit",
	DropTCPLimit:  "tcp_limit",
	DropPanic:     "panic",
}

// String returns the reason's label value ("malformed", "tcp_limit", ...).
func (r DropReason) String() string {
	if r < dropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// The qtype label is one of a fixed list plus "other"; qtypeIndex maps a
// qtype below 256 to its position in qtypeNames.
var (
	qtypes     = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeNS, dns.TypeSOA, dns.TypeSRV, dns.TypeTXT, dns.TypePTR, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR}
	qtypeOther = uint8(len(qtypes))
	qtypeNames [numQtypes]string
	qtypeIndex [256]uint8
)

const numQtypes = 13 // len(qtypes) + "other"

// The rcode label is one of NOERROR..REFUSED, BADVERS or "other".
const (
	rcodeBadVers = 6 // index of BADVERS (rcode 16)
	rcodeOther   = 7
	numRcodes    = 8
)

var rcodeNames [numRcodes]string

func init() {
	if len(qtypes)+1 != numQtypes {
		panic("metrics: numQtypes does not match the qtype list")
	}
	for i := range qtypeIndex {
		qtypeIndex[i] = qtypeOther
	}
	for i, t := range qtypes {
		qtypeIndex[t] = uint8(i)
		qtypeNames[i] = dns.TypeToString[t]
	}
	qtypeNames[qtypeOther] = "other"
	for rc := dns.RcodeSuccess; rc <= dns.RcodeRefused; rc++ {
		rcodeNames[rc] = dns.RcodeToString[rc]
	}
	// miekg/dns names rcode 16 after TSIG (BADSIG); an authoritative server
	// without TSIG only ever sends it as BADVERS (RFC 6891).
	rcodeNames[rcodeBadVers] = "BADVERS"
	rcodeNames[rcodeOther] = "other"
}

func rcodeIndex(rcode int) int {
	switch {
	case rcode >= dns.RcodeSuccess && rcode <= dns.RcodeRefused:
		return rcode
	case rcode == dns.RcodeBadVers:
		return rcodeBadVers
	}
	return rcodeOther
}

// durationBounds are the upper bounds of sitedns_request_duration_seconds,
// 10µs to 100ms: an answer from the snapshot takes tens of microseconds, a
// slow one (TCP, a loaded machine) milliseconds.
var durationBounds = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
}

const numBuckets = 13 // len(durationBounds); one more counter holds +Inf

// durationBoundsNs is durationBounds in nanoseconds, for Observe.
var durationBoundsNs [numBuckets]int64

func init() {
	if len(durationBounds) != numBuckets {
		panic("metrics: numBuckets does not match durationBounds")
	}
	for i, b := range durationBounds {
		durationBoundsNs[i] = int64(math.Round(b * 1e9))
	}
}

// histogram is a fixed-bucket latency histogram kept in atomic counters:
// one add for the bucket and one for the sum per observation. The collector
// turns it into a const histogram, deriving the count from the buckets so the
// two always agree.
type histogram struct {
	buckets [numBuckets + 1]atomic.Uint64 // not cumulative; the last is +Inf
	sumNs   atomic.Uint64
}

func (h *histogram) observe(ns int64, n uint64) {
	if ns < 0 {
		ns = 0
	}
	i := 0
	for i < numBuckets && ns > durationBoundsNs[i] {
		i++
	}
	h.buckets[i].Add(n)
	h.sumNs.Add(uint64(ns) * n)
}

// Stats holds the server's own counters and histograms: queries, responses,
// drops, latency, reloads. The packet path bumps them with atomic adds, never
// a label lookup: each method is an index into a fixed array and one or two
// atomic adds, with no allocation. Safe for concurrent use.
//
// A Stats made by NewStats may hand out shards (Shard) for workers that
// should not share cache lines; the collector sums a Stats and its shards.
type Stats struct {
	queries   [transports][numQtypes]atomic.Uint64
	responses [numRcodes]atomic.Uint64
	drops     [dropReasons]atomic.Uint64
	duration  [transports]histogram

	// Reload state lives in the root only; a shard forwards to it.
	root          *Stats           // nil for a root
	reloads       [2]atomic.Uint64 // [0] success, [1] failure
	lastOK        atomic.Bool
	lastSuccessNs atomic.Int64 // Unix nanoseconds; 0 = never

	mu     sync.Mutex
	shards []*Stats // guarded by mu
}

// NewStats returns zeroed stats.
func NewStats() *Stats { return new(Stats) }

// Shard returns a new zeroed Stats whose counts are reported together with
// s's: the collector of s sums s and every shard it handed out. Give each
// worker its own shard to keep the hot counters off shared cache lines.
// Reloaded on a shard records on s. A shard is never released: make one per
// long-lived worker, not per connection. Safe for concurrent use.
func (s *Stats) Shard() *Stats {
	r := s.rootStats()
	sh := &Stats{root: r}
	r.mu.Lock()
	r.shards = append(r.shards, sh)
	r.mu.Unlock()
	return sh
}

func (s *Stats) rootStats() *Stats {
	if s.root != nil {
		return s.root
	}
	return s
}

// all returns s (a root) and its shards.
func (s *Stats) all() []*Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Stats, 0, 1+len(s.shards))
	return append(append(out, s), s.shards...)
}

// Query counts one query (sitedns_queries_total{transport,qtype}); qtypes
// outside the fixed list count as "other".
func (s *Stats) Query(t Transport, qtype uint16) {
	i := qtypeOther
	if qtype < uint16(len(qtypeIndex)) {
		i = qtypeIndex[qtype]
	}
	s.queries[t][i].Add(1)
}

// Response counts one response by rcode (sitedns_responses_total{rcode}),
// extended rcodes (BADVERS) included.
func (s *Stats) Response(rcode int) { s.responses[rcodeIndex(rcode)].Add(1) }

// Drop counts one packet that got no reply.
func (s *Stats) Drop(r DropReason) { s.drops[r].Add(1) }

// Observe records how long a query took (sitedns_request_duration_seconds).
func (s *Stats) Observe(t Transport, d time.Duration) { s.duration[t].observe(int64(d), 1) }

// ObserveN records n queries that each took d: the UDP readers answer a
// batch of queries before sending any reply, and record the batch once.
func (s *Stats) ObserveN(t Transport, d time.Duration, n int) {
	if n > 0 {
		s.duration[t].observe(int64(d), uint64(n))
	}
}

// Reloaded records a reload attempt (sitedns_config_reloads_total{result},
// sitedns_config_last_reload_successful, ..._success_timestamp_seconds).
// at is when the configuration that now serves was loaded (for a success)
// or when the attempt was made (for a failure, where it is not recorded).
func (s *Stats) Reloaded(ok bool, at time.Time) {
	s = s.rootStats()
	if ok {
		s.reloads[0].Add(1)
		s.lastSuccessNs.Store(unixNano(at))
		s.lastOK.Store(true)
		return
	}
	s.reloads[1].Add(1)
	s.lastOK.Store(false)
}

// Loaded records the configuration loaded at start-up: it sets
// sitedns_config_last_reload_successful and the success timestamp like a
// successful Reloaded, but does not count a reload.
func (s *Stats) Loaded(at time.Time) {
	s = s.rootStats()
	s.lastSuccessNs.Store(unixNano(at))
	s.lastOK.Store(true)
}

// unixNano is at in Unix nanoseconds, now for the zero time.
func unixNano(at time.Time) int64 {
	if at.IsZero() {
		at = time.Now()
	}
	return at.UnixNano()
}
