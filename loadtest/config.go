package loadtest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Limits that bound every run, whatever the flags say.
const (
	// MaxQueries caps Config.Queries: the runner keeps one latency per
	// query in memory.
	MaxQueries = 10_000_000
	// MaxDuration caps Config.Duration.
	MaxDuration = 24 * time.Hour
	// MaxConcurrency caps Config.Concurrency.
	MaxConcurrency = 1024
	// MaxClients caps the number of clients (each worker may hold one UDP
	// socket per client).
	MaxClients = 4096
)

// Config is one load test: what to ask, whom to ask, from where, and how
// much. The zero value is not valid; see Validate.
type Config struct {
	// Server is the DNS server as IP:port ("127.0.0.1:5300").
	Server string
	// Servers, when set, are several servers (IP:port) that take the queries
	// in turn, query i going to Servers[i mod len(Servers)], as a load
	// balancer alternating over replicas would; the report covers them
	// together. Server, when also set, must be Servers[0]. Validate fills in
	// each from the other.
	Servers []string
	// Names are the query names; a missing final dot is added.
	Names []string
	// Types are the query types by name ("A", "AAAA", "SRV"); default A.
	Types []string
	// Queries caps the number of queries over all clients, names and types;
	// 0 means "until Duration".
	Queries int
	// Duration caps the wall-clock time of the run; 0 means "until Queries".
	// At least one of Queries and Duration must be set.
	Duration time.Duration
	// Rate caps the queries per second over all workers; 0 means no cap
	// (each worker sends its next query when the last one is answered).
	Rate float64
	// Concurrency is the number of workers, each with one query in flight
	// (default 8).
	Concurrency int
	// Timeout is how long one query waits for its answer (default 2s).
	Timeout time.Duration

	// Clients are the simulated clients. The queries go round robin over
	// every (client, name, type).
	Clients []Client
	// Bind sends each client's queries from the client's own address; it
	// must then be a local address (any of 127.0.0.0/8 on Linux).
	Bind bool
	// ECS adds an EDNS Client Subnet option (RFC 7871) for the client's
	// prefix to every query.
	ECS bool
	// UDPSize is the EDNS0 UDP payload size advertised; 0 sends no OPT
	// record unless ECS needs one (then 1232).
	UDPSize uint16

	// Expect lists the answers each scope should get. A (name, type, scope)
	// without an expectation is compared against the targets the group was
	// seen to get, equally weighted, and is not checked for affinity.
	Expect []Expectation
	// NetmaskOrdering expects the records in the client's own network
	// (LocalBits) first, as Windows DNS's LocalNetPriority does: a client
	// with local records expects its first answer spread over those only.
	NetmaskOrdering bool
	// LocalBits is the prefix length of a client's own IPv4 network
	// (default 24); LocalBits6 the same for IPv6 (default 64).
	LocalBits  int
	LocalBits6 int
	// Alpha is the significance level of the chi-square tests of a run, all
	// groups together (default 0.01): each group is tested at Alpha divided
	// by the number of groups (Bonferroni).
	Alpha float64
	// Seed seeds the random order of the queries in each block (0: the
	// clock).
	Seed uint64
	// Down lists targets the run was told are down (addresses, or host
	// names for SRV, MX and CNAME answers): each group counts the answers
	// that held one (Group.DownAnswers), so that a server's health
	// checking is measured from outside.
	Down []string
}

// Client is one simulated client.
type Client struct {
	// Addr is the address the server should see: the UDP/TCP source when
	// Config.Bind is set, and the ECS address when Config.ECS is.
	Addr netip.Addr
	// Prefix is the entry as given: the ECS prefix sent when it is shorter
	// than a host route (otherwise Addr's /24, or /56 for IPv6).
	Prefix netip.Prefix
	// Site and Scope name the client's site and scope in the report.
	Site  string
	Scope string
}

