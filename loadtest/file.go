package loadtest

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/miekg/dns"
)

// The site-map file is TOML. Its [[site]] tables are the sitedns config's
// (name, subnets, scope; other keys ignored), so a sitedns config file serves
// as is; [[expect]] tables are the load tester's own. From a sitedns config's
// [[zone]] tables the inline records (zone records, and [zone.name.scope.X] /
// [zone.name.default] sets) become expectations too; records in zone files
// (file = ...) are not read.
type fileConfig struct {
	Site   []fileSite   `toml:"site"`
	Expect []fileExpect `toml:"expect"`
	Zone   []fileZone   `toml:"zone"`
}

type fileSite struct {
	Name    string   `toml:"name"`
	Subnets []string `toml:"subnets"`
	Scope   string   `toml:"scope"`
}

type fileExpect struct {
	Name    string    `toml:"name"`
	Type    string    `toml:"type"`
	Scope   string    `toml:"scope"`
	Targets []string  `toml:"targets"`
	Weights []float64 `toml:"weights"`
}

type fileZone struct {
	Origin  string     `toml:"origin"`
	Records []string   `toml:"records"`
	Name    []fileName `toml:"name"`
}

type fileName struct {
	Name    string             `toml:"name"`
	Scope   map[string]fileSet `toml:"scope"`
	Default *fileSet           `toml:"default"`
}

type fileSet struct {
	Records []string `toml:"records"`
}

// LoadFile reads the sites and expectations of a site-map file or a sitedns
// config. Unknown keys in [[expect]] tables are errors; other unknown keys
// belong to sitedns and are ignored.
func LoadFile(path string) ([]Site, []Expectation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loadtest: %w", err)
	}
	return ParseFile(path, string(b))
}

// ParseFile is LoadFile on the text of a file; path only names it in errors.
func ParseFile(path, text string) ([]Site, []Expectation, error) {
	var f fileConfig
	md, err := toml.Decode(text, &f)
	if err != nil {
		return nil, nil, fmt.Errorf("loadtest: %s: %w", path, err)
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "expect" {
			return nil, nil, fmt.Errorf("loadtest: %s: unknown key %q", path, k.String())
		}
	}
	return fromFile(path, &f)
}

func fromFile(path string, f *fileConfig) ([]Site, []Expectation, error) {
	var sites []Site
	for i, s := range f.Site {
		if s.Name == "" {
			return nil, nil, fmt.Errorf("loadtest: %s: site %d: no name", path, i+1)
		}
		site := Site{Name: s.Name, Scope: s.Scope}
		for _, sub := range s.Subnets {
			p, err := netip.ParsePrefix(sub)
			if err != nil {
				return nil, nil, fmt.Errorf("loadtest: %s: site %q: subnet %q: %v", path, s.Name, sub, err)
			}
			site.Subnets = append(site.Subnets, p.Masked())
		}
		sites = append(sites, site)
	}
	var expect []Expectation
	for _, e := range f.Expect {
		if e.Name == "" || len(e.Targets) == 0 {
			return nil, nil, fmt.Errorf("loadtest: %s: expect %q: want a name and targets", path, e.Name)
		}
		expect = append(expect, Expectation{Name: e.Name, Type: e.Type, Scope: e.Scope, Targets: e.Targets, Weights: e.Weights})
	}
	for _, z := range f.Zone {
		origin := dns.Fqdn(strings.ToLower(z.Origin))
		plain, err := expectRecords(path, origin, "", "", z.Records)
		if err != nil {
			return nil, nil, err
		}
		expect = append(expect, plain...)
		for _, n := range z.Name {
			sets := setsOf(n)
			for _, scope := range slices.Sorted(maps.Keys(sets)) {
				set := sets[scope]
				e, err := expectRecords(path, origin, n.Name, scope, set.Records)
				if err != nil {
					return nil, nil, err
				}
				expect = append(expect, e...)
			}
		}
	}
	return sites, expect, nil
}

// setsOf returns the answer sets of n by scope, the default set under "".
func setsOf(n fileName) map[string]fileSet {
	m := make(map[string]fileSet, len(n.Scope)+1)
	for k, v := range n.Scope {
		m[k] = v
	}
	if n.Default != nil {
		m[""] = *n.Default
	}
	return m
}

// expectRecords turns zone-file records into one expectation per (owner,
// type), in the order the records came. With owner set, each record is the
// record text after the owner ("300 IN A 10.1.1.10").
func expectRecords(path, origin, owner, scope string, records []string) ([]Expectation, error) {
	var out []Expectation
	for _, text := range records {
		if owner != "" {
			text = owner + " " + text
		}
		zp := dns.NewZoneParser(strings.NewReader(text+"\n"), origin, path)
		rr, ok := zp.Next()
		if err := zp.Err(); err != nil {
			return nil, fmt.Errorf("loadtest: %s: record %q: %v", path, text, err)
		}
		if !ok {
			continue
		}
		t, ok := targetOf(rr)
		if !ok {
			continue
		}
		name := strings.ToLower(rr.Header().Name)
		qtype := dns.TypeToString[rr.Header().Rrtype]
		found := false
		for i := range out {
			if out[i].Name == name && out[i].Type == qtype {
				out[i].Targets = append(out[i].Targets, t)
				found = true
			}
		}
		if !found {
			out = append(out, Expectation{Name: name, Type: qtype, Scope: scope, Targets: []string{t}})
		}
	}
	return out, nil
}

// targetOf returns what the report counts for a record: the address of an
// A/AAAA, the target name of SRV, MX, CNAME, NS and PTR records.
func targetOf(rr dns.RR) (string, bool) {
	switch r := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(r.A)
		return a.Unmap().String(), ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(r.AAAA)
		return a.String(), ok
	case *dns.SRV:
		return strings.ToLower(r.Target), true
	case *dns.MX:
		return strings.ToLower(r.Mx), true
	case *dns.CNAME:
		return strings.ToLower(r.Target), true
	case *dns.NS:
		return strings.ToLower(r.Ns), true
	case *dns.PTR:
		return strings.ToLower(r.Ptr), true
	}
	return "", false
}
