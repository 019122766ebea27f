package zones

import (
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/health"
	"github.com/sitedns/sitedns/ordering"
)

// Snapshot is one compiled configuration: everything the packet path needs to
// answer, in lookup tables built once. Immutable after construction, except
// for the atomic counters it points to and the health view of each checked
// answer set (one atomic pointer each, see ApplyHealth); safe for concurrent
// use. The server
// holds it behind an atomic.Pointer and swaps it whole on reload.
type Snapshot struct {
	// Source is the config file the snapshot was compiled from ("" for the
	// embedded demo config).
	Source string
	// Loaded is when the snapshot was compiled.
	Loaded time.Time
	// ConfigHash identifies the configuration served: the first 16 hex
	// digits of the SHA-256 of the config text and of each zone file it
	// names (its name as written and its text), in config order. Replicas
	// loading the same files have the same hash wherever the files lie
	// (sitedns_config_info). Files a zone file $INCLUDEs are not in it.
	ConfigHash string
	// Files are the files the snapshot was compiled from, with their
	// content's digest as read: the config file (when loaded from one),
	// the zone files it names and the files those $INCLUDE. -watch polls
	// them.
	Files []SourceFile
	// Warnings are problems that do not stop the config from serving (an
	// RRset too large for a UDP answer without EDNS), in file order.
	Warnings Errors

	// ClientSubnet says whether a valid EDNS Client Subnet option replaces the
	// packet source as the client address ([server] client_subnet).
	ClientSubnet bool
	// Listen and MetricsListen are the [server] addresses from the config;
	// flags override them. Used only at start-up: sockets are never re-bound.
	Listen        []string
	MetricsListen *string
	// AXFRAllow lists the client prefixes allowed zone transfers.
	AXFRAllow []netip.Prefix
	// JournalDir is where each zone's IXFR history is kept across restarts
	// ([server] journal_dir, absolute); "" keeps it in memory only.
	JournalDir string
	// Identity answers the CHAOS TXT queries id.server and hostname.bind,
	// Version answers version.bind and version.server ([server] identity
	// and version). "" hides them: the queries are then REFUSED, as every
	// class but IN is.
	Identity, Version string
	// MaxUDPSize is the largest UDP response sent, whatever payload size a
	// client offers ([server] max_udp_size, DefaultMaxUDPSize when unset);
	// a larger answer goes out truncated (TC=1). 0 in a snapshot not built
	// by Compile: the server then uses its own ceiling.
	MaxUDPSize int
	// RateLimit is the response rate limiting of UDP answers ([rrl]); nil
	// when off.
	RateLimit *RateLimit

	// TSIG lists the [[tsig]] keys.
	TSIG []TSIGKey

	// Sites maps a client address to a site index (0 = unknown).
	Sites *ordering.Sites
	// SiteNames[i] is the name of site i; SiteNames[0] is "unknown".
	SiteNames []string
	// SiteScope[i] is the scope index of site i, -1 when the site has none.
	SiteScope []int
	// ScopeNames[j] is the name of scope j.
	ScopeNames []string

	// Zones are the zones served, longest origin first.
	Zones []*Zone

	// ResignAt is when the snapshot's signatures must be made again: the
	// earliest of its signed zones' Signing.ResignAt. Zero when no zone is
	// signed. The server reloads the config then, which signs afresh.
	ResignAt time.Time

	// Checks are the [[check]] tables, in config order.
	Checks []*health.Spec

	// Rotation holds the rotation counters of the snapshot's answer sets,
	// a row per shard (ordering.Rotation): the server's UDP readers each
	// rotate in a row of their own. Never nil in a compiled snapshot.
	Rotation *ordering.Rotation

	// rotating lists the answer sets whose order rotates, for
	// CarryRotation; nil once it ran.
	rotating []rotating

	// Counters are the per-target and per-site counters the metrics collector
	// reads. They come from the Counters registry given to Compile, so the same
	// label set keeps its counter across reloads.
	Counters SnapshotCounters

	// health holds the checked answer sets and their targets (ApplyHealth).
	health snapHealth
}

