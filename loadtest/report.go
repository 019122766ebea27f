package loadtest

import (
	"cmp"
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Outcome is what became of one query.
type Outcome uint8

const (
	// Answered: a response came (any rcode).
	Answered Outcome = iota
	// Timeout: no response within Config.Timeout.
	Timeout
	// Failed: a network or protocol error (refused socket, bad packet, an
	// ID mismatch).
	Failed
)

// Sample is one query and what came of it.
type Sample struct {
	// Client indexes Config.Clients.
	Client int
	// Name and Type are the question, as in the Config.
	Name string
	Type string
	// Outcome says whether a response came.
	Outcome Outcome
	// Rcode is the response code of an answered query.
	Rcode int
	// TCP reports an answer taken over TCP after a truncated UDP one.
	TCP bool
	// Targets are the answer records of Type, in the order received, as
	// targetOf gives them.
	Targets []string
	// Latency runs from the first send to the final answer.
	Latency time.Duration
}

// Float is a float64 whose JSON form keeps what JSON numbers cannot: NaN is
// null, the infinities are the strings "+Inf" and "-Inf" (as Prometheus
// writes them).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte("null"), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// String formats f with prec decimals, "inf" for +Inf and "-" for NaN.
func (f Float) format(prec int) string {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// MarshalJSON writes the quantiles as milliseconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return json.Marshal(struct {
		P50  float64 `json:"p50_ms"`
		P99  float64 `json:"p99_ms"`
		P999 float64 `json:"p999_ms"`
		Max  float64 `json:"max_ms"`
	}{ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max)})
}

// Report is the result of a run: totals and one Group per (site, name, type).
type Report struct {
	// Server names the server, or the servers separated by commas when the
	// queries went to several in turn (Servers).
	Server  string    `json:"server"`
	Servers []string  `json:"servers"`
	Started time.Time `json:"started"`
	Elapsed float64   `json:"elapsed_seconds"`
	Clients int       `json:"clients"`
	Bind    bool      `json:"bind_source"`
	ECS     bool      `json:"ecs"`
	Alpha   float64   `json:"alpha"`
	// GroupAlpha is the level each group is tested at: Alpha over the
	// number of groups (Bonferroni), so that a run of a fair server reports
	// any group unfair with probability at most Alpha.
	GroupAlpha float64 `json:"group_alpha"`
	Queries    int     `json:"queries"`
	Responses  int     `json:"responses"`
	Timeouts   int     `json:"timeouts"`
	Errors     int     `json:"errors"`
	TCP        int     `json:"tcp_retries"`
	QPS        float64 `json:"qps"`
	Latency    Latency `json:"latency"`
	Groups     []Group `json:"groups"`
	// Command is the command line of the run, as the caller set it ("" when
	// not known).
	Command string `json:"command,omitempty"`
	// The ordering the run expected: netmask ordering (local records first)
	// on the given IPv4 and IPv6 prefix lengths, and whether the expected
	// answer sets came from a config.
	NetmaskOrdering bool `json:"netmask_ordering"`
	LocalBits       int  `json:"local_bits"`
	LocalBits6      int  `json:"local_bits6"`
	ExpectedSets    bool `json:"expected_sets_from_config"`
	// Down lists the targets the run was told are down (Config.Down).
	Down []string `json:"down,omitempty"`
}

