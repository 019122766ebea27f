package zones

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const healthConfig = `
[[site]]
name = "US-Chicago"
subnets = ["10.2.0.0/16"]
scope = "US"

[[check]]
name = "cas-https"
type = "https"
port = 443
path = "/autodiscover/healthcheck.htm"
interval = "200ms"
timeout = "100ms"

[[check]]
name = "pool-tcp"
type = "tcp"
port = 5061

[[zone]]
origin = "contoso.lab"
check = "cas-https"
records = [
  "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300",
  "@ 3600 IN NS ns1",
  "ns1 300 IN A 10.1.0.53",
  "affinityus 300 IN A 10.1.1.10",
  "affinityus 300 IN A 10.2.1.10",
  "affinityus 300 IN A 10.3.1.10",
  "single 300 IN A 10.1.1.10",
  "_sip._tls 300 IN TXT \"unchecked\"",
]

[[zone.name]]
name = "autodiscover"
check = "cas-https"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.10", "300 IN A 10.2.1.10", "300 IN A 10.3.1.10"]
weights = [2, 1, 1]
[zone.name.default]
records = ["300 IN A 203.0.113.10"]

[[zone.name]]
name = "_sipinternaltls._tcp"
check = "pool-tcp"
records = ["300 IN SRV 0 0 5061 pool01.pool.lab.", "300 IN SRV 0 0 5061 pool02.pool.lab."]

[[zone]]
origin = "pool.lab"
records = [
  "pool01 300 IN A 10.1.1.20",
  "pool02 300 IN A 10.2.1.20",
  "pool02 300 IN A 10.2.1.21",
]
`

// healthState is the up function of ApplyHealth for a set of down
// (check, address) pairs.
func healthState(snap *Snapshot, down ...string) func(int) bool {
	return func(i int) bool {
		t := snap.HealthTargets()[i]
		return !slices.Contains(down, t.Spec.Name+"/"+t.Addr.String())
	}
}

func answerAddrs(a *Answer) []string {
	var out []string
	for _, rr := range a.RRs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.SRV:
			out = append(out, strings.TrimSuffix(v.Target, ".pool.lab."))
		}
	}
	return out
}

// TestHealthTargets: every checked address is one target per check,
// however many sets hold it; the zone's check covers sets of more than one
// address, a name's check every address and SRV set of the name, and an
// SRV check the addresses of its targets.
func TestHealthTargets(t *testing.T) {
	snap := mustParse(t, healthConfig)
	var got []string
	for _, tg := range snap.HealthTargets() {
		got = append(got, tg.Spec.Name+"/"+tg.Addr.String())
	}
	slices.Sort(got)
	want := []string{
		"cas-https/10.1.1.10", "cas-https/10.2.1.10", "cas-https/10.3.1.10", "cas-https/203.0.113.10",
		"pool-tcp/10.1.1.20", "pool-tcp/10.2.1.20", "pool-tcp/10.2.1.21",
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets:\n got %v\nwant %v", got, want)
	}
	checked := func(name string, scope int) bool {
		return snap.Lookup(name, dns.TypeA).Set.For(scope).Checked()
	}
	for _, c := range []struct {
		name  string
		scope int
		want  bool
	}{
		{"affinityus.contoso.lab.", -1, true},  // the zone's check: three addresses
		{"single.contoso.lab.", -1, false},     // one address: the zone's check leaves it
		{"ns1.contoso.lab.", -1, false},        // one address
		{"autodiscover.contoso.lab.", 0, true}, // the name's check
		{"autodiscover.contoso.lab.", -1, true},
		{"pool01.pool.lab.", -1, true}, // an SRV target: the SRV's check
		{"pool02.pool.lab.", -1, true},
	} {
		if got := checked(c.name, c.scope); got != c.want {
			t.Errorf("%s scope %d: checked %v, want %v", c.name, c.scope, got, c.want)
		}
	}
	var labels []string
	for _, lc := range snap.Counters.FailOpen {
		labels = append(labels, strings.Join(lc.Labels, " "))
	}
	slices.Sort(labels)
	wantLabels := []string{
		"contoso.lab. _sipinternaltls._tcp.contoso.lab. default",
		"contoso.lab. affinityus.contoso.lab. default",
		"contoso.lab. autodiscover.contoso.lab. US",
		"contoso.lab. autodiscover.contoso.lab. default",
		"pool.lab. pool01.pool.lab. default", // an SRV target in another zone: its own zone
		"pool.lab. pool02.pool.lab. default",
	}
	if !slices.Equal(labels, wantLabels) {
		t.Errorf("fail-open counters:\n got %q\nwant %q", labels, wantLabels)
	}
}