// ecsPrefix returns the prefix sent in the client's ECS option.
func (c Client) ecsPrefix() netip.Prefix {
	if c.Prefix.IsValid() && c.Prefix.Bits() < c.Prefix.Addr().BitLen() {
		return c.Prefix.Masked()
	}
	bits := 24
	if c.Addr.Is6() {
		bits = 56
	}
	p, _ := c.Addr.Prefix(bits)
	return p
}

// Site is one client site: a name, its subnets and the scope it belongs to,
// as a [[site]] table of the sitedns config.
type Site struct {
	Name    string
	Scope   string
	Subnets []netip.Prefix
}

// Expectation says which targets one scope should get for one name and type,
// and with what weights their first-answer shares should go.
type Expectation struct {
	// Name is the query name, fully qualified, lower case.
	Name string
	// Type is the query type ("A"); empty means A.
	Type string
	// Scope is the scope it applies to; empty means every scope without an
	// expectation of its own (the default set, or a plain RRset).
	Scope string
	// Targets are the expected records: addresses for A/AAAA, target names
	// (fully qualified, lower case) for SRV, MX, CNAME, NS, PTR.
	Targets []string
	// Weights, when set, are the relative first-answer shares of Targets
	// (same length); otherwise they share equally.
	Weights []float64
}

// Validate fills in the defaults and reports the first problem with c.
func (c *Config) Validate() error {
	switch {
	case len(c.Servers) == 0:
		c.Servers = []string{c.Server}
	case c.Server == "":
		c.Server = c.Servers[0]
	case c.Server != c.Servers[0]:
		return fmt.Errorf("loadtest: server %q and servers %q: set one", c.Server, c.Servers)
	}
	for _, s := range c.Servers {
		if _, err := netip.ParseAddrPort(s); err != nil {
			return fmt.Errorf("loadtest: server %q: want IP:port", s)
		}
	}
	if len(c.Names) == 0 {
		return errors.New("loadtest: no query name")
	}
	for i, n := range c.Names {
		n = dns.Fqdn(strings.ToLower(n))
		if _, ok := dns.IsDomainName(n); !ok {
			return fmt.Errorf("loadtest: name %q: not a domain name", c.Names[i])
		}
		c.Names[i] = n
	}
	if len(c.Types) == 0 {
		c.Types = []string{"A"}
	}
	for i, t := range c.Types {
		t = strings.ToUpper(t)
		if _, ok := dns.StringToType[t]; !ok {
			return fmt.Errorf("loadtest: type %q: unknown", c.Types[i])
		}
		c.Types[i] = t
	}
	switch {
	case c.Queries < 0 || c.Queries > MaxQueries:
		return fmt.Errorf("loadtest: queries %d: want 0 to %d", c.Queries, MaxQueries)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return fmt.Errorf("loadtest: duration %s: want 0 to %s", c.Duration, MaxDuration)
	case c.Queries == 0 && c.Duration == 0:
		return errors.New("loadtest: set a query count, a duration, or both")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("loadtest: rate %v: want 0 (no cap) or more", c.Rate)
	case c.Concurrency < 0 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("loadtest: concurrency %d: want 1 to %d", c.Concurrency, MaxConcurrency)
	case c.Timeout < 0:
		return fmt.Errorf("loadtest: timeout %s: negative", c.Timeout)
	case len(c.Clients) == 0:
		return errors.New("loadtest: no clients")
	case len(c.Clients) > MaxClients:
		return fmt.Errorf("loadtest: %d clients: at most %d", len(c.Clients), MaxClients)
	case c.Alpha < 0 || c.Alpha >= 1 || math.IsNaN(c.Alpha):
		return fmt.Errorf("loadtest: alpha %v: want 0 < alpha < 1", c.Alpha)
	}
	if c.Queries == 0 {
		c.Queries = MaxQueries
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Alpha == 0 {
		c.Alpha = 0.01
	}
	if c.LocalBits == 0 {
		c.LocalBits = 24
	}
	if c.LocalBits6 == 0 {
		c.LocalBits6 = 64
	}
	if c.LocalBits < 0 || c.LocalBits > 32 || c.LocalBits6 < 0 || c.LocalBits6 > 128 {
		return fmt.Errorf("loadtest: local prefix /%d, /%d: out of range", c.LocalBits, c.LocalBits6)
	}
	if !c.Bind && !c.ECS {
		return errors.New("loadtest: clients need source binding, ECS, or both")
	}
	down, err := normalizeDown(c.Down)
	if err != nil {
		return err
	}
	c.Down = down
	for i, cl := range c.Clients {
		if !cl.Addr.IsValid() {
			return fmt.Errorf("loadtest: client %d: no address", i)
		}
		if cl.Site == "" {
			c.Clients[i].Site = "unknown"
		}
	}
	for i := range c.Expect {
		e := &c.Expect[i]
		e.Name = dns.Fqdn(strings.ToLower(e.Name))
		e.Type = cmp.Or(strings.ToUpper(e.Type), "A")
		if len(e.Targets) == 0 {
			return fmt.Errorf("loadtest: expectation %s %s scope %q: no targets", e.Name, e.Type, e.Scope)
		}
		if e.Weights != nil && len(e.Weights) != len(e.Targets) {
			return fmt.Errorf("loadtest: expectation %s %s scope %q: %d weights for %d targets",
				e.Name, e.Type, e.Scope, len(e.Weights), len(e.Targets))
		}
		for _, w := range e.Weights {
			if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
				return fmt.Errorf("loadtest: expectation %s %s scope %q: weight %v", e.Name, e.Type, e.Scope, w)
			}
		}
		for j, t := range e.Targets {
			e.Targets[j] = normTarget(t)
		}
	}
	return nil
}

