package loadtest

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var usCAS = []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}

// rotate returns targets rotated left by k.
func rotate(targets []string, k int) []string {
	k %= len(targets)
	return append(append([]string(nil), targets[k:]...), targets[:k]...)
}

// stream returns n answers for client c: the order function gives answer i.
func stream(c, n int, order func(i int) []string) []Sample {
	var out []Sample
	for i := range n {
		out = append(out, Sample{Client: c, Name: "affinityus.contoso.lab.", Type: "A",
			Outcome: Answered, Targets: order(i), Latency: time.Duration(i%10+1) * time.Millisecond})
	}
	return out
}

func testConfig(clients []Client, expect []Expectation, netmask bool) *Config {
	cfg := &Config{
		Server: "127.0.0.1:5300", Names: []string{"affinityus.contoso.lab"}, Queries: 3000,
		Clients: clients, Bind: true, Expect: expect, NetmaskOrdering: netmask,
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

var (
	remote = Client{Addr: netip.MustParseAddr("127.9.0.5"), Site: "US-Other", Scope: "US"}
	local  = Client{Addr: netip.MustParseAddr("127.2.1.5"), Site: "US-Chicago", Scope: "US"}
)

func TestReportMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	usExpect := []Expectation{{Name: "affinityus.contoso.lab", Scope: "US", Targets: usCAS}}
	cases := []struct {
		name    string
		clients []Client
		expect  []Expectation
		netmask bool
		samples []Sample

		reject     bool
		ratio      float64 // NaN: don't check
		hit        float64 // NaN: don't check
		violations int
		unexpected int // targets marked unexpected
	}{
		{
			name: "rotation is fair", clients: []Client{remote}, netmask: true,
			samples: stream(0, 3000, func(i int) []string { return rotate(usCAS, i) }),
			ratio:   1, hit: 0, violations: -1,
		},
		{
			name: "random uniform is fair", clients: []Client{remote}, netmask: true,
			samples: stream(0, 3000, func(int) []string { return rotate(usCAS, rng.IntN(3)) }),
			ratio:   math.NaN(), hit: 0, violations: -1,
		},
		{
			name: "fixed order is unfair", clients: []Client{remote}, netmask: true,
			samples: stream(0, 3000, func(int) []string { return usCAS }),
			reject:  true, ratio: math.Inf(1), hit: 0, violations: -1,
		},
		{
			name: "a skew of 40/30/30 is unfair", clients: []Client{remote}, netmask: true,
			samples: stream(0, 3000, func(i int) []string {
				if i%10 < 4 {
					return usCAS
				}
				return rotate(usCAS, 1+i%2)
			}),
			reject: true, ratio: 4.0 / 3, hit: 0, violations: -1,
		},
		{
			name: "netmask ordering: local CAS always first is fair", clients: []Client{local}, netmask: true,
			samples: stream(0, 300, func(i int) []string { return []string{"127.2.1.10", usCAS[2*(i%2)]} }),
			ratio:   1, hit: 1, violations: -1,
		},
		{
			name: "no netmask ordering expected: local first is unfair", clients: []Client{local}, netmask: false,
			samples: stream(0, 300, func(int) []string { return []string{"127.2.1.10", "127.1.1.10", "127.3.1.10"} }),
			reject:  true, ratio: math.Inf(1), hit: 1, violations: -1,
		},
		{
			name: "netmask ordering expected but absent is unfair", clients: []Client{local}, netmask: true,
			samples: stream(0, 3000, func(i int) []string { return rotate(usCAS, i) }),
			reject:  true, ratio: math.Inf(1), hit: 1.0 / 3, violations: -1,
		},
		{
			name: "expected targets: clean", clients: []Client{remote}, expect: usExpect, netmask: true,
			samples: stream(0, 3000, func(i int) []string { return rotate(usCAS, i) }),
			ratio:   1, hit: 0, violations: 0,
		},
		{
			name: "affinity violation: a DE CAS first", clients: []Client{remote}, expect: usExpect, netmask: true,
			samples: stream(0, 3000, func(i int) []string {
				if i%100 == 0 {
					return []string{"127.11.1.10"}
				}
				return rotate(usCAS, i)
			}),
			reject: true, ratio: math.NaN(), hit: 0, violations: 30, unexpected: 1,
		},
		{
			name: "affinity violation: a DE CAS last", clients: []Client{remote}, expect: usExpect, netmask: true,
			samples: stream(0, 3000, func(i int) []string { return append(rotate(usCAS, i), "127.11.1.10") }),
			ratio:   1, hit: 0, violations: 3000,
		},
		{
			name: "weights 2:1 met", clients: []Client{remote}, netmask: true,
			expect: []Expectation{{Name: "affinityus.contoso.lab", Targets: usCAS[:2], Weights: []float64{2, 1}}},
			samples: stream(0, 3000, func(i int) []string {
				if i%3 < 2 {
					return usCAS[:2]
				}
				return []string{usCAS[1], usCAS[0]}
			}),
			ratio: 1, hit: 0, violations: 0,
		},
		{
			name: "weights 2:1 missed by an even spread", clients: []Client{remote}, netmask: true,
			expect:  []Expectation{{Name: "affinityus.contoso.lab", Targets: usCAS[:2], Weights: []float64{2, 1}}},
			samples: stream(0, 3000, func(i int) []string { return rotate(usCAS[:2], i) }),
			reject:  true, ratio: 2, hit: 0, violations: 0,
		},
		{
			name: "mixed group: local and remote clients", clients: []Client{local, {Addr: netip.MustParseAddr("127.2.9.5"), Site: "US-Chicago", Scope: "US"}}, netmask: true,
			samples: append(
				stream(0, 1500, func(int) []string { return []string{"127.2.1.10", "127.1.1.10", "127.3.1.10"} }),
				stream(1, 1500, func(i int) []string { return rotate(usCAS, i) })...),
			ratio: 1, hit: 0.5, violations: -1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(c.clients, c.expect, c.netmask)
			a := NewAnalysis(cfg)
			for _, s := range c.samples {
				a.Add(s)
			}
			r := a.Report(time.Now(), time.Second)
			if len(r.Groups) != 1 {
				t.Fatalf("%d groups, want 1", len(r.Groups))
			}
			g := r.Groups[0]
			if g.Reject != c.reject {
				t.Errorf("reject = %v (chi2 %v df %d p %v), want %v", g.Reject, g.ChiSquare, g.DF, g.PValue, c.reject)
			}
			if !math.IsNaN(c.ratio) && !approx(float64(g.MaxMinRatio), c.ratio, 1e-9) {
				t.Errorf("max/min = %v, want %v", g.MaxMinRatio, c.ratio)
			}
			if !math.IsNaN(c.hit) && !approx(float64(g.NetmaskHit), c.hit, 1e-9) {
				t.Errorf("netmask hit = %v, want %v", g.NetmaskHit, c.hit)
			}
			if g.AffinityViolations != c.violations {
				t.Errorf("violations = %d, want %d", g.AffinityViolations, c.violations)
			}
			unexpected := 0
			var share, expShare float64
			for _, tg := range g.Targets {
				share += tg.Share
				expShare += tg.ExpectedShare
				if tg.Unexpected {
					unexpected++
				}
			}
			if unexpected != c.unexpected {
				t.Errorf("%d unexpected targets, want %d: %+v", unexpected, c.unexpected, g.Targets)
			}
			if !approx(share, 1, 1e-9) {
				t.Errorf("shares sum to %v", share)
			}
			if !approx(expShare, 1, 1e-9) {
				t.Errorf("expected shares sum to %v", expShare)
			}
			if g.Answers != len(c.samples) || g.Queries != len(c.samples) {
				t.Errorf("answers %d queries %d, want %d", g.Answers, g.Queries, len(c.samples))
			}
		})
	}
}