// SnapshotCounters lists every counter this snapshot bumps, with its labels,
// for the metrics collector. Names and targets not in the snapshot are absent.
type SnapshotCounters struct {
	// Tally holds the counts of every Counter below and of the answer
	// sets' counters; the packet path bumps them in its own shard
	// (Tally.Row).
	Tally *Tally
	// AnswersFirst: sitedns_answers_first_total{zone,name,scope,target,site}.
	AnswersFirst []LabeledCounter
	// FirstShares: sitedns_answer_first_share_expected{zone,name,scope,target},
	// each record's share of first answers as its set's ordering gives it
	// to clients with no record in their network (ordering.Set.FirstShares).
	FirstShares []LabeledValue
	// Netmask: sitedns_netmask_matches_total{zone,name,result}.
	Netmask []LabeledCounter
	// Site[i]: sitedns_site_queries_total{site=SiteNames[i]}.
	Site []Counter
	// FailOpen: sitedns_answers_failopen_total{zone,name,scope}, one per
	// checked answer set.
	FailOpen []LabeledCounter
}

// LabeledCounter is a counter and its label values, in the order of the
// metric's label names.
type LabeledCounter struct {
	Labels []string
	C      Counter
}

// LabeledValue is a value and its label values, in the order of the
// metric's label names.
type LabeledValue struct {
	Labels []string
	V      float64
}

// Zone is one authoritative zone.
type Zone struct {
	// Origin is the zone apex, lower case, fully qualified ("contoso.lab.").
	Origin string
	// SOA is the zone's SOA record.
	SOA *dns.SOA
	// SOASynthesized is true when the config gave no SOA and SOA is the
	// synthesised one ("sitedns check" says so).
	SOASynthesized bool
	// NS is the apex NS RRset (may be empty).
	NS []dns.RR
	// Records counts the records in the zone (sitedns_zone_records).
	Records int
	// Nodes holds every owner name in the zone, lower case, fully qualified,
	// including empty non-terminals (with no RRsets) and wildcard owners
	// ("*.example.contoso.lab.").
	Nodes map[string]*Node

	// NegativeSOA is SOA with the TTL of negative answers, min(SOA TTL, SOA
	// MINIMUM) (RFC 2308 §3), made once rather than per NXDOMAIN or NODATA.
	NegativeSOA *dns.SOA
	// NegSOA is NegativeSOA precompiled for the
	// server's fast path; nil when it cannot be.
	NegSOA *WireRR

	// DNSSEC is how the zone is signed; nil for an unsigned zone.
	DNSSEC *Signing
	// Secondary is set for a zone whose records come from primaries by
	// zone transfer ([[zone]] primaries); nil for a zone of the config.
	Secondary *Secondary
	// Expired is set for a secondary zone with no data yet, or past its SOA
	// expire without a refresh: every query in it gets SERVFAIL.
	Expired bool
	// AlsoNotify are the addresses sent a NOTIFY when the zone's serial
	// changes ([[zone]] also_notify).
	AlsoNotify []netip.AddrPort
	// TransferTSIG is the key that a transfer of the zone (AXFR, IXFR)
	// must be signed with, whose answer is signed with it, and that signs
	// the NOTIFYs to AlsoNotify ([[zone]] transfer_tsig); nil: transfers
	// are allowed by address alone (axfr_allow), NOTIFYs go unsigned.
	TransferTSIG *TSIGKey
	// Deltas are the differences between the zone's last few versions,
	// oldest first, the last ending at SOA's serial: what an IXFR out
	// (RFC 1995) sends. Set by the server's CarryDeltas before the snapshot
	// serves; empty when no earlier version is known.
	Deltas []*Delta

	hasCuts bool // some node is a delegation: Lookup walks the ancestors
	// hidden[i] is the set of views that the names with Node.hidden == i+1
	// do not exist in.
	hidden []viewSet
}

