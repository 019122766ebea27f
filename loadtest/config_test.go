package loadtest

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseClients(t *testing.T) {
	sites := []Site{
		{Name: "US-Chicago", Scope: "US", Subnets: []netip.Prefix{netip.MustParsePrefix("127.2.0.0/16")}},
		{Name: "Chicago-Lab", Scope: "US", Subnets: []netip.Prefix{netip.MustParsePrefix("127.2.9.0/24")}},
	}
	c := func(addr, prefix, site, scope string) Client {
		return Client{Addr: netip.MustParseAddr(addr), Prefix: netip.MustParsePrefix(prefix), Site: site, Scope: scope}
	}
	cases := []struct {
		list  string
		sites []Site
		want  []Client
		err   string
	}{
		{list: "127.2.1.0/24=US-Chicago:US", want: []Client{c("127.2.1.77", "127.2.1.0/24", "US-Chicago", "US")}},
		{list: "127.2.1.5", want: []Client{c("127.2.1.5", "127.2.1.5/32", "127.2.1.5/32", "")}},
		{list: " 127.2.1.5 , 127.9.0.0/16=X ", sites: sites, want: []Client{
			c("127.2.1.5", "127.2.1.5/32", "US-Chicago", "US"), c("127.9.0.77", "127.9.0.0/16", "X", "")}},
		{list: "127.2.9.1,127.9.9.9", sites: sites, want: []Client{
			c("127.2.9.1", "127.2.9.1/32", "Chicago-Lab", "US"), c("127.9.9.9", "127.9.9.9/32", "unknown", "")}},
		{list: "127.2.1.0/30", want: []Client{c("127.2.1.1", "127.2.1.0/30", "127.2.1.0/30", "")}},
		{list: "127.2.1.9/24", want: []Client{c("127.2.1.77", "127.2.1.9/24", "127.2.1.0/24", "")}},
		{list: "2001:db8::/64=V6", want: []Client{c("2001:db8::4d", "2001:db8::/64", "V6", "")}},
		{list: "::ffff:127.2.1.5", want: []Client{c("127.2.1.5", "127.2.1.5/32", "127.2.1.5/32", "")}},
		{list: "", err: "empty client list"},
		{list: "127.2.1.300", err: "client"},
		{list: "127.2.1.0/33", err: "client"},
		{list: "127.2.1.5=", err: "want ADDR"},
		{list: "127.2.1.5=a:b:c", err: "want ADDR"},
		{list: "fe80::1%eth0", err: "zoned"},
	}
	for _, tc := range cases {
		got, err := ParseClients(tc.list, tc.sites)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseClients(%q) err = %v, want %q", tc.list, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseClients(%q) = %+v, %v;\nwant %+v", tc.list, got, err, tc.want)
		}
	}
}