// Group is the report for the queries of one site's clients for one name and
// type.
type Group struct {
	Site    string   `json:"site"`
	Scope   string   `json:"scope"`
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Clients []string `json:"clients"`

	Queries   int            `json:"queries"`
	Responses int            `json:"responses"`
	Answers   int            `json:"answers"` // responses with at least one record of Type
	Rcodes    map[string]int `json:"rcodes"`
	Timeouts  int            `json:"timeouts"`
	Errors    int            `json:"errors"`
	TCP       int            `json:"tcp_retries"`
	QPS       float64        `json:"qps"`
	Latency   Latency        `json:"latency"`

	// Targets are the first-answer counts, expected targets first in their
	// configured (or first-seen) order, then unexpected ones.
	Targets []Target `json:"targets"`
	// Over is the share of first answers of each target (in Targets'
	// order) in each tenth of the group's answers, in the order they came:
	// how the spread moved across the run.
	Over [][]float64 `json:"share_over_run,omitempty"`
	// Expected says whether an Expectation defined the expected targets
	// (otherwise the targets seen, equally weighted).
	Expected    bool  `json:"expected_from_config"`
	MaxMinRatio Float `json:"max_min_ratio"`
	ChiSquare   Float `json:"chi_square"`
	DF          int   `json:"df"`
	PValue      Float `json:"p_value"`
	// Reject: the p-value is below the report's GroupAlpha: the answers
	// are not spread as expected.
	Reject bool `json:"reject"`
	// LowCount: some expected count is below 5, where the chi-square
	// approximation is poor; treat the p-value with care.
	LowCount bool `json:"low_count"`

	// NetmaskHits counts answers whose first record is in the client's own
	// network; LocalAnswers those holding any record there. NetmaskHit is
	// NetmaskHits/Answers.
	NetmaskHits  int   `json:"netmask_hits"`
	LocalAnswers int   `json:"local_answers"`
	NetmaskHit   Float `json:"netmask_hit_fraction"`
	// AffinityViolations counts answers holding a record outside the
	// expected targets; -1 when there is no expectation to check against.
	AffinityViolations int `json:"affinity_violations"`
	// DownAnswers counts answers holding a target of Report.Down, -1
	// when the run was told of none.
	DownAnswers int `json:"down_answers"`
}

// Target is one target's share of first answers.
type Target struct {
	Target        string  `json:"target"`
	First         int     `json:"first"`
	Share         float64 `json:"share"`
	ExpectedShare float64 `json:"expected_share"`
	// Unexpected: the target is not in the expectation.
	Unexpected bool `json:"unexpected,omitempty"`
}

// Verdict is a one-word reading of the group: "fair", "unfair", "n/a";
// "fair?" when the counts are too low for the test to say much (LowCount).
func (g *Group) Verdict() string {
	switch {
	case g.Answers == 0 || math.IsNaN(float64(g.PValue)):
		return "n/a"
	case g.Reject:
		return "unfair"
	case g.LowCount:
		return "fair?"
	}
	return "fair"
}

// groupKey identifies a group.
type groupKey struct{ site, name, qtype string }

// groupAcc accumulates the samples of one group.
type groupAcc struct {
	key                         groupKey
	scope                       string
	queries, responses, answers int
	timeouts, errors, tcp       int
	hits, local, violations     int
	down                        int // answers holding a target of Config.Down
	rcodes                      map[int]int
	first                       map[string]int
	seen                        []string    // every target seen, first-seen order
	firsts                      []uint16    // the index in seen of each answer's first target, in order
	perClient                   map[int]int // answers per client
	latencies                   []time.Duration
	clients                     map[int]bool
	expect                      *Expectation
	expectSet                   map[string]bool
}

// Analysis turns samples into a Report. It is not safe for concurrent use;
// the runner feeds it under a lock.
type Analysis struct {
	cfg       *Config
	groups    []*groupAcc
	index     map[groupKey]*groupAcc
	latencies []time.Duration
	total     struct{ queries, responses, timeouts, errors, tcp int }
}

// NewAnalysis returns an empty analysis for cfg, which must have passed
// Validate.
func NewAnalysis(cfg *Config) *Analysis {
	return &Analysis{cfg: cfg, index: map[groupKey]*groupAcc{}}
}

