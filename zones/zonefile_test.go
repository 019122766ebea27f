package zones

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// zoneParserRecords parses text as parseZoneFile's fallback does; ok is
// false on a parse error.
func zoneParserRecords(text, origin string) (rrs []dns.RR, ok bool) {
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "")
	for rr, more := zp.Next(); more; rr, more = zp.Next() {
		rrs = append(rrs, rr)
	}
	return rrs, zp.Err() == nil
}

// checkScan: when scanZoneFile takes text, it reads exactly the records the
// ZoneParser reads; it never takes a file the ZoneParser rejects.
func checkScan(t *testing.T, text, origin string) (fast bool) {
	t.Helper()
	got, ok := scanZoneFile(text, origin)
	if !ok {
		return false
	}
	want, wantOK := zoneParserRecords(text, origin)
	if !wantOK {
		t.Fatalf("scanZoneFile took a file the ZoneParser rejects:\n%s", text)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, ZoneParser %d:\n%s", len(got), len(want), text)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("record %d: %#v, ZoneParser %#v:\n%s", i, got[i], want[i], text)
		}
	}
	return true
}

// scanCases are zone files and whether scanZoneFile takes them.
var scanCases = []struct {
	name, text string
	fast       bool
}{
	{"bench head", `$ORIGIN contoso.lab.
$TTL 300
@                     3600 IN SOA ns1.contoso.lab. hostmaster.contoso.lab. 2026120101 3600 600 86400 300
@                     3600 IN NS  ns1.contoso.lab.
@                          IN MX  10 mail.contoso.lab.
ns1                   3600 IN A   127.1.1.53
pool                       IN A   127.1.1.20
pool                       IN A   127.2.1.20
_sipinternaltls._tcp       IN SRV 0 0 5061 pool.contoso.lab.
www                        IN CNAME affinityus.contoso.lab.
host0000001 IN A 127.100.0.1
`, true},
	{"ttl and class in any order, case", "$ttl 60\na 10 in a 10.0.0.1\nb IN 20 A 10.0.0.2\nC.contoso.lab. a 10.0.0.3\nd aaaa 2001:db8::1\n", true},
	{"blank owner repeats the last", "$TTL 60\nwww IN A 10.0.0.1\n\tIN A 10.0.0.2\n  30 AAAA ::1\n", true},
	{"comments and blank lines", "; zone\n\n$TTL 60 ; a minute\nwww IN A 10.0.0.1 ; web\n   ; nothing\n", true},
	{"ttl of the last record without $TTL", "a 100 IN A 10.0.0.1\nb IN A 10.0.0.2\nc 200 A 10.0.0.3\nd A 10.0.0.4\n", true},
	{"$TTL wins over later records", "$TTL 60\na 100 IN A 10.0.0.1\nb IN A 10.0.0.2\n", true},
	{"$ORIGIN relative and absolute", "$TTL 60\n$ORIGIN sub\nwww A 10.0.0.1\n$ORIGIN other.lab.\n@ A 10.0.0.2\nx TXT hello world\n", true},
	{"no newline at the end", "$TTL 60\nwww IN A 10.0.0.1", true},
	{"other types in the current origin", "$TTL 60\n@ NS ns1\n@ MX 10 mail\nsrv SRV 0 0 443 www\nptr PTR www\nalias CNAME www\n", true},

	{"no TTL at all", "www IN A 10.0.0.1\n", false},
	{"bad address", "$TTL 60\nwww IN A 10.0.0.300\n", false},
	{"v6 address in A", "$TTL 60\nwww IN A ::1\n", false},
	{"v4 address in AAAA", "$TTL 60\nwww IN AAAA 10.0.0.1\n", false},
	{"garbage after rdata", "$TTL 60\nwww IN A 10.0.0.1 10.0.0.2\n", false},
	{"other class", "$TTL 60\nwww CH A 10.0.0.1\n", false},
	{"two classes", "$TTL 60\nwww IN IN A 10.0.0.1\n", false},
	{"two TTLs", "$TTL 60\nwww 1 2 A 10.0.0.1\n", false},
	{"TTL with a unit", "$TTL 1h\nwww A 10.0.0.1\n", false},
	{"TTL too large", "$TTL 4294967296\nwww A 10.0.0.1\n", false},
	{"unknown type", "$TTL 60\nwww IN BOGUS 1\n", false},
	{"generic type", "$TTL 60\nwww IN TYPE1 \\# 4 0a000001\n", false},
	{"parentheses", "$TTL 60\n@ SOA ns hm ( 1 2 3 4 5 )\n", false},
	{"quotes", "$TTL 60\nwww TXT \"a b\"\n", false},
	{"escapes", "$TTL 60\nw\\.w A 10.0.0.1\n", false},
	{"carriage return", "$TTL 60\r\nwww A 10.0.0.1\r\n", false},
	{"include", "$INCLUDE other.zone\n", false},
	{"generate", "$GENERATE 1-2 h$ A 10.0.0.$\n", false},
	{"comment glued to a token", "$TTL 60\nwww A;x\n", false},
	{"owner only", "$TTL 60\nwww\n", false},
	{"no rdata", "$TTL 60\nwww IN A\n", false},
	{"blank owner first", "$TTL 60\n IN A 10.0.0.1\n", false},
	{"bad owner", "$TTL 60\na..b A 10.0.0.1\n", false},
	{"bad rdata of another type", "$TTL 60\n@ MX mail\n", false},
	{"type as origin", "$ORIGIN A ", false},
	{"short SOA reading on", "$TTL 0\n0 SOA 0 0 0\n ", false},
}

// TestScanZoneFile: the fast path takes the common forms and leaves the
// rest, errors above all, to miekg/dns.
func TestScanZoneFile(t *testing.T) {
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			if fast := checkScan(t, c.text, "contoso.lab."); fast != c.fast {
				t.Errorf("fast path %v, want %v", fast, c.fast)
			}
		})
	}
}

// FuzzScanZoneFile: whatever the text, a file the fast path takes reads as
// the ZoneParser reads it.
func FuzzScanZoneFile(f *testing.F) {
	for _, c := range scanCases {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkScan(t, text, "contoso.lab.")
	})
}

// TestScanSentinel: the sentinel reads back as itself.
func TestScanSentinel(t *testing.T) {
	rrs, ok := zoneParserRecords(sentinel, ".")
	if !ok || len(rrs) != 1 || rrs[0].String() != sentinel {
		t.Fatalf("sentinel %q reads as %v", sentinel, rrs)
	}
}

// TestReadText: readText returns a file's bytes exactly, whether its size
// is known ahead (a zone file) or not (a file that stats as empty but has
// content, as /proc files do), and names the file it cannot open.
func TestReadText(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 100_000, 300_001} {
		want := strings.Repeat("host IN A 192.0.2.1\n", size/20+1)[:size]
		path := filepath.Join(dir, "zone")
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readText(path)
		if err != nil || got != want {
			t.Errorf("readText of %d bytes: %d bytes, %v; want the file", size, len(got), err)
		}
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if got, err := readText("/proc/self/status"); err != nil || !strings.Contains(got, "Name:") {
			t.Errorf("readText(/proc/self/status) = %.40q, %v; want its content", got, err)
		}
	}
	if _, err := readText(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("readText of a missing file: %v; want an error naming it", err)
	}
}