// normTarget puts a target in the form the runner records: an address in
// netip's form, anything else lower case and fully qualified.
func normTarget(t string) string {
	if a, err := netip.ParseAddr(t); err == nil {
		return a.Unmap().String()
	}
	return dns.Fqdn(strings.ToLower(t))
}

// expectation returns the expectation for (name, type, scope): the scope's
// own, else the one for every scope, else nil.
func (c *Config) expectation(name, qtype, scope string) *Expectation {
	var any *Expectation
	for i := range c.Expect {
		e := &c.Expect[i]
		if e.Name != name || e.Type != qtype {
			continue
		}
		if e.Scope == scope && scope != "" {
			return e
		}
		if e.Scope == "" && any == nil {
			any = e
		}
	}
	return any
}

// localNet returns the client's own network: Addr masked to LocalBits.
func (c *Config) localNet(a netip.Addr) netip.Prefix {
	bits := c.LocalBits
	if a.Is6() {
		bits = c.LocalBits6
	}
	p, _ := a.Prefix(bits)
	return p
}

// SiteOf returns the site whose subnets hold a by the longest match, and
// whether there is one.
func SiteOf(sites []Site, a netip.Addr) (Site, bool) {
	best, bestBits := -1, -1
	for i, s := range sites {
		for _, p := range s.Subnets {
			if p.Contains(a) && p.Bits() > bestBits {
				best, bestBits = i, p.Bits()
			}
		}
	}
	if best < 0 {
		return Site{}, false
	}
	return sites[best], true
}

// DefaultHost is the host number a prefix entry stands for: 127.2.1.0/24 is
// the client 127.2.1.77 (as in the design's example 10.2.1.77).
const DefaultHost = 77