// Add records one sample.
func (a *Analysis) Add(s Sample) {
	cl := a.cfg.Clients[s.Client]
	k := groupKey{cl.Site, s.Name, s.Type}
	g := a.index[k]
	if g == nil {
		g = &groupAcc{key: k, scope: cl.Scope, rcodes: map[int]int{}, first: map[string]int{}, perClient: map[int]int{}, clients: map[int]bool{}}
		if e := a.cfg.expectation(s.Name, s.Type, cl.Scope); e != nil {
			g.expect = e
			g.expectSet = map[string]bool{}
			for _, t := range e.Targets {
				g.expectSet[t] = true
			}
		}
		a.index[k] = g
		a.groups = append(a.groups, g)
	}
	g.queries++
	g.clients[s.Client] = true
	a.total.queries++
	if s.TCP {
		g.tcp++
		a.total.tcp++
	}
	switch s.Outcome {
	case Timeout:
		g.timeouts++
		a.total.timeouts++
		return
	case Failed:
		g.errors++
		a.total.errors++
		return
	}
	g.responses++
	a.total.responses++
	g.rcodes[s.Rcode]++
	g.latencies = append(g.latencies, s.Latency)
	a.latencies = append(a.latencies, s.Latency)
	if s.Rcode != dns.RcodeSuccess || len(s.Targets) == 0 {
		return
	}
	g.answers++
	g.perClient[s.Client]++
	g.first[s.Targets[0]]++
	if !slices.Contains(g.seen, s.Targets[0]) {
		g.seen = append(g.seen, s.Targets[0])
	}
	g.firsts = append(g.firsts, uint16(min(slices.Index(g.seen, s.Targets[0]), 1<<16-1)))
	local := a.cfg.localNet(cl.Addr)
	violation := false
	isLocal := false
	for i, t := range s.Targets {
		if !slices.Contains(g.seen, t) {
			g.seen = append(g.seen, t)
		}
		if g.expectSet != nil && !g.expectSet[t] {
			violation = true
		}
		if ad, err := netip.ParseAddr(t); err == nil && local.Contains(ad) {
			isLocal = true
			if i == 0 {
				g.hits++
			}
		}
	}
	if isLocal {
		g.local++
	}
	if violation {
		g.violations++
	}
	if len(a.cfg.Down) > 0 && holdsDown(s.Targets, a.cfg.Down) {
		g.down++
	}
}

// Report returns the report of the samples so far, for a run that started at
// started and took elapsed.
func (a *Analysis) Report(started time.Time, elapsed time.Duration) *Report {
	cfg := a.cfg
	secs := elapsed.Seconds()
	rate := func(n int) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	r := &Report{
		Server: cfg.Server, Servers: slices.Clone(cfg.Servers), Started: started, Elapsed: secs, Clients: len(cfg.Clients),
		Bind: cfg.Bind, ECS: cfg.ECS, Alpha: cfg.Alpha,
		Queries: a.total.queries, Responses: a.total.responses, Timeouts: a.total.timeouts,
		Errors: a.total.errors, TCP: a.total.tcp, QPS: rate(a.total.queries),
		Latency: latencyOf(slices.Clone(a.latencies)),
		Down:    slices.Clone(cfg.Down),

		NetmaskOrdering: cfg.NetmaskOrdering, LocalBits: cfg.LocalBits, LocalBits6: cfg.LocalBits6,
		ExpectedSets: len(cfg.Expect) > 0,
	}
	if len(r.Servers) > 1 {
		r.Server = strings.Join(r.Servers, ",")
	}
	r.GroupAlpha = cfg.Alpha / float64(max(len(a.groups), 1))
	for _, g := range a.groups {
		out := a.group(g, rate)
		out.Reject = !math.IsNaN(float64(out.PValue)) && float64(out.PValue) < r.GroupAlpha
		r.Groups = append(r.Groups, out)
	}
	slices.SortStableFunc(r.Groups, func(x, y Group) int {
		return cmp.Or(cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.Site, y.Site),
			cmp.Compare(x.Name, y.Name), cmp.Compare(x.Type, y.Type))
	})
	return r
}