// formatClients writes clients back in the flag syntax.
func formatClients(cs []Client) string {
	var parts []string
	for _, c := range cs {
		s := c.Prefix.String() + "=" + c.Site
		if c.Scope != "" {
			s += ":" + c.Scope
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func FuzzParseClients(f *testing.F) {
	for _, s := range []string{"127.2.1.0/24=US-Chicago:US", "127.2.1.5,127.9.0.5", "2001:db8::/64=V6", "a=b:c", ",,", "1.2.3.4/0"} {
		f.Add(s)
	}
	sites := []Site{{Name: "US-Chicago", Scope: "US", Subnets: []netip.Prefix{netip.MustParsePrefix("127.2.0.0/16")}}}
	f.Fuzz(func(t *testing.T, list string) {
		cs, err := ParseClients(list, sites)
		if err != nil {
			return
		}
		for _, c := range cs {
			if !c.Addr.IsValid() || !c.Prefix.Contains(c.Addr) || c.Site == "" {
				t.Fatalf("ParseClients(%q): bad client %+v", list, c)
			}
			if e := c.ecsPrefix(); !e.IsValid() || !e.Contains(c.Addr) {
				t.Fatalf("ParseClients(%q): client %+v: ECS prefix %v", list, c, e)
			}
		}
		// Written back with explicit sites, the list parses to the same clients.
		back, err := ParseClients(formatClients(cs), sites)
		if err != nil || !reflect.DeepEqual(back, cs) {
			t.Fatalf("round trip of %q: %q gives %+v, %v; want %+v", list, formatClients(cs), back, err, cs)
		}
	})
}

func TestClientsForSites(t *testing.T) {
	sites := []Site{
		{Name: "US-Chicago", Scope: "US", Subnets: []netip.Prefix{netip.MustParsePrefix("127.2.0.0/16")}},
		{Name: "Tiny", Scope: "", Subnets: []netip.Prefix{netip.MustParsePrefix("127.5.5.0/26")}},
	}
	expect := []Expectation{{Name: "a.", Targets: []string{"127.2.0.10", "127.2.1.10", "10.0.0.1"}}}
	got := ClientsForSites(sites, expect)
	var addrs []string
	for _, c := range got {
		addrs = append(addrs, c.Addr.String()+"="+c.Site)
	}
	// Local clients in 127.2.0 and 127.2.1 (each holds a target), a remote
	// one in 127.2.2; the /26 is too small for host 77.
	want := "127.2.0.77=US-Chicago 127.2.1.77=US-Chicago 127.2.2.77=US-Chicago 127.5.5.1=Tiny"
	if g := strings.Join(addrs, " "); g != want {
		t.Errorf("ClientsForSites = %s, want %s", g, want)
	}
}

func TestParseFile(t *testing.T) {
	const text = `
[server]
client_subnet = true
[[site]]
name = "US-Chicago"
subnets = ["127.2.0.0/16"]
scope = "US"
description = "ignored: a key of sitedns, not ours"
[[site]]
name = "DE-Hamburg"
subnets = ["127.11.0.0/16"]
scope = "DE"

[[expect]]
name = "pool.contoso.lab"
targets = ["127.2.1.20", "127.11.1.20"]
weights = [2, 1]

[[zone]]
origin = "contoso.lab"
records = ["affinityus 300 IN A 127.1.1.10", "affinityus 300 IN A 127.2.1.10", "sip 300 IN CNAME pool", "_sip._tls 300 IN SRV 0 0 5061 pool"]
[[zone.name]]
name = "autodiscover"
[zone.name.scope.US]
records = ["300 IN A 127.1.1.10", "300 IN A 127.2.1.10"]
[zone.name.default]
records = ["300 IN A 203.0.113.10"]
`
	sites, expect, err := ParseFile("lab.toml", text)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 2 || sites[1].Name != "DE-Hamburg" || sites[1].Scope != "DE" || sites[1].Subnets[0] != netip.MustParsePrefix("127.11.0.0/16") {
		t.Errorf("sites = %+v", sites)
	}
	var got []string
	for _, e := range expect {
		got = append(got, e.Name+" "+e.Type+" "+e.Scope+" "+strings.Join(e.Targets, ","))
	}
	want := []string{
		"pool.contoso.lab  " + "" + " 127.2.1.20,127.11.1.20",
		"affinityus.contoso.lab. A  127.1.1.10,127.2.1.10",
		"sip.contoso.lab. CNAME  pool.contoso.lab.",
		"_sip._tls.contoso.lab. SRV  pool.contoso.lab.",
		"autodiscover.contoso.lab. A  203.0.113.10",
		"autodiscover.contoso.lab. A US 127.1.1.10,127.2.1.10",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expectations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, bad := range []struct{ text, want string }{
		{"[[expect]]\nname = \"a\"\ntargets = [\"10.0.0.1\"]\ntarget = \"typo\"\n", `unknown key "expect.target"`},
		{"[[site]]\nname = \"x\"\nsubnets = [\"10.0.0.0/33\"]\n", `site "x": subnet "10.0.0.0/33"`},
		{"[[zone]]\norigin = \"a\"\nrecords = [\"x 300 IN A 999.1.1.1\"]\n", `record "x 300 IN A 999.1.1.1"`},
		{"[[site]\n", "lab.toml"},
	} {
		if _, _, err := ParseFile("lab.toml", bad.text); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseFile(%q) err = %v, want %q", bad.text, err, bad.want)
		}
	}
}
