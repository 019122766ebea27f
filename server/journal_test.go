package server

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sitedns/sitedns/journal"
	"github.com/sitedns/sitedns/zones"
)

// TestJournal: the IXFR history outlives the process. A zone that was at
// serial 7, then 8, answers an IXFR from 7 after a restart at 9 exactly as
// the process that saw 7, 8 and 9 does; again after a restart at 9; not
// after a restart at an older serial; and a journal that does not read is
// reported by its path, and the zone starts without history.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	at := func(serial int, extra string) *zones.Snapshot {
		snap := secondarySnap(t, serial, extra)
		snap.JournalDir = dir
		return snap
	}
	const old, nine = "old.contoso.lab.\t300\tIN\tA\t10.0.0.7\n", "nine.contoso.lab.\t300\tIN\tA\t10.0.0.9\n"
	const eight = "new.contoso.lab.\t300\tIN\tA\t10.0.0.8\n"
	start := func(snap *zones.Snapshot) *zones.Snapshot {
		t.Helper()
		if err := ResumeDeltas(snap); err != nil {
			t.Fatal(err)
		}
		if err := SaveJournal(nil, snap); err != nil {
			t.Fatal(err)
		}
		return snap
	}

	v7 := start(at(7, old))
	v8 := at(8, eight)
	CarryDeltas(v7, v8)
	if err := SaveJournal(v7, v8); err != nil {
		t.Fatal(err)
	}
	for _, restart := range []string{"at 9", "at 9 again"} {
		v9 := start(at(9, eight+nine))
		if got := ixfr(t, New(Config{}, v9), 7); !slices.Equal(got, ixfrFrom7) {
			t.Errorf("restarted %s, IXFR from 7: %v, want %v", restart, got, ixfrFrom7)
		}
	}
	if v6 := start(at(6, "")); len(v6.Zones[0].Deltas) != 0 {
		t.Errorf("restarted at an older serial: %d differences, want none", len(v6.Zones[0].Deltas))
	}

	path := journal.Path(dir, "contoso.lab.")
	if err := os.WriteFile(path, []byte("contoso.lab. 300 IN A 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v9 := at(9, eight+nine)
	if err := ResumeDeltas(v9); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a journal that does not read: %v, want an error naming %s", err, path)
	}
	if len(v9.Zones[0].Deltas) != 0 {
		t.Errorf("a journal that does not read gave %d differences", len(v9.Zones[0].Deltas))
	}
}

// journalBenchNames is how many names of the zone the journal benchmarks keep.
const journalBenchNames = 100_000

// journalSnap is a zone of journalBenchNames hosts at serial, transfers
// allowed, its journal in dir.
func journalSnap(b *testing.B, dir string, serial int) *zones.Snapshot {
	b.Helper()
	var c strings.Builder
	fmt.Fprintf(&c, "[server]\naxfr_allow = [\"127.0.0.0/8\"]\n\n[[zone]]\norigin = \"contoso.lab\"\nrecords = [\n  \"@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 300\",\n  \"@ 3600 IN NS ns1\",\n  \"ns1 300 IN A 10.0.0.53\",\n", serial)
	for i := range journalBenchNames + serial {
		fmt.Fprintf(&c, "  \"host%d 300 IN A 10.%d.%d.%d\",\n", i, i>>16&255, i>>8&255, i&255)
	}
	c.WriteString("]\n")
	snap, err := zones.Parse("bench.toml", "", []byte(c.String()), zones.NewCounters())
	if err != nil {
		b.Fatal(err)
	}
	snap.JournalDir = dir
	return snap
}

// BenchmarkSaveJournal: writing the journal of a zone of 100,000 names,
// what each change of its serial costs the reloader once the new snapshot
// serves.
func BenchmarkSaveJournal(b *testing.B) {
	snap := journalSnap(b, b.TempDir(), 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := SaveJournal(nil, snap); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/journalBenchNames, "ns/name")
}

// BenchmarkResumeDeltas: reading that journal at start-up and adding the
// difference to the next serial (one name more).
func BenchmarkResumeDeltas(b *testing.B) {
	dir := b.TempDir()
	if err := SaveJournal(nil, journalSnap(b, dir, 1)); err != nil {
		b.Fatal(err)
	}
	next := journalSnap(b, dir, 2)
	b.ReportAllocs()
	for b.Loop() {
		if err := ResumeDeltas(next); err != nil {
			b.Fatal(err)
		}
	}
	if d := next.Zones[0].Deltas; len(d) != 1 || len(d[0].Added) != 1 || len(d[0].Deleted) != 0 {
		b.Fatalf("differences %v, want one name added", d)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/journalBenchNames, "ns/name")
}
