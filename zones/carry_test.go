package zones

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestCarryRotation: a rotating answer set whose records did not change
// goes on rotating where the previous snapshot left it; one whose records
// changed starts again at its first record.
func TestCarryRotation(t *testing.T) {
	cfg := `[[zone]]
origin = "contoso.lab"
records = [
  "pool 300 IN A 127.1.1.20", "pool 300 IN A 127.2.1.20", "pool 300 IN A 127.3.1.20",
  "edge 300 IN A 127.1.1.30", "edge 300 IN A 127.2.1.30",
]
`
	parse := func(text string) *Snapshot {
		s, err := Parse("carry.toml", "", []byte(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	client := netip.MustParseAddr("127.200.1.5")
	first := func(s *Snapshot, name string) string {
		a := s.Lookup(name, dns.TypeA).Set.Default
		order := make([]int, len(a.RRs))
		a.Order.Order(order, client)
		return a.RRs[order[0]].(*dns.A).A.String()
	}
	prev := parse(cfg)
	for i := 0; i < 4; i++ { // pool: .1 .2 .3 .1; edge: .1 .2 .1 .2
		first(prev, "pool.contoso.lab.")
		first(prev, "edge.contoso.lab.")
	}
	next := parse(strings.Replace(cfg, `"edge 300 IN A 127.2.1.30"`, `"edge 300 IN A 127.9.1.30"`, 1))
	CarryRotation(prev, next)
	if got := first(next, "pool.contoso.lab."); got != "127.2.1.20" {
		t.Errorf("unchanged pool: next first %s, want 127.2.1.20 (carried on)", got)
	}
	if got := first(next, "edge.contoso.lab."); got != "127.1.1.30" {
		t.Errorf("changed edge: next first %s, want 127.1.1.30 (started again)", got)
	}
	if next.rotating != nil {
		t.Error("CarryRotation kept its list")
	}
}
