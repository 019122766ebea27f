package journal

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func soa(t testing.TB, serial int) dns.RR {
	return rr(t, "contoso.lab. 3600 IN SOA ns1.contoso.lab. hostmaster.contoso.lab. "+strconv.Itoa(serial)+" 3600 600 86400 300")
}

// entry is contoso.lab at serial 3, reached from 1 by two differences.
func entry(t testing.TB) *Entry {
	cas := func(ip string) dns.RR { return rr(t, "autodiscover.contoso.lab. 300 IN A "+ip) }
	return &Entry{
		Records: []dns.RR{soa(t, 3), rr(t, "contoso.lab. 3600 IN NS ns1.contoso.lab."), cas("10.1.0.5"), cas("10.2.0.5"),
			rr(t, `txt.contoso.lab. 300 IN TXT "v=spf1 -all" "a \"quoted\" ; string"`)},
		Deltas: []*zones.Delta{
			{From: soa(t, 1).(*dns.SOA), Deleted: []dns.RR{cas("10.3.0.5")}, To: soa(t, 2).(*dns.SOA)},
			{From: soa(t, 2).(*dns.SOA), To: soa(t, 3).(*dns.SOA), Added: []dns.RR{cas("10.2.0.5")}},
		},
	}
}

// text is the journal as master-file lines, one a record.
func text(e *Entry) string {
	var b strings.Builder
	for _, r := range e.Records {
		b.WriteString(r.String() + "\n")
	}
	for _, d := range e.Deltas {
		b.WriteString("from " + d.From.String() + "\n")
		for _, r := range d.Deleted {
			b.WriteString("- " + r.String() + "\n")
		}
		b.WriteString("to " + d.To.String() + "\n")
		for _, r := range d.Added {
			b.WriteString("+ " + r.String() + "\n")
		}
	}
	return b.String()
}

// TestSaveLoad: a journal read back is the entry saved; a missing one is
// fs.ErrNotExist.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "Contoso.LAB.")
	if filepath.Base(path) != "contoso.lab.jnl" || filepath.Base(Path(dir, ".")) != "root.jnl" {
		t.Errorf("paths %s and %s", path, Path(dir, "."))
	}
	if _, err := Load(path, "contoso.lab."); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing journal: %v", err)
	}
	want := entry(t)
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, "contoso.lab.")
	if err != nil {
		t.Fatal(err)
	}
	if text(got) != text(want) {
		t.Errorf("read back:\n%s\nwant:\n%s", text(got), text(want))
	}
}

// TestReadErrors: a journal that is not one says which file, and the line
// of a record that does not parse.
func TestReadErrors(t *testing.T) {
	ns := "contoso.lab. 3600 IN NS ns1.contoso.lab.\n"
	s := func(n int) string { return soa(t, n).String() + "\n" }
	for _, c := range []struct{ name, text, want string }{
		{"empty", "", "j.jnl: does not start with the SOA of contoso.lab."},
		{"no SOA first", ns + s(1), "j.jnl: does not start with the SOA"},
		{"another zone's SOA", "fabrikam.lab. 3600 IN SOA ns1 h 1 2 3 4 5\n", "j.jnl: an SOA of fabrikam.lab."},
		{"an SOA without RDATA", "contoso.lab. IN SOA\n", "j.jnl: contoso.lab.\t0\tIN\tSOA has no RDATA"},
		{"an NS without RDATA", s(1) + "contoso.lab. IN NS\n", "j.jnl: contoso.lab.\t3600\tIN\tNS has no RDATA"},
		{"half a difference", s(3) + s(2), "j.jnl: a difference without its new SOA"},
		{"a broken chain", s(4) + s(1) + s(2) + s(3) + s(4), "j.jnl: a difference from serial 3 follows one to serial 2"},
		{"the wrong end", s(4) + s(1) + s(2), "j.jnl: the differences end at serial 2, the zone is at serial 4"},
		{"a bad record", s(1) + ns + "www.contoso.lab. 300 IN A 10.0.0.300\n", "line: 3"},
	} {
		_, err := Read(strings.NewReader(c.text), "j.jnl", "contoso.lab.")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzRead: whatever a journal file holds, Read does not panic, and what it
// accepts reads back the same from its Text.
func FuzzRead(f *testing.F) {
	f.Add(Text(entry(f)))
	f.Add(soa(f, 1).String() + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Read(strings.NewReader(s), "f.jnl", "contoso.lab.")
		if err != nil {
			return
		}
		back, err := Read(strings.NewReader(Text(e)), "f.jnl", "contoso.lab.")
		if err != nil {
			t.Fatalf("the text of a journal read does not read back: %v", err)
		}
		if text(back) != text(e) {
			t.Fatalf("read back:\n%s\nsaved:\n%s", text(back), text(e))
		}
	})
}
