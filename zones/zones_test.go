package zones

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/miekg/dns"
)

func testdata(elem ...string) string {
	return filepath.Join(append([]string{"..", "testdata", "config"}, elem...)...)
}

func mustLoad(t testing.TB, path string, c *Counters) *Snapshot {
	t.Helper()
	snap, err := Load(path, c)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return snap
}

func mustParse(t testing.TB, text string) *Snapshot {
	t.Helper()
	snap, err := Parse("test.toml", t.TempDir(), []byte(text), nil)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return snap
}

// TestGoodConfigs: every config under testdata/config/good loads.
func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob(testdata("good", "*.toml"))
	if len(files) < 2 {
		t.Fatalf("only %d good configs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			snap := mustLoad(t, f, nil)
			if snap.Source != f || snap.Loaded.IsZero() || len(snap.Zones) == 0 {
				t.Errorf("snapshot: source %q, loaded %v, %d zones", snap.Source, snap.Loaded, len(snap.Zones))
			}
		})
	}
}

// TestDemoIsTestdata: the embedded demo and its copy under testdata are the
// same file, so the tests of the copy test what "sitedns serve" serves.
func TestDemoIsTestdata(t *testing.T) {
	b, err := os.ReadFile(testdata("good", "contoso.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, DemoConfig()) {
		t.Error("zones/demo/contoso.toml and testdata/config/good/contoso.toml differ; copy one over the other")
	}
	snap, err := LoadDemo(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.SiteNames; len(got) != 10 || got[0] != "unknown" {
		t.Errorf("demo sites: %v", got)
	}
	if !slices.Equal(snap.ScopeNames, []string{"US", "DE", "CN"}) {
		t.Errorf("demo scopes: %v", snap.ScopeNames)
	}
}

// TestBadConfigs: each testdata/config/invalid-*.toml fails with the
// errors its "# want:" lines name: file, line, field, value and message.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob(testdata("invalid-*.toml"))
	if len(files) < 10 {
		t.Fatalf("only %d bad configs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, l := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("no # want: line")
			}
			snap, err := Load(f, nil)
			if err == nil {
				t.Fatalf("loaded: %d zones", len(snap.Zones))
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			got := err.Error()
			for _, w := range wants {
				if !strings.Contains(got, w) {
					t.Errorf("error lacks %q:\n%s", w, got)
				}
			}
			for _, e := range list {
				if e.File == "" || e.Msg == "" {
					t.Errorf("error without file or message: %#v", e)
				}
			}
		})
	}
}