// ParseClients parses a client list: entries separated by commas, each an
// address or a prefix, optionally followed by "=SITE" or "=SITE:SCOPE":
//
//	127.2.1.0/24=US-Chicago:US,127.9.0.5,10.2.1.0/24
//
// A prefix stands for its host DefaultHost (or its first host when that
// does not fit). An entry with no site takes the site of the longest match in
// sites; with no match it is "unknown", or, when sites is empty, it is named
// by its prefix.
func ParseClients(list string, sites []Site) ([]Client, error) {
	var out []Client
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		addrPart, sitePart, hasSite := strings.Cut(entry, "=")
		addrPart = strings.TrimSpace(addrPart)
		var c Client
		if strings.Contains(addrPart, "/") {
			p, err := netip.ParsePrefix(addrPart)
			if err != nil {
				return nil, fmt.Errorf("loadtest: client %q: %v", entry, err)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen()))
			c.Prefix = p
			c.Addr = hostIn(p, DefaultHost)
		} else {
			a, err := netip.ParseAddr(addrPart)
			if err != nil {
				return nil, fmt.Errorf("loadtest: client %q: %v", entry, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("loadtest: client %q: zoned address", entry)
			}
			a = a.Unmap()
			c.Addr = a
			c.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
		if hasSite {
			site, scope, _ := strings.Cut(sitePart, ":")
			site, scope = strings.TrimSpace(site), strings.TrimSpace(scope)
			if site == "" || strings.ContainsAny(site, ":=") || strings.ContainsAny(scope, ":=") {
				return nil, fmt.Errorf("loadtest: client %q: want ADDR[/BITS][=SITE[:SCOPE]]", entry)
			}
			c.Site, c.Scope = site, scope
		} else if s, ok := SiteOf(sites, c.Addr); ok {
			c.Site, c.Scope = s.Name, s.Scope
		} else if len(sites) > 0 {
			c.Site = "unknown"
		} else {
			c.Site = c.Prefix.Masked().String()
		}
		out = append(out, c)
		if len(out) > MaxClients {
			return nil, fmt.Errorf("loadtest: more than %d clients", MaxClients)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("loadtest: empty client list")
	}
	return out, nil
}

// hostIn returns the address host numbers above p's network address; when
// that leaves p, the first host after the network address, or the network
// address itself for a /32 or /128.
func hostIn(p netip.Prefix, host int) netip.Addr {
	base := p.Masked().Addr()
	for _, h := range []int{host, 1} {
		if a, ok := addTo(base, h); ok && p.Contains(a) {
			return a
		}
	}
	return base
}

// addTo returns a+n (n ≥ 0), and false when that overflows the family.
func addTo(a netip.Addr, n int) (netip.Addr, bool) {
	b := a.AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := int(b[i]) + carry
		b[i] = byte(s)
		carry = s >> 8
	}
	r, _ := netip.AddrFromSlice(b)
	return r, carry == 0
}

// ClientsForSites returns clients for every site: in each IPv4 subnet, one in
// the /24 of every expected target that lies in the subnet (a client that
// netmask ordering should favour), and one in the first /24 of the subnet
// that holds no target (a client that should get plain round robin). Each
// client is host DefaultHost of its /24. IPv6 subnets get one client, at
// host DefaultHost of the subnet.
func ClientsForSites(sites []Site, expect []Expectation) []Client {
	var targets []netip.Addr
	for _, e := range expect {
		for _, t := range e.Targets {
			if a, err := netip.ParseAddr(t); err == nil {
				targets = append(targets, a.Unmap())
			}
		}
	}
	slices.SortFunc(targets, netip.Addr.Compare)
	targets = slices.Compact(targets)
	var out []Client
	add := func(s Site, p netip.Prefix) {
		for _, c := range out {
			if c.Prefix == p {
				return
			}
		}
		out = append(out, Client{Addr: hostIn(p, DefaultHost), Prefix: p, Site: s.Name, Scope: s.Scope})
	}
	for _, s := range sites {
		for _, sub := range s.Subnets {
			if !sub.Addr().Is4() || sub.Bits() > 24 {
				add(s, sub.Masked())
				continue
			}
			used := map[netip.Prefix]bool{}
			for _, t := range targets {
				if sub.Contains(t) {
					p, _ := t.Prefix(24)
					used[p] = true
					add(s, p)
				}
			}
			// The first /24 with no target, looking at most 256 /24s in.
			p := netip.PrefixFrom(sub.Masked().Addr(), 24)
			for range 256 {
				if !used[p] {
					add(s, p)
					break
				}
				next, ok := addTo(p.Addr(), 256)
				if !ok || !sub.Contains(next) {
					break
				}
				p = netip.PrefixFrom(next, 24)
			}
		}
	}
	return out
}
