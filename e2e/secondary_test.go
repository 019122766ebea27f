package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// adZone is the text of contoso.lab as an Active Directory domain controller
// holds it, at serial with the SOA timers (refresh retry expire), with extra
// hosts host<N> records and extra records appended: DC locator SRV records, DHCP-registered hosts, a
// delegation, and an autodiscover A record that sitedns overlays.
func adZone(serial uint32, timers string, hosts int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `$ORIGIN contoso.lab.
$TTL 3600
@	IN SOA dc1 hostmaster %d %s 300
@	IN NS dc1
@	IN NS dc2
@	IN A 10.1.0.53
@	IN A 10.1.0.54
@	IN MX 10 mail
dc1	IN A 10.1.0.53
dc2	IN A 10.1.0.54
_ldap._tcp.dc._msdcs	600 IN SRV 0 100 389 dc1
_ldap._tcp.dc._msdcs	600 IN SRV 0 100 389 dc2
_kerberos._tcp	600 IN SRV 0 100 88 dc1
_kerberos._udp	600 IN SRV 0 100 88 dc2
_gc._tcp	600 IN SRV 0 100 3268 dc1
_ldap._tcp.US-Chicago._sites	600 IN SRV 0 100 389 dc1
gc._msdcs	IN A 10.1.0.53
autodiscover	300 IN A 10.1.1.99
autodiscover	300 IN AAAA 2001:db8::99
mail	300 IN A 10.1.1.25
www	300 IN CNAME mail
_sipinternaltls._tcp	300 IN SRV 0 0 5061 pool01
pool01	300 IN A 10.1.2.20
spf	IN TXT "v=spf1 mx -all"
serial	60 IN TXT "%d"
sub	IN NS ns.sub
ns.sub	IN A 10.9.0.53
`, serial, timers, serial)
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "host%d\t1200 IN A 10.5.%d.%d\n", i, i/10, i)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// longTimers never refresh or expire within a test: what happens comes from
// NOTIFY. shortTimers expire 3s after the last refresh.
const (
	longTimers  = "3600 600 86400"
	shortTimers = "1 1 3"
)

// secondaryConfig is a sitedns config holding contoso.lab as a secondary of
// primaryAddr with the key secret, stored in dir, with autodiscover
// overlaid per site.
func secondaryConfig(primaryAddr, secret, dir string) string {
	return fmt.Sprintf(`[[site]]
name = "US-Chicago"
subnets = ["127.2.0.0/16"]
scope = "US"

[[site]]
name = "DE-Frankfurt"
subnets = ["127.12.0.0/16"]
scope = "DE"

[[tsig]]
name = %[4]q
algorithm = "hmac-sha256"
secret = %[2]q

[[zone]]
origin = "contoso.lab"
primaries = [%[1]q]
tsig = %[4]q
store = %[3]q

[[zone.name]]
name = "autodiscover"
[zone.name.scope.US]
records = ["300 IN A 10.1.1.10", "300 IN A 10.2.1.10", "300 IN A 10.3.1.10"]
[zone.name.scope.DE]
records = ["300 IN A 10.12.1.10"]
[zone.name.default]
records = ["300 IN A 203.0.113.10"]
`, primaryAddr, secret, filepath.Join(dir, "contoso.lab.zone"), xfrKeyName)
}