// TestLookup: RFC 1034 §4.3.2 over the loopback lab.
func TestLookup(t *testing.T) {
	snap := mustLoad(t, testdata("good", "loopback.toml"), nil)
	tests := []struct {
		qname string
		qtype uint16
		kind  Kind
		node  string // the node answered from
		set   uint16 // the set's type, 0 for none
		wild  bool
	}{
		{"affinityus.contoso.lab.", dns.TypeA, KindAnswer, "affinityus.contoso.lab.", dns.TypeA, false},
		{"affinityus.contoso.lab.", dns.TypeAAAA, KindNoData, "affinityus.contoso.lab.", 0, false},
		{"nope.contoso.lab.", dns.TypeA, KindNXDomain, "", 0, false},
		{"deeper.nope.contoso.lab.", dns.TypeA, KindNXDomain, "", 0, false},
		{"_tcp.contoso.lab.", dns.TypeA, KindNoData, "_tcp.contoso.lab.", 0, false},
		{"_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV, KindAnswer, "_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV, false},
		{"www.contoso.lab.", dns.TypeA, KindAnswer, "www.contoso.lab.", dns.TypeCNAME, false},
		{"www.contoso.lab.", dns.TypeCNAME, KindAnswer, "www.contoso.lab.", dns.TypeCNAME, false},
		{"x.wild.contoso.lab.", dns.TypeTXT, KindAnswer, "*.wild.contoso.lab.", dns.TypeTXT, true},
		{"a.b.wild.contoso.lab.", dns.TypeTXT, KindAnswer, "*.wild.contoso.lab.", dns.TypeTXT, true},
		{"x.wild.contoso.lab.", dns.TypeA, KindNoData, "*.wild.contoso.lab.", 0, true},
		{"wild.contoso.lab.", dns.TypeTXT, KindNoData, "wild.contoso.lab.", 0, false},
		{"lab2.contoso.lab.", dns.TypeA, KindReferral, "lab2.contoso.lab.", 0, false},
		{"host.lab2.contoso.lab.", dns.TypeA, KindReferral, "lab2.contoso.lab.", 0, false},
		{"ns.lab2.contoso.lab.", dns.TypeA, KindReferral, "lab2.contoso.lab.", 0, false},
		{"lab2.contoso.lab.", dns.TypeDS, KindNoData, "lab2.contoso.lab.", 0, false},
		{"contoso.lab.", dns.TypeSOA, KindAnswer, "contoso.lab.", dns.TypeSOA, false},
		{"contoso.lab.", dns.TypeANY, KindAnswer, "contoso.lab.", 0, false},
		{"autodiscover.contoso.lab.", dns.TypeA, KindAnswer, "autodiscover.contoso.lab.", dns.TypeA, false},
		{"example.com.", dns.TypeA, KindRefused, "", 0, false},
		{"lab.", dns.TypeA, KindRefused, "", 0, false},
		{"xcontoso.lab.", dns.TypeA, KindRefused, "", 0, false},
		{".", dns.TypeNS, KindRefused, "", 0, false},
	}
	for _, tc := range tests {
		r := snap.Lookup(tc.qname, tc.qtype)
		node := ""
		if r.Node != nil {
			node = r.Node.Name
		}
		var set uint16
		if r.Set != nil {
			set = r.Set.Type
		}
		if r.Kind != tc.kind || node != tc.node || set != tc.set || r.Wildcard != tc.wild {
			t.Errorf("Lookup(%s, %s) = kind %d node %q set %s wild %v; want kind %d node %q set %s wild %v",
				tc.qname, dns.TypeToString[tc.qtype], r.Kind, node, dns.TypeToString[set], r.Wildcard,
				tc.kind, tc.node, dns.TypeToString[tc.set], tc.wild)
		}
		if tc.kind != KindRefused && (r.Zone == nil || r.Zone.Origin != "contoso.lab.") {
			t.Errorf("Lookup(%s): zone %v", tc.qname, r.Zone)
		}
	}
}

// TestLookupNestedZones: the longest origin wins; a wildcard does not match
// across an existing name (RFC 4592 §2.2.1: the closest encloser decides).
func TestLookupNestedZones(t *testing.T) {
	snap := mustParse(t, `
[[zone]]
origin = "lab"
records = ["* 300 IN TXT \"parent wildcard\"", "host.x 300 IN A 10.0.0.1"]
[[zone]]
origin = "contoso.lab"
records = ["www 300 IN A 10.0.0.2"]
`)
	if r := snap.Lookup("www.contoso.lab.", dns.TypeA); r.Kind != KindAnswer || r.Zone.Origin != "contoso.lab." {
		t.Errorf("www.contoso.lab: %+v", r)
	}
	if r := snap.Lookup("other.lab.", dns.TypeTXT); r.Kind != KindAnswer || !r.Wildcard {
		t.Errorf("other.lab: %+v, want the wildcard", r)
	}
	// x.lab exists (an empty non-terminal), so y.x.lab is not covered by *.lab.
	if r := snap.Lookup("y.x.lab.", dns.TypeTXT); r.Kind != KindNXDomain {
		t.Errorf("y.x.lab: kind %d, want NXDOMAIN", r.Kind)
	}
	if r := snap.Lookup("x.lab.", dns.TypeTXT); r.Kind != KindNoData {
		t.Errorf("x.lab: kind %d, want NODATA (empty non-terminal)", r.Kind)
	}
}