// Node is one owner name.
type Node struct {
	// Name is the owner, lower case, fully qualified.
	Name string
	// Sets are the RRsets at this name, in type order. Empty for an empty
	// non-terminal.
	Sets []*RRset
	// Cut is true for a delegation point (NS below the apex): the server
	// answers with a referral from here and everything below.
	Cut bool
	// hidden is 1 + the index in Zone.hidden of the views this name does
	// not exist in; 0 when it exists in every view (views.go). It fits in
	// the padding after Cut.
	hidden uint16

	// Denial is the NSEC or NSEC3 record of the name, as each scope sees
	// its types, with its signatures; nil in an unsigned zone and for
	// names below a delegation (glue).
	Denial *RRset

	// names indexes what the config says about the name while its zone
	// compiles (compiler.names); meaningless after. It fits in the
	// padding after Cut.
	names int32
	wild  *Node // the wildcard "*.<Name>", if any
}

// Set returns the RRset of type t at n, or nil.
func (n *Node) Set(t uint16) *RRset {
	for _, s := range n.Sets {
		if s.Type == t {
			return s
		}
	}
	return nil
}

// RRset is the records of one type at one owner, as each scope sees them.
type RRset struct {
	Type uint16
	// Default answers clients whose site has no scope of its own here.
	Default *Answer
	// ByScope[j] answers clients of scope j; nil entries fall back to Default.
	// Shorter than the number of scopes when the tail is all nil.
	ByScope []*Answer
}

// For returns the answer set for scope j (-1 = no scope). For a set with a
// health check it is the set as its targets' health has it now (see
// Snapshot.ApplyHealth): one atomic load, no lock.
func (r *RRset) For(scope int) *Answer {
	a := r.Default
	if scope >= 0 && scope < len(r.ByScope) && r.ByScope[scope] != nil {
		a = r.ByScope[scope]
	}
	if a != nil && a.health != nil {
		return a.health.current(a)
	}
	return a
}

// SiteAware reports whether the RRset answers some scope differently.
func (r *RRset) SiteAware() bool { return len(r.ByScope) > 0 }

// Answer is one answer set: the records one scope gets, how to order them,
// and the counters to bump when they are handed out.
type Answer struct {
	// Scope is the scope name, "default" for the default set.
	Scope string
	// RRs are the records in zone order. Never reorder them: order through
	// Order into a buffer of indices.
	RRs []dns.RR
	// Order is the compiled ordering of RRs.
	Order *ordering.Set
	// First counts how often each record was handed out first, per client
	// site (sitedns_answers_first_total): First[FirstRow[site]*len(RRs)+i]
	// counts RRs[i] for clients of site; read it through FirstCounter.
	// Only the sites whose clients get this set have a row. Empty for sets
	// whose first record picks nothing (a single record of a plain name,
	// TXT, SOA…): counting them would only add series.
	First []Counter
	// FirstRow[site] is site's row of First, or 0xFFFF for none. Shared
	// between the sets that the same sites get.
	FirstRow []uint16
	// Local and RemoteOnly count netmask ordering outcomes
	// (sitedns_netmask_matches_total). Zero unless the set holds A records
	// and netmask ordering applies to it.
	Local, RemoteOnly Counter
	// Wire is RRs precompiled for the server's fast path; nil when some
	// record cannot take it (the server then packs with miekg/dns).
	Wire *Wire
	// Sig holds the RRSIGs of RRs in a signed zone (as RRs, in key
	// order, with their own Wire), made when the snapshot was compiled;
	// nil in an unsigned zone and for what is not signed (a delegation's
	// NS, glue).
	Sig *Answer

	// health is set on a checked set and on its fail-open form.
	health *answerHealth
}

// Delta is the difference between two versions of a zone as an IXFR sends
// it (RFC 1995 §4): the records From deleted and those To added. Immutable.
type Delta struct {
	From, To       *dns.SOA
	Deleted, Added []dns.RR
}