// writeConfig writes text to path atomically (beside, then renamed).
func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until the instance's log holds n lines containing each of
// parts (at most limit).
func waitLog(t *testing.T, in *instance, n int, limit time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := 0
		for _, l := range strings.Split(in.Log(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d log lines with %q, want %d:\n%s", limit, got, parts, n, in.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// transferZone fetches the whole zone from addr by AXFR signed with the
// test key.
func transferZone(t *testing.T, addr, origin string) []dns.RR {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(origin)
	m.SetTsig(xfrKeyName+".", dns.HmacSHA256, 300, time.Now().Unix())
	tr := &dns.Transfer{TsigSecret: map[string]string{xfrKeyName + ".": xfrKeySecret}}
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR from %s: %v", addr, env.Error)
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs[:len(rrs)-1]
}

// sectionText is a section's records as sorted lines, owners in lower case.
func sectionText(rrs []dns.RR) string {
	lines := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		rr = dns.Copy(rr)
		rr.Header().Name = strings.ToLower(rr.Header().Name)
		lines = append(lines, rr.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// compareZone asks the primary and sitedns for every RRset of the zone (as
// an AXFR from the primary lists it) but the skipped "name TYPE" keys, from
// a client in no site, and fails on any difference of rcode, answer, or
// (for answers without records) authority. It returns how many RRsets it
// compared.
func compareZone(t *testing.T, primaryAddr, sitedns, origin string, skip ...string) int {
	t.Helper()
	type key struct {
		name  string
		qtype uint16
	}
	seen := map[key]bool{}
	var keys []key
	for _, rr := range transferZone(t, primaryAddr, origin) {
		k := key{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
		if !seen[k] && !slices.Contains(skip, k.name+" "+dns.TypeToString[k.qtype]) {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, k := range keys {
		q := newQuery(k.name, k.qtype)
		q.RecursionDesired = false
		want, _, err := c.Exchange(q, primaryAddr)
		if err != nil {
			t.Fatalf("%s %s from the primary: %v", k.name, dns.TypeToString[k.qtype], err)
		}
		got, _, err := c.Exchange(q, sitedns)
		if err != nil {
			t.Fatalf("%s %s from sitedns: %v", k.name, dns.TypeToString[k.qtype], err)
		}
		if got.Rcode != want.Rcode || sectionText(got.Answer) != sectionText(want.Answer) ||
			(len(want.Answer) == 0 && sectionText(got.Ns) != sectionText(want.Ns)) {
			t.Errorf("%s %s differs:\nprimary: %s\n%s\n%s\nsitedns: %s\n%s\n%s", k.name, dns.TypeToString[k.qtype],
				dns.RcodeToString[want.Rcode], sectionText(want.Answer), sectionText(want.Ns),
				dns.RcodeToString[got.Rcode], sectionText(got.Answer), sectionText(got.Ns))
		}
	}
	return len(keys)
}

// checkOverlay checks autodiscover.contoso.lab A per client site: the
// overlay's set for the site's scope, never the transferred 10.1.1.99.
func checkOverlay(t *testing.T, in *instance) {
	t.Helper()
	for src, want := range map[string][]string{
		"127.2.1.5":  {"10.1.1.10", "10.2.1.10", "10.3.1.10"},
		"127.12.1.5": {"10.12.1.10"},
		"127.9.0.5":  {"203.0.113.10"},
	} {
		r := in.query(t, "udp", src, newQuery("autodiscover.contoso.lab", dns.TypeA))
		got := addrs(r)
		slices.Sort(got)
		if r.Rcode != dns.RcodeSuccess || !slices.Equal(got, want) {
			t.Errorf("autodiscover from %s: %s %v, want %v", src, dns.RcodeToString[r.Rcode], got, want)
		}
	}
}

// reserveListen returns a free 127.0.0.1 port for sitedns to listen on, so
// that a primary can be told where to send NOTIFY before sitedns starts.
func reserveListen(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(freePortOn(t, "127.0.0.1")))
}

// startSecondary starts sitedns with the config at path, listening (also)
// on listen.
func startSecondary(t *testing.T, path, listen string) *instance {
	t.Helper()
	return start(t, "-config", path, "-listen", listen)
}

// startSecondaryOf writes dir/sitedns.toml, a secondary of primaryAddr
// (secondaryConfig, stored in dir), starts sitedns with it on listen and
// waits (at most limit) until it serves serial 1, returning how long that
// took.
func startSecondaryOf(t *testing.T, dir, primaryAddr, listen string, limit time.Duration) (*instance, time.Duration) {
	t.Helper()
	cfg := filepath.Join(dir, "sitedns.toml")
	writeConfig(t, cfg, secondaryConfig(primaryAddr, xfrKeySecret, dir))
	in := startSecondary(t, cfg, listen)
	return in, waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 1, limit)
}

// TestSecondaryBIND: sitedns as a secondary of BIND 9 with a TSIG key, with
// autodiscover overlaid per site. The initial AXFR; every RRset but the
// overlay answered as BIND answers it; a change on BIND reaching sitedns by
// NOTIFY and IXFR; a TSIG mismatch refused with the old data kept; and a
// restart with BIND down serving the stored copy at once.
func TestSecondaryBIND(t *testing.T) {
	dir := t.TempDir()
	listen := reserveListen(t)
	bind := startBINDPrimary(t, "127.0.0.1", "contoso.lab", adZone(1, longTimers, 30), listen)
	in, took := startSecondaryOf(t, dir, bind.Addr, listen, 10*time.Second)
	cfg := filepath.Join(dir, "sitedns.toml") // as startSecondaryOf wrote it
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, `"kind":"axfr"`, `"serial":1`)
	t.Logf("initial AXFR served %v after start", took)
	if v := metricValue(t, in, `sitedns_zone_transfers_total{kind="axfr",result="success",zone="contoso.lab."}`); v != 1 {
		t.Errorf("AXFR successes: %v, want 1", v)
	}
	if v := metricValue(t, in, `sitedns_zone_serial{zone="contoso.lab."}`); v != 1 {
		t.Errorf("sitedns_zone_serial: %v, want 1", v)
	}
	n := compareZone(t, bind.Addr, in.DNS, "contoso.lab.", "autodiscover.contoso.lab. A")
	checkOverlay(t, in)
	t.Logf("%d RRsets answered as BIND answers them", n)

	// A change on the primary: NOTIFY, then IXFR.
	sent := time.Now()
	bind.update(adZone(2, longTimers, 29, "host31 1200 IN A 10.5.3.31", "mail 300 IN AAAA 2001:db8::25"), 2)
	// The SOA refresh is an hour away: only the NOTIFY brings serial 2
	// within the bound.
	waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 2, 10*time.Second)
	took = time.Since(sent)
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, `"kind":"ixfr"`, `"serial":2`)
	t.Logf("serial 2 served by sitedns %v after BIND was told to reload", took)
	if v := metricValue(t, in, `sitedns_zone_transfers_total{kind="ixfr",result="success",zone="contoso.lab."}`); v != 1 {
		t.Errorf("IXFR successes: %v, want 1", v)
	}
	compareZone(t, bind.Addr, in.DNS, "contoso.lab.", "autodiscover.contoso.lab. A")
	checkOverlay(t, in)
	// BIND signs its NOTIFY messages with the key (its server clause):
	// sitedns verified the one for serial 2 (and signed its response).
	waitLog(t, in, 1, 5*time.Second, `"NOTIFY accepted"`, `"signed":true`)

	// A TSIG mismatch: the SOA check is refused by the primary, and the
	// zone keeps serving serial 2.
	writeConfig(t, cfg, secondaryConfig(bind.Addr, badKeySecret, dir))
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, in, 1, 10*time.Second, `"reloaded"`)
	bind.update(adZone(3, longTimers, 29, "host32 1200 IN A 10.5.3.32"), 3)
	waitLog(t, in, 1, 10*time.Second, `"refresh of a secondary zone failed"`)
	if s, _, err := soaSerial(in.DNS, "contoso.lab."); err != nil || s != 2 {
		t.Errorf("after the TSIG mismatch: serial %d (%v), want 2 kept", s, err)
	}
	if r := in.query(t, "udp", "", newQuery("host32.contoso.lab", dns.TypeA)); r.Rcode != dns.RcodeNameError {
		t.Errorf("host32 of serial 3 served despite the TSIG mismatch: %v", r)
	}
	if v := metricValue(t, in, `sitedns_zone_soa_checks_total{result="error",zone="contoso.lab."}`); v < 1 {
		t.Errorf("failed SOA checks: %v, want at least 1", v)
	}
	// The right key again: the reload refreshes the zone.
	writeConfig(t, cfg, secondaryConfig(bind.Addr, xfrKeySecret, dir))
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 3, 10*time.Second)
	// The stored copy is written once the new data serves, and then the
	// transfer is logged.
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, `"serial":3,`)

	// Restart with the primary down: the stored copy answers at once.
	bind.stop()
	in.stop()
	in = startSecondary(t, cfg, listen)
	if s, rcode, err := soaSerial(in.DNS, "contoso.lab."); err != nil || rcode != dns.RcodeSuccess || s != 3 {
		t.Fatalf("restarted with the primary down: serial %d rcode %s (%v), want the stored 3", s, dns.RcodeToString[rcode], err)
	}
	if r := in.query(t, "udp", "", newQuery("host32.contoso.lab", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("host32 from the stored copy: %v", r)
	}
	checkOverlay(t, in)
	waitLog(t, in, 1, 5*time.Second, `"serving the stored copy of a secondary zone"`, `"serial":3`)
}

// TestSecondaryExpire: with BIND stopped, the zone answers until its SOA
// expire (3s) has passed since the last refresh, then SERVFAIL, logged and
// counted; BIND back, it answers again.
func TestSecondaryExpire(t *testing.T) {
	dir := t.TempDir()
	listen := reserveListen(t)
	bind := startBINDPrimary(t, "127.0.0.1", "contoso.lab", adZone(1, shortTimers, 30), listen)
	in, _ := startSecondaryOf(t, dir, bind.Addr, listen, 10*time.Second)

	bind.stop()
	stopped := time.Now()
	waitRcode(t, in.DNS, "dc1.contoso.lab.", dns.RcodeServerFailure, 15*time.Second)
	t.Logf("SERVFAIL %v after the primary stopped (SOA expire 3s)", time.Since(stopped))
	waitLog(t, in, 1, 5*time.Second, `"secondary zone expired`)
	if v := metricValue(t, in, `sitedns_zone_expired{zone="contoso.lab."}`); v != 1 {
		t.Errorf("sitedns_zone_expired: %v, want 1", v)
	}
	if v := metricValue(t, in, `sitedns_zone_expirations_total{zone="contoso.lab."}`); v != 1 {
		t.Errorf("sitedns_zone_expirations_total: %v, want 1", v)
	}

	bind.start()
	waitRcode(t, in.DNS, "dc1.contoso.lab.", dns.RcodeSuccess, 15*time.Second)
	if v := metricValue(t, in, `sitedns_zone_expired{zone="contoso.lab."}`); v != 0 {
		t.Errorf("sitedns_zone_expired after the primary came back: %v, want 0", v)
	}
}

// TestSecondaryKnot: sitedns as a secondary of Knot DNS with a TSIG key:
// the initial AXFR, every RRset answered as Knot answers it, and a change
// reaching sitedns by NOTIFY and IXFR.
func TestSecondaryKnot(t *testing.T) {
	dir := t.TempDir()
	listen := reserveListen(t)
	knot := startKnotPrimary(t, "127.0.2.1", "contoso.lab", adZone(1, longTimers, 30), listen)
	in, _ := startSecondaryOf(t, dir, knot.Addr, listen, 10*time.Second)
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, `"kind":"axfr"`, `"serial":1`)
	n := compareZone(t, knot.Addr, in.DNS, "contoso.lab.", "autodiscover.contoso.lab. A")
	checkOverlay(t, in)
	t.Logf("%d RRsets answered as Knot answers them", n)

	sent := time.Now()
	knot.update(adZone(2, longTimers, 29, "host31 1200 IN A 10.5.3.31", "mail 300 IN AAAA 2001:db8::25"), 2)
	waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 2, 10*time.Second) // by NOTIFY: the refresh is an hour away
	took := time.Since(sent)
	waitLog(t, in, 1, 5*time.Second, `"zone transferred"`, `"kind":"ixfr"`, `"serial":2`)
	t.Logf("serial 2 served by sitedns %v after Knot was told to reload", took)
	compareZone(t, knot.Addr, in.DNS, "contoso.lab.", "autodiscover.contoso.lab. A")
	checkOverlay(t, in)
}

