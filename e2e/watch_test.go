package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestWatchZoneFiles: -watch reloads when a zone file the config names
// changes, and when a file that zone file $INCLUDEs changes, not only the
// config file; an edit is served within the poll interval and settle time.
func TestWatchZoneFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		// A complete file renamed into place, as editors and config
		// management write, so that no poll sees half of it.
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("config.toml", "[[zone]]\norigin = \"watch.lab\"\nfile = \"watch.lab.zone\"\n")
	zone := func(www string) string {
		return "$ORIGIN watch.lab.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n" +
			"www IN A " + www + "\n$INCLUDE hosts.inc\n"
	}
	write("watch.lab.zone", zone("192.0.2.10"))
	write("hosts.inc", "mail IN A 192.0.2.25\n")
	in := start(t, "-config", filepath.Join(dir, "config.toml"), "-watch", "-watch-interval", "50ms", "-watch-settle", "100ms")

	first := func(name string) string {
		r, err := in.exchange("udp", "", newQuery(name, dns.TypeA))
		if err != nil || len(r.Answer) == 0 {
			return ""
		}
		return firstA(t, r)
	}
	waitFor := func(name, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := first(name)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q 10 s after the edit, want %q\n%s", name, got, want, in.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("www.watch.lab", "192.0.2.10")
	waitFor("mail.watch.lab", "192.0.2.25")

	write("watch.lab.zone", zone("192.0.2.11"))
	waitFor("www.watch.lab", "192.0.2.11")

	write("hosts.inc", "mail IN A 192.0.2.26\n")
	waitFor("mail.watch.lab", "192.0.2.26")
	// The reload is counted just after the swap that made it visible.
	reloads := func() float64 { return metricValue(t, in, `sitedns_config_reloads_total{result="success"}`) }
	for deadline := time.Now().Add(5 * time.Second); reloads() < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if v := reloads(); v != 2 {
		t.Errorf("%v successful reloads, want 2 (one per edit)", v)
	}
}
