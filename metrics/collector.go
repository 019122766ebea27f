package metrics

import (
	"regexp"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sitedns/sitedns/zones"
)

// BuildInfo labels sitedns_build_info. Empty fields are reported as
// "unknown" (GoVersion as runtime.Version()).
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// NewRegistry returns a private registry holding the Go and process
// collectors (the Go one with go_sched_latencies_seconds too: how long
// goroutines wait for a P, which is how a compile or the garbage collector
// delays answers) and every sitedns_ metric: the server's own counters from stats
// (and its shards), the per-target, per-name and per-site counters and the
// zone sizes read from the snapshot that snapshot returns at each scrape,
// and sitedns_build_info. snapshot may return nil (nothing is served yet);
// then only the snapshot's metrics are absent.
func NewRegistry(stats *Stats, snapshot func() *zones.Snapshot, build BuildInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/latencies:seconds$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(stats, snapshot, build),
	)
	return reg
}

// Collector exports Stats and a zones.Snapshot's counters as const metrics.
// It reads atomics at scrape time and keeps no state of its own, so the
// packet path never touches a label or a map: the server bumps the
// zones.Counter the snapshot hands it, in its own shard of the snapshot's
// Tally, and the collector finds every counter of the current snapshot in
// Snapshot.Counters and sums its shards. A counter keeps its value across
// reloads because zones hands out the same Counter for the same label set;
// a label set that leaves the config leaves the output.
type Collector struct {
	stats     *Stats
	snapshot  func() *zones.Snapshot
	buildInfo prometheus.Metric
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of stats, the snapshot's counters and
// sitedns_build_info. stats and snapshot may be nil.
func NewCollector(stats *Stats, snapshot func() *zones.Snapshot, build BuildInfo) *Collector {
	if build.Version == "" {
		build.Version = "unknown"
	}
	if build.Revision == "" {
		build.Revision = "unknown"
	}
	if build.GoVersion == "" {
		build.GoVersion = runtime.Version()
	}
	if stats != nil {
		stats = stats.rootStats()
	}
	return &Collector{
		stats:     stats,
		snapshot:  snapshot,
		buildInfo: prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, build.Version, build.Revision, build.GoVersion),
	}
}

const namespace = "sitedns"

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	descQueries = newDesc("queries_total",
		"Queries received, by transport and query type (types outside the fixed list count as other).",
		"transport", "qtype")
	descResponses = newDesc("responses_total",
		"Responses sent, by response code.",
		"rcode")
	descDuration = newDesc("request_duration_seconds",
		"Time from reading a query to writing its response, by transport.",
		"transport")
	descDropped = newDesc("dropped_total",
		"Packets that got no reply, by reason.",
		"reason")
	descReloads = newDesc("config_reloads_total",
		"Configuration reload attempts, by result (success or failure).",
		"result")
	descLastReloadOK = newDesc("config_last_reload_successful",
		"Whether the last configuration reload attempt succeeded (1) or failed (0).")
	descLastReloadTime = newDesc("config_last_reload_success_timestamp_seconds",
		"Unix time of the last successful configuration load, 0 before the first.")
	descZoneRecords = newDesc("zone_records",
		"Records in each zone served.",
		"zone")
	descAnswersFirst = newDesc("answers_first_total",
		"Answers that listed each target first, by zone, name, scope, target and client site (unknown when no site subnet matched).",
		"zone", "name", "scope", "target", "site")
	descFirstShare = newDesc("answer_first_share_expected",
		"The share of a name's and scope's answers that should list each target first, from the set's size, weights and ordering, for clients with no record in their network (0: never first).",
		"zone", "name", "scope", "target")
	descZoneSerial = newDesc("zone_serial",
		"The SOA serial of each zone served.",
		"zone")
	descConfigInfo = newDesc("config_info",
		"A metric with a constant value of 1, labelled by a hash of the configuration served (the config file and the zone files it names): replicas with different hashes serve different configs.",
		"hash")
	descNetmask = newDesc("netmask_matches_total",
		"Netmask ordering outcomes of A answers: local when a record was in the client's network, remote_only when none was.",
		"zone", "name", "result")
	descFailOpen = newDesc("answers_failopen_total",
		"Answers that gave every record of a checked set because every one was down (fail-open), by zone, name and scope.",
		"zone", "name", "scope")
	descSiteQueries = newDesc("site_queries_total",
		"Queries by client site (unknown when no site subnet matched).",
		"site")
	descBuildInfo = newDesc("build_info",
		"A metric with a constant value of 1, labelled by the version, revision and Go version sitedns was built from.",
		"version", "revision", "goversion")

	reloadResults = [2]string{"success", "failure"}
)