// TestSecondaryChain: BIND, then sitedns as its secondary, then a second
// BIND as sitedns's secondary. The second BIND gets the zone from sitedns
// (overlays as their default set), and a change on the first reaches it
// through sitedns: NOTIFY and IXFR in, then sitedns's NOTIFY to its
// also_notify and an IXFR out.
func TestSecondaryChain(t *testing.T) {
	dir := t.TempDir()
	listen := reserveListen(t)
	bind := startBINDPrimary(t, "127.0.0.1", "contoso.lab", adZone(1, longTimers, 30), listen)
	downstream := freePortOn(t, "127.0.0.1")
	cfg := filepath.Join(dir, "sitedns.toml")
	text := "[server]\naxfr_allow = [\"127.0.0.0/8\"]\n\n" + strings.Replace(secondaryConfig(bind.Addr, xfrKeySecret, dir),
		"store = ", fmt.Sprintf("also_notify = [\"127.0.0.1:%d\"]\nstore = ", downstream), 1)
	writeConfig(t, cfg, text)
	in := startSecondary(t, cfg, listen)
	waitSerial(t, "sitedns", in.DNS, "contoso.lab.", 1, 10*time.Second)

	// The downstream secondary, on the port sitedns notifies, gets serial
	// 1 by AXFR from sitedns: the overlay goes out as its default set.
	sec := startBINDSecondary(t, "contoso.lab", in.DNS, downstream, false)
	waitSerial(t, "downstream BIND", sec.Addr, "contoso.lab.", 1, 10*time.Second)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(newQuery("autodiscover.contoso.lab", dns.TypeA), sec.Addr)
	if err != nil || !slices.Equal(addrs(r), []string{"203.0.113.10"}) {
		t.Errorf("autodiscover from the downstream BIND: %v %v, want the overlay's default set", err, r)
	}

	sent := time.Now()
	bind.update(adZone(2, longTimers, 29, "host31 1200 IN A 10.5.3.31"), 2)
	waitSerial(t, "downstream BIND", sec.Addr, "contoso.lab.", 2, 10*time.Second) // by NOTIFY: the refresh is an hour away
	t.Logf("serial 2 at the downstream BIND %v after the primary was told to reload", time.Since(sent))
	waitLog(t, in, 1, 5*time.Second, `"NOTIFY sent"`, `"serial":2`)
	t.Logf("downstream BIND:\n%s", grepLines(sec.Log(), "ransfer"))
	// The whole zone is 56 records: serial 2 came as an IXFR (SOA 2,
	// SOA 1, the deleted host30 and serial TXT, SOA 2, the added host31
	// and serial TXT, SOA 2).
	if n := sec.transferred(t, 2, 5*time.Second); n != 8 {
		t.Errorf("the downstream BIND's transfer of serial 2: %d records, want 8 (an IXFR)", n)
	}
	n := compareZone(t, bind.Addr, sec.Addr, "contoso.lab.", "autodiscover.contoso.lab. A")
	t.Logf("%d RRsets of the downstream BIND answered as the first BIND answers them", n)
}