// TestLookupAllocs: Lookup is on the packet path and never allocates.
func TestLookupAllocs(t *testing.T) {
	snap := mustLoad(t, testdata("good", "loopback.toml"), nil)
	names := []string{"affinityus.contoso.lab.", "nope.contoso.lab.", "x.wild.contoso.lab.", "host.lab2.contoso.lab.", "example.com."}
	allocs := testing.AllocsPerRun(100, func() {
		for _, n := range names {
			snap.Lookup(n, dns.TypeA)
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup: %v allocs per run, want 0", allocs)
	}
}

// TestSiteAwareSets: a name with scopes answers each scope its own set and
// everyone else the default; the sites map to their scopes.
func TestSiteAwareSets(t *testing.T) {
	snap := mustLoad(t, testdata("good", "loopback.toml"), nil)
	set := snap.Lookup("autodiscover.contoso.lab.", dns.TypeA).Set
	if !set.SiteAware() {
		t.Fatal("autodiscover is not site-aware")
	}
	addrsOf := func(a *Answer) []string {
		var s []string
		for _, rr := range a.RRs {
			s = append(s, rr.(*dns.A).A.String())
		}
		return s
	}
	site, bits := snap.Sites.Lookup(netip.MustParseAddr("127.2.1.77"))
	if snap.SiteNames[site] != "US-Chicago" || bits != 16 {
		t.Fatalf("127.2.1.77: site %q /%d", snap.SiteNames[site], bits)
	}
	us := snap.SiteScope[site]
	if got := addrsOf(set.For(us)); !slices.Equal(got, []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}) {
		t.Errorf("US set: %v", got)
	}
	if got := addrsOf(set.For(-1)); !slices.Equal(got, []string{"127.200.0.10"}) {
		t.Errorf("default set: %v", got)
	}
	site, _ = snap.Sites.Lookup(netip.MustParseAddr("127.9.0.5"))
	if site != 0 || snap.SiteScope[site] != -1 {
		t.Errorf("127.9.0.5: site %d scope %d, want unknown", site, snap.SiteScope[site])
	}
	if a := set.For(us); a.Local == 0 || a.RemoteOnly == 0 || a.Local == a.RemoteOnly {
		t.Errorf("US set counters: local %v remote_only %v", a.Local, a.RemoteOnly)
	}
	// First-answer counters: one per record for each site that gets the
	// set, none for the others.
	for i, name := range snap.SiteNames {
		inUS := snap.SiteScope[i] == us
		for _, tc := range []struct {
			a    *Answer
			gets bool
		}{{set.For(us), inUS}, {set.For(-1), snap.SiteScope[i] < 0}} {
			for r := range tc.a.RRs {
				c := tc.a.FirstCounter(i, r)
				if (c != 0) != tc.gets {
					t.Errorf("%s set, site %s, record %d: counter %v, want one: %v", tc.a.Scope, name, r, c, tc.gets)
				}
			}
			if c := tc.a.FirstCounter(i, len(tc.a.RRs)); c != 0 {
				t.Errorf("a counter past the records")
			}
		}
	}
	if c := set.For(us).FirstCounter(len(snap.SiteNames), 0); c != 0 {
		t.Errorf("a counter past the sites")
	}
}

// TestCountersSurviveReload: two loads sharing a Counters registry hand out
// the same counter for the same labels; a label set that disappears is not
// listed by the new snapshot.
func TestCountersSurviveReload(t *testing.T) {
	c := NewCounters()
	a := mustLoad(t, testdata("good", "loopback.toml"), c)
	b := mustLoad(t, testdata("good", "loopback.toml"), c)
	fa := a.Lookup("affinityus.contoso.lab.", dns.TypeA).Set.Default.First
	fb := b.Lookup("affinityus.contoso.lab.", dns.TypeA).Set.Default.First
	if len(fa) != 3*len(a.SiteNames) || !slices.Equal(fa, fb) {
		t.Errorf("the same target and site got a new counter on reload (%d counters)", len(fa))
	}
	if a.Counters.Site[2] != b.Counters.Site[2] {
		t.Error("the same site got a new counter on reload")
	}
	for _, lc := range a.Counters.AnswersFirst {
		if len(lc.Labels) != 5 || lc.C == 0 {
			t.Fatalf("answers_first %v", lc.Labels)
		}
	}
	want := []string{"contoso.lab.", "affinityus.contoso.lab.", "default", "127.1.1.10", "US-Chicago"}
	if !slices.ContainsFunc(a.Counters.AnswersFirst, func(lc LabeledCounter) bool { return slices.Equal(lc.Labels, want) }) {
		t.Errorf("no answers_first counter %v", want)
	}
	if slices.ContainsFunc(a.Counters.AnswersFirst, func(lc LabeledCounter) bool { return lc.Labels[1] == "contoso.lab." }) {
		t.Error("the SOA got an answers_first counter")
	}
}

// TestSynthesisedSOA: a zone without SOA gets one, built from the apex NS.
func TestSynthesisedSOA(t *testing.T) {
	snap := mustParse(t, `
[[zone]]
origin = "Fabrikam.Lab"
records = ["@ 3600 IN NS dc1.fabrikam.lab.", "dc1 300 IN A 10.0.0.1"]
`)
	z := snap.Zones[0]
	if z.Origin != "fabrikam.lab." {
		t.Errorf("origin %q, want lower case and fully qualified", z.Origin)
	}
	want := "fabrikam.lab.\t3600\tIN\tSOA\tdc1.fabrikam.lab. hostmaster.fabrikam.lab. 1 3600 600 86400 300"
	if z.SOA == nil || z.SOA.String() != want {
		t.Errorf("SOA %v, want %s", z.SOA, want)
	}
	if r := snap.Lookup("fabrikam.lab.", dns.TypeSOA); r.Kind != KindAnswer {
		t.Errorf("SOA query: kind %d", r.Kind)
	}
}

// TestServerIdentity: [server] identity and version reach the snapshot as
// written; unset, they are "" (hidden).
func TestServerIdentity(t *testing.T) {
	const zone = "\n[[zone]]\norigin = \"fabrikam.lab\"\nrecords = [\"dc1 IN A 10.0.0.1\"]\n"
	snap := mustParse(t, "[server]\nidentity = \"dns1.Fabrikam.lab\"\nversion = \"sitedns lab\"\n"+zone)
	if snap.Identity != "dns1.Fabrikam.lab" || snap.Version != "sitedns lab" {
		t.Errorf("identity %q version %q", snap.Identity, snap.Version)
	}
	snap = mustParse(t, zone)
	if snap.Identity != "" || snap.Version != "" {
		t.Errorf("unset: identity %q version %q, want both hidden", snap.Identity, snap.Version)
	}
}

// TestOrderingLevels: the nearest [ordering] wins, key by key.
func TestOrderingLevels(t *testing.T) {
	snap := mustParse(t, `
[ordering]
mode = "windows2003"

[[zone]]
origin = "contoso.lab"
records = [
  "rotating 300 IN A 10.1.1.10", "rotating 300 IN A 10.2.1.10", "rotating 300 IN A 10.3.1.10",
  "zone-order 300 IN TXT \"a\"", "zone-order 300 IN TXT \"b\"",
]
[zone.ordering]
no_round_robin_types = ["TXT"]

[[zone.name]]
name = "fixed"
records = ["300 IN A 10.1.1.10", "300 IN A 10.2.1.10", "300 IN A 10.3.1.10"]
[zone.name.ordering]
mode = "windows2000"
`)
	client := netip.MustParseAddr("10.2.1.77")
	orders := func(name string, qtype uint16) [][]int {
		a := snap.Lookup(name, qtype).Set.Default
		var out [][]int
		for range 3 {
			dst := make([]int, len(a.RRs))
			a.Order.Order(dst, client)
			out = append(out, dst)
		}
		return out
	}
	if o := orders("rotating.contoso.lab.", dns.TypeA); o[0][0] != 1 || slices.Equal(o[0], o[1]) {
		t.Errorf("windows2003: %v, want the local record first and the rest rotating", o)
	}
	if o := orders("fixed.contoso.lab.", dns.TypeA); !slices.Equal(o[0], []int{1, 0, 2}) || !slices.Equal(o[0], o[2]) {
		t.Errorf("windows2000 at name level: %v, want [1 0 2] every time", o)
	}
	if o := orders("zone-order.contoso.lab.", dns.TypeTXT); !slices.Equal(o[0], []int{0, 1}) || !slices.Equal(o[1], []int{0, 1}) {
		t.Errorf("no_round_robin_types TXT at zone level: %v, want zone order", o)
	}
}

// TestZoneFile: a zone file with $ORIGIN, $TTL and $INCLUDE is read
// relative to the config and merged with the inline records.
func TestZoneFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("contoso.zone", "$ORIGIN contoso.lab.\n$TTL 600\n@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 10.0.0.53\n$INCLUDE hosts.zone\n")
	write("hosts.zone", "www IN A 10.0.0.80\n")
	write("sitedns.toml", "[[zone]]\norigin = \"contoso.lab\"\nfile = \"contoso.zone\"\nrecords = [\"mail 300 IN A 10.0.0.25\"]\n")
	snap := mustLoad(t, filepath.Join(dir, "sitedns.toml"), nil)
	z := snap.Zones[0]
	if z.SOA.Serial != 7 || z.Records != 5 {
		t.Errorf("serial %d, %d records; want 7 and 5", z.SOA.Serial, z.Records)
	}
	for _, n := range []string{"www.contoso.lab.", "mail.contoso.lab.", "ns1.contoso.lab."} {
		r := snap.Lookup(n, dns.TypeA)
		if r.Kind != KindAnswer {
			t.Errorf("%s: kind %d", n, r.Kind)
		}
	}
	if ttl := snap.Lookup("www.contoso.lab.", dns.TypeA).Set.Default.RRs[0].Header().Ttl; ttl != 600 {
		t.Errorf("www TTL %d, want $TTL 600", ttl)
	}
}