func TestReportOutcomes(t *testing.T) {
	cfg := testConfig([]Client{remote, local}, nil, true)
	a := NewAnalysis(cfg)
	name := "affinityus.contoso.lab."
	a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Timeout})
	a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Failed})
	a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Answered, Rcode: dns.RcodeNameError})
	a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Answered, TCP: true, Targets: usCAS})
	a.Add(Sample{Client: 1, Name: name, Type: "A", Outcome: Answered, Targets: usCAS})
	r := a.Report(time.Now(), 2*time.Second)
	if r.Queries != 5 || r.Responses != 3 || r.Timeouts != 1 || r.Errors != 1 || r.TCP != 1 || r.QPS != 2.5 {
		t.Errorf("totals: %+v", r)
	}
	if len(r.Groups) != 2 {
		t.Fatalf("%d groups, want 2 (one per site)", len(r.Groups))
	}
	g := r.Groups[1] // US-Other sorts after US-Chicago
	if g.Site != "US-Other" || g.Rcodes["NXDOMAIN"] != 1 || g.Rcodes["NOERROR"] != 1 || g.Answers != 1 || g.Timeouts != 1 || g.Errors != 1 {
		t.Errorf("group: %+v", g)
	}
	if !g.LowCount {
		t.Errorf("one answer: LowCount = false")
	}
}

func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal([]Float{1.5, Float(math.Inf(1)), Float(math.NaN()), Float(math.Inf(-1))})
	if err != nil || string(b) != `[1.5,"+Inf",null,"-Inf"]` {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestWriteTextAndJSON(t *testing.T) {
	cfg := testConfig([]Client{remote, local}, nil, true)
	a := NewAnalysis(cfg)
	for _, s := range stream(0, 300, func(int) []string { return usCAS }) {
		a.Add(s)
	}
	r := a.Report(time.Now(), time.Second)
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"US-Other", "affinityus.contoso.lab.", "unfair", "inf", "127.1.1.10"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, js.String())
	}
	g := back["groups"].([]any)[0].(map[string]any)
	if g["max_min_ratio"] != "+Inf" || g["reject"] != true {
		t.Errorf("group JSON: %v", g)
	}
}