// TestTransferTSIG: a zone with transfer_tsig transfers only to a client
// signing with the key, and signs what it sends. dig's AXFR without the
// key is refused; with it, dig verifies the TSIG of every message. A BIND
// secondary holding the key gets the zone, then a change by sitedns's
// signed NOTIFY and an IXFR it verifies; sitedns logs the NOTIFY answered
// (its response signed, as sitedns requires).
func TestTransferTSIG(t *testing.T) {
	dig := need(t, "dig")
	downstream := freePortOn(t, "127.0.0.1")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sitedns.toml")
	zone := func(serial int, hosts int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `[server]
axfr_allow = ["127.0.0.0/8"]

[[tsig]]
name = %q
algorithm = "hmac-sha256"
secret = %q

[[zone]]
origin = "contoso.lab"
transfer_tsig = %q
also_notify = ["127.0.0.1:%d"]
records = [
  "@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 300",
  "@ 3600 IN NS ns1",
  "ns1 300 IN A 127.0.0.53",
`, xfrKeyName, xfrKeySecret, xfrKeyName, downstream, serial)
		for i := range hosts {
			fmt.Fprintf(&b, "  \"host%d 300 IN A 10.5.%d.%d\",\n", i, i/256, i%256)
		}
		b.WriteString("]\n")
		return b.String()
	}
	writeConfig(t, cfg, zone(1, 2000)) // several messages
	in := start(t, "-config", cfg)
	host, port, _ := net.SplitHostPort(in.DNS)

	out, _ := exec.Command(dig, "-p", port, "@"+host, "contoso.lab", "AXFR").CombinedOutput()
	if !strings.Contains(string(out), "Transfer failed") || strings.Contains(string(out), "host1.contoso.lab") {
		t.Errorf("AXFR without the key: want it refused, got:\n%s", out)
	}
	out, err := exec.Command(dig, "-p", port, "@"+host, "-y", "hmac-sha256:"+xfrKeyName+":"+xfrKeySecret, "contoso.lab", "AXFR").CombinedOutput()
	if err != nil || strings.Contains(string(out), "Transfer failed") || strings.Contains(string(out), "ouldn't verify") ||
		strings.Count(string(out), "IN\tA\t10.5.") != 2000 {
		t.Fatalf("AXFR with the key: %v\n%s", err, tail(string(out), 20))
	}
	if m := regexp.MustCompile(`XFR size: \d+ records \(messages (\d+)`).FindStringSubmatch(string(out)); m == nil || m[1] == "1" {
		t.Errorf("AXFR with the key: %v, want several messages", m)
	}

	sec := startBINDSecondary(t, "contoso.lab", in.DNS, downstream, true)
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", 1, 10*time.Second)
	writeConfig(t, cfg, zone(2, 2001))
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", 2, 15*time.Second) // by NOTIFY: the refresh is an hour away
	waitLog(t, in, 1, 5*time.Second, `"NOTIFY sent"`, `"serial":2`)
	if n := sec.transferred(t, 2, 5*time.Second); n != 5 {
		t.Errorf("the BIND secondary's transfer of serial 2 came in %d records, want 5 (an IXFR)", n)
	}
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(newQuery("host2000.contoso.lab", dns.TypeA), sec.Addr)
	if err != nil || !slices.Equal(addrs(r), []string{"10.5.7.208"}) {
		t.Errorf("host2000 from the BIND secondary: %v %v", r, err)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
