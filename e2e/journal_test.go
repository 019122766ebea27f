package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJournalRestart: with [server] journal_dir, the IXFR history outlives
// a restart. A BIND secondary of sitedns holds serial 1; sitedns stops, its
// config goes to serial 2 (one host more) while it is down, and it starts
// again: its NOTIFY brings BIND serial 2 by an IXFR of that one host (5
// records). Without journal_dir, the same restart at serial 3 sends BIND
// the whole zone.
func TestJournalRestart(t *testing.T) {
	dir := t.TempDir()
	listen := reserveListen(t)
	downstream := freePortOn(t, "127.0.0.1")
	cfg := filepath.Join(dir, "sitedns.toml")
	config := func(serial int, journal string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "[server]\naxfr_allow = [\"127.0.0.0/8\"]\n%s\n[[zone]]\norigin = \"contoso.lab\"\n", journal)
		fmt.Fprintf(&b, "also_notify = [\"127.0.0.1:%d\"]\nrecords = [\n  \"@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 300\",\n", downstream, serial)
		b.WriteString("  \"@ 3600 IN NS ns1\",\n  \"ns1 300 IN A 127.0.0.53\",\n")
		for i := range 200 + serial {
			fmt.Fprintf(&b, "  \"host%d 300 IN A 10.5.%d.%d\",\n", i, i/256, i%256)
		}
		b.WriteString("]\n")
		return b.String()
	}
	restart := func(in *instance, serial int, journal string) *instance {
		t.Helper()
		in.stop()
		writeConfig(t, cfg, config(serial, journal))
		return startSecondary(t, cfg, listen)
	}
	const journal = `journal_dir = "ixfr"`
	writeConfig(t, cfg, config(1, journal))
	in := startSecondary(t, cfg, listen)
	sec := startBINDSecondary(t, "contoso.lab", listen, downstream, false)
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", 1, 10*time.Second)

	in = restart(in, 2, journal)
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", 2, 15*time.Second) // by NOTIFY: the refresh is an hour away
	if n := sec.transferred(t, 2, 5*time.Second); n != 5 {
		t.Errorf("serial 2 after a restart with the journal came in %d records, want 5 (an IXFR of one host)", n)
	}
	restart(in, 3, "")
	waitSerial(t, "BIND secondary", sec.Addr, "contoso.lab.", 3, 15*time.Second)
	if n := sec.transferred(t, 3, 5*time.Second); n != 207 { // the SOA, NS, ns1, 203 hosts, the SOA
		t.Errorf("serial 3 after a restart without the journal came in %d records, want 207 (the whole zone)", n)
	}
	t.Logf("BIND secondary:\n%s", grepLines(sec.Log(), "Transfer completed"))
}