// TestApplyHealth: down records leave the set; what remains is ordered
// among itself, weights included; every record down answers all of them
// and counts; recovery restores the set itself; an SRV record whose target
// is wholly down leaves, with the additional addresses of the rest.
func TestApplyHealth(t *testing.T) {
	snap := mustParse(t, healthConfig)
	aff := snap.Lookup("affinityus.contoso.lab.", dns.TypeA).Set
	auto := snap.Lookup("autodiscover.contoso.lab.", dns.TypeA).Set
	srv := snap.Lookup("_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV).Set
	pool2 := snap.Lookup("pool02.pool.lab.", dns.TypeA).Set
	orig := aff.For(-1)

	snap.ApplyHealth(healthState(snap, "cas-https/10.2.1.10", "pool-tcp/10.2.1.20"))
	a := aff.For(-1)
	if got := answerAddrs(a); !slices.Equal(got, []string{"10.1.1.10", "10.3.1.10"}) {
		t.Fatalf("affinityus with 10.2.1.10 down: %v", got)
	}
	if a.FailOpen() != 0 || a.Wire == nil || len(a.Wire.RRs) != 2 {
		t.Errorf("subset: fail-open %v, wire %v", a.FailOpen(), a.Wire)
	}
	for site := range snap.SiteNames {
		if c := a.FirstCounter(site, 1); c == 0 || c != orig.FirstCounter(site, 2) {
			t.Errorf("site %d: the subset's second record counts in %d, the set's third in %d", site, c, orig.FirstCounter(site, 2))
		}
	}
	// Each remaining record is first equally often, from a client in the
	// dead record's /24 too.
	firsts := map[int]int{}
	ord := make([]int, 2)
	for range 1000 {
		a.Order.Order(ord, netip.MustParseAddr("10.2.1.77"))
		firsts[ord[0]]++
	}
	if firsts[0] != 500 || firsts[1] != 500 {
		t.Errorf("first answers over 1000: %v", firsts)
	}
	us := auto.For(0)
	if got := answerAddrs(us); !slices.Equal(got, []string{"10.1.1.10", "10.3.1.10"}) {
		t.Errorf("autodiscover US: %v", got)
	}
	// Weights 2 and 1 remain: 10.1.1.10 first twice as often.
	firsts = map[int]int{}
	for range 300 {
		us.Order.Order(ord, netip.MustParseAddr("10.9.9.9"))
		firsts[ord[0]]++
	}
	if firsts[0] != 200 || firsts[1] != 100 {
		t.Errorf("weighted first answers over 300: %v", firsts)
	}
	if got := answerAddrs(pool2.For(-1)); !slices.Equal(got, []string{"10.2.1.21"}) {
		t.Errorf("pool02: %v", got)
	}
	if got := answerAddrs(srv.For(-1)); !slices.Equal(got, []string{"pool01", "pool02"}) {
		t.Errorf("SRV with pool02 half up: %v", got)
	}

	// pool02 wholly down: its SRV record leaves; pool01's additional
	// addresses stay linked.
	snap.ApplyHealth(healthState(snap, "pool-tcp/10.2.1.20", "pool-tcp/10.2.1.21"))
	s := srv.For(-1)
	if got := answerAddrs(s); !slices.Equal(got, []string{"pool01"}) {
		t.Errorf("SRV with pool02 down: %v", got)
	}
	if s.Wire == nil || s.Wire.Targets == nil || len(s.Wire.Targets.Additional) != 1 || s.Wire.Targets.Additional[0].A == nil {
		t.Errorf("SRV subset's additional sets not linked: %+v", s.Wire)
	}
	if aff.For(-1) != orig {
		t.Errorf("affinityus with all up is not the set itself")
	}

	// Everything down: fail-open, every record, counted.
	snap.ApplyHealth(func(int) bool { return false })
	fo := aff.For(-1)
	if fo == orig || fo.FailOpen() == 0 || len(fo.RRs) != 3 || fo.Order != orig.Order {
		t.Fatalf("fail-open: %v, %d records", fo.FailOpen(), len(fo.RRs))
	}
	if got := answerAddrs(srv.For(-1)); len(got) != 2 {
		t.Errorf("SRV fail-open: %v", got)
	}
	// Back up: the set itself again; down again: the same subset as before,
	// rotation carried on.
	snap.ApplyHealth(func(int) bool { return true })
	if aff.For(-1) != orig {
		t.Errorf("recovered set is not the set itself")
	}
	snap.ApplyHealth(healthState(snap, "cas-https/10.2.1.10"))
	if aff.For(-1) != a {
		t.Errorf("the same records down gave another view")
	}
}

// TestHealthForAllocs: For on a checked set, down records or not, never
// allocates.
func TestHealthForAllocs(t *testing.T) {
	snap := mustParse(t, healthConfig)
	set := snap.Lookup("affinityus.contoso.lab.", dns.TypeA).Set
	snap.ApplyHealth(healthState(snap, "cas-https/10.2.1.10"))
	ord := make([]int, 3)
	client := netip.MustParseAddr("10.2.1.77")
	if n := testing.AllocsPerRun(1000, func() {
		a := set.For(-1)
		a.Order.Order(ord, client)
		snap.Counters.Tally.Row(1).Add(a.FailOpen())
	}); n != 0 {
		t.Errorf("%v allocs per For and Order", n)
	}
}

// TestCheckedSetTooLarge: a checked set of more than 64 records is an
// error at its first record.
func TestCheckedSetTooLarge(t *testing.T) {
	var recs []string
	for i := range 65 {
		recs = append(recs, `"big 300 IN A 10.0.0.`+strconv.Itoa(i+1)+`"`)
	}
	cfg := "[[check]]\nname = \"c\"\ntype = \"tcp\"\nport = 80\n[[zone]]\norigin = \"contoso.lab\"\ncheck = \"c\"\nrecords = [\n" + strings.Join(recs, ",\n") + "]\n"
	_, err := Parse("big.toml", "", []byte(cfg), nil)
	if err == nil || !strings.Contains(err.Error(), "big.toml:9: check: \"big.contoso.lab.\": a checked set holds at most 64 records, this one 65") {
		t.Errorf("error: %v", err)
	}
}

// TestCheckSignedZone: in a signed zone, a checked set without its dead
// records carries signatures of its own, made with the zone's keys for the
// zone's signing period, that verify over the records it holds; the
// fail-open form keeps the whole set's.
func TestCheckSignedZone(t *testing.T) {
	text, err := os.ReadFile(signedDir + "/contoso-signed.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), `origin = "contoso.lab"`, `origin = "contoso.lab"`+"\ncheck = \"cas\"", 1)
	s += "\n[[check]]\nname = \"cas\"\ntype = \"tcp\"\nport = 443\n"
	snap, err := Parse("contoso-signed.toml", signedDir, []byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	z := snap.zoneFor("contoso.lab.")
	set := snap.Lookup("affinityus.contoso.lab.", dns.TypeA).Set
	orig := set.For(-1)
	if !orig.Checked() || orig.Sig == nil {
		t.Fatalf("affinityus: checked %v, signatures %v", orig.Checked(), orig.Sig)
	}
	snap.ApplyHealth(healthState(snap, "cas/10.2.1.10"))
	sub := set.For(-1)
	if got := answerAddrs(sub); !slices.Equal(got, []string{"10.1.1.10"}) {
		t.Fatalf("affinityus with 10.2.1.10 down: %v", got)
	}
	verify(t, z.DNSSEC.Keys, sub.Sig, sub.RRs)
	for _, rr := range sub.Sig.RRs {
		sig := rr.(*dns.RRSIG)
		if int64(sig.Inception) != z.DNSSEC.Inception.Unix() || int64(sig.Expiration) != z.DNSSEC.Expiration.Unix() {
			t.Errorf("%s: want the zone's period %s to %s", sig, z.DNSSEC.Inception, z.DNSSEC.Expiration)
		}
	}
	if sub.Sig.Wire == nil || len(sub.Sig.Wire.RRs) != len(sub.Sig.RRs) {
		t.Errorf("the subset's signatures are not precompiled for the fast path")
	}

	snap.ApplyHealth(func(int) bool { return false })
	fo := set.For(-1)
	if fo.FailOpen() == 0 || len(fo.RRs) != 2 || fo.Sig != orig.Sig {
		t.Errorf("fail-open form: %d records, signatures %p, want the set's %p", len(fo.RRs), fo.Sig, orig.Sig)
	}
}

// TestHealthVariantsBounded: however many combinations of live records a
// set goes through, it keeps at most maxVariants views.
func TestHealthVariantsBounded(t *testing.T) {
	var recs []string
	for i := range 12 {
		recs = append(recs, `"big 300 IN A 10.0.0.`+strconv.Itoa(i+1)+`"`)
	}
	cfg := "[[check]]\nname = \"c\"\ntype = \"tcp\"\nport = 80\n[[zone]]\norigin = \"contoso.lab\"\ncheck = \"c\"\nrecords = [\n" + strings.Join(recs, ",\n") + "]\n"
	snap := mustParse(t, cfg)
	set := snap.Lookup("big.contoso.lab.", dns.TypeA).Set
	for m := range 1 << 12 {
		snap.ApplyHealth(func(i int) bool { return m&(1<<i) != 0 })
		if a := set.For(-1); m != 0 && len(a.RRs) != popcount(m) {
			t.Fatalf("mask %b: %d records", m, len(a.RRs))
		}
	}
	h := set.Default.health
	if n := len(h.variants); n > maxVariants || n == 0 {
		t.Errorf("%d views kept, want 1 to %d", n, maxVariants)
	}
}

func popcount(m int) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}