// TestDuplicatesMerged: the same record twice is one record (RFC 2181 §5).
func TestDuplicatesMerged(t *testing.T) {
	snap := mustParse(t, `
[[zone]]
origin = "contoso.lab"
records = ["www 300 IN A 10.0.0.1", "WWW.contoso.lab. 300 IN A 10.0.0.1", "www 300 IN A 10.0.0.2"]
`)
	if n := len(snap.Lookup("www.contoso.lab.", dns.TypeA).Set.Default.RRs); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
}

// FuzzParse: no config text crashes the loader; a failure is a list of
// errors that each name the file and say what is wrong.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"good/*.toml", "invalid-*.toml"} {
		files, _ := filepath.Glob(testdata(pattern))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := Parse("fuzz.toml", "", b, nil)
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T is not a non-empty Errors: %v", err, err)
			}
			for _, e := range list {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
			return
		}
		for _, z := range snap.Zones {
			if z.SOA == nil || z.Nodes[z.Origin] == nil {
				t.Fatalf("zone %s without SOA or apex", z.Origin)
			}
			for name := range z.Nodes {
				snap.Lookup(name, dns.TypeA)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	snap := mustLoad(b, testdata("good", "loopback.toml"), nil)
	for _, q := range []string{"affinityus.contoso.lab.", "_sipinternaltls._tcp.contoso.lab.", "nope.contoso.lab.", "x.wild.contoso.lab."} {
		b.Run(strings.TrimSuffix(q, ".contoso.lab."), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap.Lookup(q, dns.TypeA)
			}
		})
	}
}