// Describe sends every descriptor the collector uses.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descQueries, descResponses, descDuration, descDropped,
		descReloads, descLastReloadOK, descLastReloadTime,
		descZoneRecords, descAnswersFirst, descNetmask, descSiteQueries,
		descFailOpen, descBuildInfo, descFirstShare, descZoneSerial, descConfigInfo,
	} {
		ch <- d
	}
}

// Collect sends the current value of every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- c.buildInfo
	if c.stats != nil {
		c.collectStats(ch)
	}
	if c.snapshot != nil {
		if snap := c.snapshot(); snap != nil {
			collectSnapshot(ch, snap)
		}
	}
}

func (c *Collector) collectStats(ch chan<- prometheus.Metric) {
	all := c.stats.all()

	for t := range transports {
		for q := range numQtypes {
			var n uint64
			for _, s := range all {
				n += s.queries[t][q].Load()
			}
			ch <- prometheus.MustNewConstMetric(descQueries, prometheus.CounterValue, float64(n), transportNames[t], qtypeNames[q])
		}
	}
	for r := range numRcodes {
		var n uint64
		for _, s := range all {
			n += s.responses[r].Load()
		}
		ch <- prometheus.MustNewConstMetric(descResponses, prometheus.CounterValue, float64(n), rcodeNames[r])
	}
	for r := range dropReasons {
		var n uint64
		for _, s := range all {
			n += s.drops[r].Load()
		}
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(n), dropNames[r])
	}
	for t := range transports {
		var counts [numBuckets + 1]uint64
		var sumNs uint64
		for _, s := range all {
			h := &s.duration[t]
			for i := range counts {
				counts[i] += h.buckets[i].Load()
			}
			sumNs += h.sumNs.Load()
		}
		cum := make(map[float64]uint64, numBuckets)
		var n uint64
		for i, b := range durationBounds {
			n += counts[i]
			cum[b] = n
		}
		n += counts[numBuckets]
		ch <- prometheus.MustNewConstHistogram(descDuration, n, float64(sumNs)/1e9, cum, transportNames[t])
	}

	root := c.stats
	for i, result := range reloadResults {
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(root.reloads[i].Load()), result)
	}
	ok := 0.0
	if root.lastOK.Load() {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descLastReloadOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descLastReloadTime, prometheus.GaugeValue, float64(root.lastSuccessNs.Load())/1e9)
}

// collectSnapshot sends the snapshot's counters and zone sizes. A label set
// that does not fit its metric (a bug in zones) becomes an invalid metric,
// which fails that series, not the scrape.
func collectSnapshot(ch chan<- prometheus.Metric, snap *zones.Snapshot) {
	for _, z := range snap.Zones {
		if z == nil {
			continue
		}
		ch <- constMetric(descZoneRecords, prometheus.GaugeValue, float64(z.Records), z.Origin)
		if z.SOA != nil && !(z.Secondary != nil && z.SOASynthesized) { // a secondary zone without data has no serial
			ch <- constMetric(descZoneSerial, prometheus.GaugeValue, float64(z.SOA.Serial), z.Origin)
		}
	}
	if snap.ConfigHash != "" {
		ch <- constMetric(descConfigInfo, prometheus.GaugeValue, 1, snap.ConfigHash)
	}
	for _, lv := range snap.Counters.FirstShares {
		ch <- constMetric(descFirstShare, prometheus.GaugeValue, lv.V, lv.Labels...)
	}
	tally := snap.Counters.Tally
	labeled := func(d *prometheus.Desc, cs []zones.LabeledCounter) {
		for _, lc := range cs {
			if lc.C != 0 {
				ch <- constMetric(d, prometheus.CounterValue, float64(tally.Load(lc.C)), lc.Labels...)
			}
		}
	}
	labeled(descAnswersFirst, snap.Counters.AnswersFirst)
	labeled(descNetmask, snap.Counters.Netmask)
	labeled(descFailOpen, snap.Counters.FailOpen)
	for i, c := range snap.Counters.Site {
		if c == 0 || i >= len(snap.SiteNames) {
			continue
		}
		ch <- constMetric(descSiteQueries, prometheus.CounterValue, float64(tally.Load(c)), snap.SiteNames[i])
	}
}

// constMetric is prometheus.NewConstMetric, with an invalid metric in place
// of a panic for label values from the configuration.
func constMetric(d *prometheus.Desc, vt prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, vt, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
