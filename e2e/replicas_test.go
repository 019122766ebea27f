package e2e

import (
	"math"
	"testing"

	"github.com/miekg/dns"
)

// TestReplicasStayFair: two sitedns processes serving one config, each
// rotating on its own, queried alternately as a Service spreads queries over
// replicas. The combined first-answer shares of a rotating name stay within
// 1% of uniform over 3,000 queries from a client in no site.
func TestReplicasStayFair(t *testing.T) {
	cfg := testdata("config", "good", "loopback.toml")
	a := start(t, "-config", cfg)
	b := start(t, "-config", cfg)
	const queries = 3000
	first := map[string]int{}
	for i := range queries {
		in := a
		if i%2 == 1 {
			in = b
		}
		r := in.query(t, "udp", "127.9.0.5", newQuery("affinityus.contoso.lab", dns.TypeA))
		first[firstA(t, r)]++
	}
	want := []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}
	if len(first) != len(want) {
		t.Fatalf("first answers %v, want each of %v", first, want)
	}
	for _, target := range want {
		share := float64(first[target]) / queries
		t.Logf("%s first %d times: %.2f%%", target, first[target], 100*share)
		if math.Abs(share-1.0/3) > 0.01 {
			t.Errorf("%s first share %.4f, want 1/3 within 1%%", target, share)
		}
	}
}