func BenchmarkLoadDemo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadDemo(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadZoneFile measures compiling a zone file of 100,000 names, to
// keep loading linear in the zone's size.
func BenchmarkLoadZoneFile(b *testing.B) {
	dir := b.TempDir()
	var zf strings.Builder
	zf.WriteString("$ORIGIN contoso.lab.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 10.0.0.53\n")
	const names = 100000
	for i := range names {
		fmt.Fprintf(&zf, "host%d IN A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.zone"), []byte(zf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "sitedns.toml")
	if err := os.WriteFile(cfg, []byte("[[zone]]\norigin = \"contoso.lab\"\nfile = \"big.zone\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/names, "ns/record")
}

// TestWireSize: a Wire keeps the target fields of SRV, MX and NS sets
// apart, so the Wire of every address set of a large zone stays small; the
// sets with targets still get them, linked to their address sets.
func TestWireSize(t *testing.T) {
	if size := unsafe.Sizeof(Wire{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 64 {
		t.Errorf("a Wire is %d bytes, want at most 64", size)
	}
	snap, err := LoadDemo(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := snap.Lookup("autodiscover.contoso.lab.", dns.TypeA)
	if a.Set == nil || a.Set.Default == nil || a.Set.Default.Wire == nil || a.Set.Default.Wire.Targets != nil {
		t.Fatalf("autodiscover A: want a precompiled set without targets, got %+v", a.Set)
	}
	srv := snap.Lookup("_sipinternaltls._tcp.contoso.lab.", dns.TypeSRV)
	if srv.Set == nil || srv.Set.Default == nil || srv.Set.Default.Wire == nil {
		t.Fatalf("SRV: want a precompiled set, got %+v", srv.Set)
	}
	ts := srv.Set.Default.Wire.Targets
	if ts == nil || ts.Distinct == 0 || len(ts.Target) != len(srv.Set.Default.RRs) || len(ts.Additional) != len(ts.Target) {
		t.Fatalf("SRV targets: %+v", ts)
	}
	for i, tg := range ts.Target {
		if tg != "" && ts.Additional[i].A == nil && ts.Additional[i].AAAA == nil {
			t.Errorf("SRV target %q has no address set linked", tg)
		}
	}
}

// TestJournalDir: [server] journal_dir is made absolute against the config
// file's directory; without a file it must be absolute; without
// axfr_allow it is a warning.
func TestJournalDir(t *testing.T) {
	const zone = "\n[[zone]]\norigin = \"contoso.lab\"\nrecords = [\"sip IN A 127.1.1.30\"]\n"
	for _, c := range []struct {
		name, dir, server, want, warn, err string
	}{
		{"relative", "/etc/sitedns", `journal_dir = "jnl"` + "\naxfr_allow = [\"127.0.0.1\"]", "/etc/sitedns/jnl", "", ""},
		{"absolute", "", `journal_dir = "/var/lib/sitedns/../sitedns/jnl"` + "\naxfr_allow = [\"127.0.0.1\"]", "/var/lib/sitedns/jnl", "", ""},
		{"relative without a file", "", `journal_dir = "jnl"`, "", "", `c.toml:2: server: journal_dir: "jnl": a relative journal_dir needs a config file`},
		{"no transfers", "", `journal_dir = "/var/lib/sitedns"`, "/var/lib/sitedns", `c.toml:2: server: journal_dir: "/var/lib/sitedns": no axfr_allow`, ""},
	} {
		snap, err := Parse("c.toml", c.dir, []byte("[server]\n"+c.server+"\n"+zone), NewCounters())
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if snap.JournalDir != c.want {
			t.Errorf("%s: journal in %q, want %q", c.name, snap.JournalDir, c.want)
		}
		if warns := snap.Warnings.Error(); (c.warn == "") != (len(snap.Warnings) == 0) || !strings.Contains(warns, c.warn) {
			t.Errorf("%s: warnings %q, want %q", c.name, warns, c.warn)
		}
	}
}
