package zones

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestConfigHash: the hash follows the config text and the zone files it
// names, not where they lie.
func TestConfigHash(t *testing.T) {
	const cfg = `
[[zone]]
origin = "fabrikam.lab"
file = "fabrikam.zone"
`
	const zone = "@ 3600 IN SOA ns1.fabrikam.lab. hostmaster.fabrikam.lab. 7 3600 600 86400 300\n@ 3600 IN NS ns1.fabrikam.lab.\nns1 300 IN A 10.0.0.1\n"
	write := func(cfgText, zoneText string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "fabrikam.zone"), []byte(zoneText), 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "sitedns.toml")
		if err := os.WriteFile(p, []byte(cfgText), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hash := func(p string) string {
		t.Helper()
		return mustLoad(t, p, nil).ConfigHash
	}
	a := hash(write(cfg, zone))
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(a) {
		t.Fatalf("hash %q, want 16 hex digits", a)
	}
	if b := hash(write(cfg, zone)); b != a {
		t.Errorf("the same files elsewhere: hash %s, want %s", b, a)
	}
	if b := hash(write(cfg, zone+"ns2 300 IN A 10.0.0.2\n")); b == a {
		t.Error("a changed zone file kept the hash")
	}
	if b := hash(write(cfg+"# a comment\n", zone)); b == a {
		t.Error("a changed config kept the hash")
	}
	snap := mustLoad(t, write(cfg, zone), nil)
	if s := snap.Zones[0].SOA.Serial; s != 7 {
		t.Errorf("serial %d, want 7", s)
	}
}

// TestFirstSharesListed: every counted set lists each target's expected share
// once, summing to 1 per name and scope.
func TestFirstSharesListed(t *testing.T) {
	snap := mustLoad(t, testdata("good", "loopback.toml"), nil)
	sums := map[string]float64{}
	seen := map[string]bool{}
	for _, lv := range snap.Counters.FirstShares {
		k := lv.Labels[0] + " " + lv.Labels[1] + " " + lv.Labels[2]
		if seen[k+" "+lv.Labels[3]] {
			t.Errorf("%v listed twice", lv.Labels)
		}
		seen[k+" "+lv.Labels[3]] = true
		sums[k] += lv.V
	}
	for k, sum := range sums {
		if sum < 1-1e-9 || sum > 1+1e-9 {
			t.Errorf("%s: shares sum to %v", k, sum)
		}
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"contoso.lab.", "affinityus.contoso.lab.", "default", "127.2.1.10"}, 1.0 / 3},
		{[]string{"contoso.lab.", "autodiscover.contoso.lab.", "US", "127.3.1.10"}, 1.0 / 3},
		{[]string{"contoso.lab.", "autodiscover.contoso.lab.", "default", "127.200.0.10"}, 1},
		{[]string{"contoso.lab.", "pool.contoso.lab.", "default", "127.1.2.20"}, 0.5},
	} {
		i := slices.IndexFunc(snap.Counters.FirstShares, func(lv LabeledValue) bool { return slices.Equal(lv.Labels, c.labels) })
		if i < 0 {
			t.Errorf("%v: not listed", c.labels)
			continue
		}
		if v := snap.Counters.FirstShares[i].V; v < c.want-1e-9 || v > c.want+1e-9 {
			t.Errorf("%v: %v, want %v", c.labels, v, c.want)
		}
	}
	// windows2000 with netmask ordering never rotates: the first record is
	// first every time, the others never.
	w := mustLoad(t, testdata("good", "windows2000.toml"), nil)
	if len(w.Counters.FirstShares) == 0 {
		t.Fatal("windows2000.toml: no shares listed")
	}
	for _, lv := range w.Counters.FirstShares {
		if lv.V != 0 && lv.V != 1 {
			t.Errorf("windows2000 %v: share %v, want 0 or 1", lv.Labels, lv.V)
		}
	}
}