func (a *Analysis) group(g *groupAcc, rate func(int) float64) Group {
	cfg := a.cfg
	out := Group{
		Site: g.key.site, Scope: g.scope, Name: g.key.name, Type: g.key.qtype,
		Queries: g.queries, Responses: g.responses, Answers: g.answers,
		Timeouts: g.timeouts, Errors: g.errors, TCP: g.tcp, QPS: rate(g.queries),
		Latency:     latencyOf(slices.Clone(g.latencies)),
		Rcodes:      map[string]int{},
		NetmaskHits: g.hits, LocalAnswers: g.local,
		NetmaskHit:         Float(math.NaN()),
		AffinityViolations: -1,
		DownAnswers:        -1,
		Expected:           g.expect != nil,
	}
	if len(cfg.Down) > 0 {
		out.DownAnswers = g.down
	}
	for c := range g.clients {
		out.Clients = append(out.Clients, cfg.Clients[c].Addr.String())
	}
	slices.Sort(out.Clients)
	for rc, n := range g.rcodes {
		out.Rcodes[dns.RcodeToString[rc]] = n
	}
	if g.answers > 0 {
		out.NetmaskHit = Float(float64(g.hits) / float64(g.answers))
	}
	if g.expect != nil {
		out.AffinityViolations = g.violations
	}
	// The categories: the expected targets (or those seen), then any
	// unexpected first answers, with their weights.
	var targets []string
	var weights []float64
	if g.expect != nil {
		targets = slices.Clone(g.expect.Targets)
		for i := range targets {
			w := 1.0
			if g.expect.Weights != nil {
				w = g.expect.Weights[i]
			}
			weights = append(weights, w)
		}
	} else {
		targets = slices.Clone(g.seen)
		for range targets {
			weights = append(weights, 1)
		}
	}
	nExpected := len(targets)
	for _, t := range g.seen {
		if g.first[t] > 0 && !slices.Contains(targets, t) {
			targets = append(targets, t)
			weights = append(weights, 0)
		}
	}
	// Expected counts: each client's answers spread by the weights, over the
	// targets in its own network when netmask ordering applies and there are
	// some.
	expected := make([]float64, len(targets))
	for c, n := range g.perClient {
		local := cfg.localNet(cfg.Clients[c].Addr)
		dist := make([]float64, len(targets))
		var sum float64
		if cfg.NetmaskOrdering {
			for i, t := range targets {
				if ad, err := netip.ParseAddr(t); err == nil && local.Contains(ad) && weights[i] > 0 {
					dist[i] = weights[i]
					sum += weights[i]
				}
			}
		}
		if sum == 0 {
			copy(dist, weights)
			for _, w := range weights {
				sum += w
			}
		}
		if sum == 0 {
			continue
		}
		for i := range dist {
			expected[i] += float64(n) * dist[i] / sum
		}
	}
	observed := make([]float64, len(targets))
	for i, t := range targets {
		observed[i] = float64(g.first[t])
		tg := Target{Target: t, First: g.first[t], Unexpected: i >= nExpected}
		if g.answers > 0 {
			tg.Share = observed[i] / float64(g.answers)
			tg.ExpectedShare = expected[i] / float64(g.answers)
		}
		out.Targets = append(out.Targets, tg)
		if expected[i] > 0 && expected[i] < 5 {
			out.LowCount = true
		}
	}
	if g.answers == 0 {
		out.MaxMinRatio, out.ChiSquare, out.PValue = Float(math.NaN()), Float(math.NaN()), Float(math.NaN())
		return out
	}
	out.Over = overRun(g, targets)
	out.MaxMinRatio = Float(MaxMinRatio(observed, expected))
	stat, df := ChiSquare(observed, expected)
	p := ChiSquarePValue(stat, df)
	out.ChiSquare, out.DF, out.PValue = Float(stat), df, Float(p)
	return out
}

// overRuns is how many parts of a group's answers Group.Over splits them in.
const overRuns = 10

// overRun returns Group.Over: the share of each of targets among the first
// answers of each tenth of g's answers; nil with fewer than overRuns answers.
func overRun(g *groupAcc, targets []string) [][]float64 {
	n := len(g.firsts)
	if n < overRuns {
		return nil
	}
	col := make([]int, len(g.seen)) // seen index → targets index
	for i, t := range g.seen {
		col[i] = slices.Index(targets, t)
	}
	out := make([][]float64, overRuns)
	for p := range out {
		lo, hi := p*n/overRuns, (p+1)*n/overRuns
		row := make([]float64, len(targets))
		for _, f := range g.firsts[lo:hi] {
			if c := col[f]; c >= 0 {
				row[c]++
			}
		}
		for i := range row {
			row[i] /= float64(hi - lo)
		}
		out[p] = row
	}
	return out
}
