package zones

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/ordering"
)

// compiler turns a decoded config into a Snapshot, collecting every problem
// on the way rather than stopping at the first.
type compiler struct {
	file     string // the config's name in errors
	dir      string // zone files are relative to it; "" forbids them
	loc      *locator
	counters *Counters
	errs     Errors
	warns    Errors            // problems that do not stop the config: Snapshot.Warnings
	rotating []rotating        // Snapshot.rotating
	rotation ordering.Rotation // Snapshot.Rotation

	files []SourceFile // zone files read, and the files they $INCLUDE

	tsig map[string]*TSIGKey // [[tsig]] keys by name
	xfr  Transfers           // secondary zones' data; nil: none

	addrs   []netip.Addr // scratch for answer: NewSet keeps no reference
	weights []int        // scratch for answer

	scopes     map[string]int // scope name → index
	scopeNames []string

	// mem holds the snapshot's compiled values; tmp the per-name scratch
	// that lives only while a zone compiles.
	mem snapMem
	tmp scratch
	// nodes are the nodes of the zone being compiled, in the order they were
	// made: walking them touches memory in order, where walking z.Nodes
	// would jump about the heap for every name.
	nodes []*Node
	// names[n.names] is what the config says about node n's name while its
	// zone compiles; names[0] is nil, for nodes the config does not name
	// (the apex of a zone without records there, empty non-terminals).
	// Found through the node, it spares a second map of every name.
	names []*nameSets

	// labeled collects the snapshot's per-target and netmask counters, each
	// once (a name's scoped A sets share its netmask counters).
	labeled     SnapshotCounters
	labeledSeen map[Counter]bool
	sharesSeen  map[string]bool

	// siteNames and siteScope are the snapshot's, for the per-site counters;
	// rowTables holds the FirstRow tables made so far (siteRows).
	siteNames []string
	siteScope []int
	// hash sums the config text and the zone files read, for ConfigHash.
	hash      hash.Hash
	rowTables map[string]siteRowTable

	// checkIdx maps a [[check]] name to its index in Snapshot.Checks;
	// pending lists the answer sets checks apply to (resolveChecks).
	checkIdx map[string]int
	pending  []pendingCheck
}

// labeledCounter returns the counter of metric and labels, and lists it in
// *dst for the metrics collector the first time it is handed out.
func (c *compiler) labeledCounter(dst *[]LabeledCounter, metric string, labels ...string) Counter {
	v := c.counters.Get(metric, labels...)
	if c.labeledSeen == nil {
		c.labeledSeen = make(map[Counter]bool)
	}
	if !c.labeledSeen[v] {
		c.labeledSeen[v] = true
		*dst = append(*dst, LabeledCounter{Labels: labels, C: v})
	}
	return v
}

// policy is an ordering policy resolved for one level of the config.
type policy struct {
	ordering.Policy
	noRR []uint16 // no_round_robin_types
	// check is 1 + the index of the [[check]] that applies, 0 for none;
	// checkAll says it was given for the name, and applies to every
	// address and SRV set of it, not only to address sets of several
	// records (appliesCheck).
	check    int
	checkAll bool
}

// record is one parsed record with where it came from. A zone of a million
// names holds a million of them while it compiles: keep it small.
type record struct {
	rr     dns.RR
	src    *recordSrc
	line   int32 // 0: unknown, or to be found through src.zf
	weight int32 // 0: none given
}

// recordSrc is where records come from: a config file (with the record's
// text as written) or a zone file, shared by all its records.
type recordSrc struct {
	file string
	text string
	zf   *zoneFileText
}

// zoneFileText is a zone file's text, kept to find a record's line when an
// error needs it: searching for every record up front would cost a pass over
// the file per record, and even splitting it into lines costs memory that
// only an error needs.
type zoneFileText struct {
	path   string
	text   string
	origin string
	loc    *locator // made on first use
	// noInclude refuses $INCLUDE: transferred data names no local files.
	noInclude bool
}

func (zf *zoneFileText) line(rr dns.RR) int {
	if zf.loc == nil {
		zf.loc = newLocator(zf.text)
	}
	return zf.loc.record(rr, zf.origin)
}

// shown is r as written, or in presentation form for a zone-file record
// (made only for an error: a million of them would cost memory for nothing).
func (r record) shown() string {
	if r.src != nil && r.src.text != "" {
		return r.src.text
	}
	if r.rr == nil {
		return ""
	}
	return r.rr.String()
}

// inZone reports whether name (lower case, fully qualified) is origin or
// below it, without allocating.
func inZone(name, origin string) bool {
	switch {
	case origin == ".":
		return true
	case len(name) == len(origin):
		return name == origin
	case len(name) > len(origin):
		return name[len(name)-len(origin)-1] == '.' && name[len(name)-len(origin):] == origin
	}
	return false
}

// where returns the file and line of r.
func (r record) where() (string, int) {
	if r.src == nil {
		return "", int(r.line)
	}
	if r.line == 0 && r.src.zf != nil {
		return r.src.file, r.src.zf.line(r.rr)
	}
	return r.src.file, int(r.line)
}

// addAt records a problem with the record r, at r's file and line.
func (c *compiler) addAt(r record, field, value, format string, args ...any) {
	file, line := r.where()
	c.errs = append(c.errs, &Error{File: file, Line: line, Field: field, Value: value, Msg: fmt.Sprintf(format, args...)})
}

// scratch holds what a zone's names say while the zone compiles.
type scratch struct {
	names   slab[nameSets]
	records slab[record]
}

// nameSets is what the config says about one owner name. Most names of a
// large zone have zone-file records and nothing else: what a [[zone.name]]
// adds is kept apart, so that they take less memory while they compile.
type nameSets struct {
	plain []record   // unscoped records, from the zone file, records, or a [[zone.name]] without scopes
	table *nameTable // nil when no [[zone.name]] names it
}

// nameTable is what a [[zone.name]] says about its name.
type nameTable struct {
	scoped map[int][]record // scope index → records, for a site-aware name
	deflt  []record         // the default set of a site-aware name
	aware  bool             // the name has [zone.name.scope.X] tables
	pol    *policy          // the name's ordering, nil = the zone's
	where  int              // line of its [[zone.name]], for errors
	wfield string           // field prefix for errors
	// checkLine is the line of its check key, 0 without one.
	checkLine int
}

func (c *compiler) compile(cfg *fileConfig) *Snapshot {
	snap := &Snapshot{ClientSubnet: cfg.Server.ClientSubnet}
	c.server(cfg, snap)
	c.rateLimit(cfg, snap)
	top := c.policy(policy{Policy: ordering.DefaultPolicy()}, cfg.Ordering, c.loc.table(c.loc.whole(), "ordering", 0), "ordering")
	c.sites(cfg, snap)
	c.checks(cfg, snap)
	c.tsigKeys(cfg, snap)

	seen := map[string]int{}
	for i := range cfg.Zone {
		zc := &cfg.Zone[i]
		blk := c.loc.table(c.loc.whole(), "zone", i)
		z := c.zone(zc, blk, top)
		if z == nil {
			continue
		}
		if j, dup := seen[z.Origin]; dup {
			c.addf(c.loc.value(blk, "origin", zc.Origin), "zone", zc.Origin, "origin already served by zone %d", j+1)
			continue
		}
		seen[z.Origin] = i
		snap.Zones = append(snap.Zones, z)
	}
	if len(cfg.Zone) == 0 {
		c.add(0, "zone", "", "no [[zone]]: nothing to serve")
	}
	// Longest origin first, so the first zone containing a name is its
	// closest enclosing zone.
	slices.SortStableFunc(snap.Zones, func(a, b *Zone) int {
		return cmp.Compare(dns.CountLabel(b.Origin), dns.CountLabel(a.Origin))
	})

	for _, z := range snap.Zones {
		if z.DNSSEC != nil && (snap.ResignAt.IsZero() || z.DNSSEC.ResignAt.Before(snap.ResignAt)) {
			snap.ResignAt = z.DNSSEC.ResignAt
		}
	}
	snap.linkTargets(c.mem.wire.targeted)
	c.mem.wire.targeted = nil
	c.resolveChecks(snap)

	snap.Counters.Site = make([]Counter, len(snap.SiteNames))
	for i, n := range snap.SiteNames {
		snap.Counters.Site[i] = c.counters.Get("site_queries", n)
	}
	snap.rotating, c.rotating = c.rotating, nil
	snap.Rotation = &ordering.Rotation{}
	*snap.Rotation, c.rotation = c.rotation, ordering.Rotation{}
	snap.Rotation.Freeze(RotationShards())
	snap.Counters.AnswersFirst = c.labeled.AnswersFirst
	snap.Counters.FirstShares = c.labeled.FirstShares
	snap.Counters.Netmask = c.labeled.Netmask
	snap.Counters.FailOpen = c.labeled.FailOpen
	snap.Counters.Tally = c.counters.Tally()
	return snap
}

// RotationShards is the number of rotation shards a snapshot holds: one
// per CPU and one more, so that the server's UDP readers (one per CPU by
// default) each rotate in a shard of their own and the rest share shard 0.
func RotationShards() int { return max(runtime.GOMAXPROCS(0), runtime.NumCPU()) + 1 }

// server compiles the [server] table.
func (c *compiler) server(cfg *fileConfig, snap *Snapshot) {
	blk := c.loc.table(c.loc.whole(), "server", 0)
	for _, l := range cfg.Server.Listen {
		if _, _, err := net.SplitHostPort(l); err != nil {
			c.add(c.loc.value(blk, "listen", l), "server: listen", l, "want host:port")
		}
	}
	snap.Listen = cfg.Server.Listen
	if m := cfg.Server.MetricsListen; m != nil && *m != "" {
		if _, _, err := net.SplitHostPort(*m); err != nil {
			c.add(c.loc.value(blk, "metrics_listen", *m), "server: metrics_listen", *m, "want host:port, or \"\" for off")
		}
	}
	snap.MetricsListen = cfg.Server.MetricsListen
	for _, s := range cfg.Server.AXFRAllow {
		p, err := parsePrefix(s)
		if err != nil {
			c.add(c.loc.value(blk, "axfr_allow", s), "server: axfr_allow", s, err.Error())
			continue
		}
		snap.AXFRAllow = append(snap.AXFRAllow, p)
	}
	snap.JournalDir = c.journalDir(blk, cfg.Server.JournalDir, len(snap.AXFRAllow) > 0)
	// identity and version are answered as one TXT string each.
	txt := func(key string, v *string) string {
		if v == nil {
			return ""
		}
		if len(*v) > 255 {
			c.add(c.loc.value(blk, key, *v), "server: "+key, *v, "longer than 255 bytes, what one TXT string holds")
			return ""
		}
		return *v
	}
	snap.Identity = txt("identity", cfg.Server.Identity)
	snap.Version = txt("version", cfg.Server.Version)
	snap.MaxUDPSize = DefaultMaxUDPSize
	if m := cfg.Server.MaxUDPSize; m != nil {
		if *m < MinUDPSize || *m > MaxUDPSize {
			c.addf(c.loc.key(blk, "max_udp_size"), "server: max_udp_size", strconv.Itoa(*m), "want %d to %d bytes", MinUDPSize, MaxUDPSize)
		} else {
			snap.MaxUDPSize = *m
		}
	}
}

// journalDir is [server] journal_dir made absolute: relative to the config
// file's directory. A path that is not a directory is an error; a journal
// without axfr_allow, which keeps nothing since nothing is transferred, a
// warning.
func (c *compiler) journalDir(blk span, value string, transfers bool) string {
	if value == "" {
		return ""
	}
	line := c.loc.value(blk, "journal_dir", value)
	dir, ok := c.besideConfig(value, line, "server", "journal_dir")
	if !ok {
		return ""
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		c.add(line, "server: journal_dir", value, "not a directory")
		return ""
	}
	if !transfers {
		c.warns = append(c.warns, &Error{File: c.file, Line: line, Field: "server: journal_dir", Value: value,
			Msg: "no axfr_allow: no zone is transferred, so the journal keeps nothing"})
	}
	return dir
}

// besideConfig is the path that field key gives (a file or directory that
// sitedns writes) made absolute: relative to the config file's directory.
// A relative one in a config without a file is an error at line.
func (c *compiler) besideConfig(path string, line int, field, key string) (string, bool) {
	switch {
	case filepath.IsAbs(path):
		return filepath.Clean(path), true
	case c.dir == "":
		c.add(line, field+": "+key, path, "a relative "+key+" needs a config file to be relative to")
		return "", false
	}
	return filepath.Join(c.dir, path), true
}

// Bounds of [server] max_udp_size. The default is what BIND, Knot and NSD
// send at most over UDP (DNS flag day 2020): larger datagrams are
// IP-fragmented on ordinary links, and fragments get lost or spoofed.
const (
	DefaultMaxUDPSize = 1232
	MinUDPSize        = 512  // RFC 1035 §4.2.1: every client takes this
	MaxUDPSize        = 4096 // the largest the server's buffers hold
)

// parsePrefix accepts a prefix or a bare address (a /32 or /128). A prefix
// with bits set past its length is refused, not masked.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an address or prefix")
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a prefix (want e.g. 10.2.0.0/16)")
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if m := p.Masked(); m != p {
		// 10.2.1.0/16 is a typo for /24 as often as for 10.2.0.0: say so
		// rather than guess, as sitedns scaffold does.
		return netip.Prefix{}, fmt.Errorf("host bits set; did you mean %q?", m.String())
	}
	return p, nil
}

// sites compiles the [[site]] tables: names, the prefix table and scopes.
func (c *compiler) sites(cfg *fileConfig, snap *Snapshot) {
	c.scopes = map[string]int{}
	snap.SiteNames = []string{"unknown"}
	snap.SiteScope = []int{-1}
	names := map[string]int{}
	owner := map[netip.Prefix]string{}
	var subnets [][]netip.Prefix
	for i, sc := range cfg.Site {
		blk := c.loc.table(c.loc.whole(), "site", i)
		field := fmt.Sprintf("site %q", sc.Name)
		switch {
		case sc.Name == "":
			c.add(c.loc.key(blk, "name"), fmt.Sprintf("site %d: name", i+1), "", "missing")
		case strings.EqualFold(sc.Name, "unknown"):
			c.add(c.loc.value(blk, "name", sc.Name), field+": name", sc.Name, "reserved for clients in no site")
		default:
			if j, dup := names[sc.Name]; dup {
				c.addf(c.loc.value(blk, "name", sc.Name), field+": name", sc.Name, "duplicate site (also site %d)", j+1)
			}
			names[sc.Name] = i
		}
		if len(sc.Subnets) == 0 {
			c.add(c.loc.key(blk, "subnets"), field+": subnets", "", "a site needs at least one subnet")
		}
		var ps []netip.Prefix
		for _, s := range sc.Subnets {
			p, err := parsePrefix(s)
			if err != nil {
				c.add(c.loc.value(blk, "subnets", s), field+": subnets", s, err.Error())
				continue
			}
			if o, ok := owner[p]; ok && o != sc.Name {
				c.addf(c.loc.value(blk, "subnets", s), field+": subnets", s, "subnet %s is already site %q's", p, o)
				continue
			}
			owner[p] = sc.Name
			ps = append(ps, p)
		}
		subnets = append(subnets, ps)
		scope := -1
		if sc.Scope != "" {
			if strings.EqualFold(sc.Scope, "default") {
				c.add(c.loc.value(blk, "scope", sc.Scope), field+": scope", sc.Scope, "reserved: the default answer set is [zone.name.default]")
			}
			j, ok := c.scopes[sc.Scope]
			if !ok {
				j = len(c.scopeNames)
				c.scopes[sc.Scope] = j
				c.scopeNames = append(c.scopeNames, sc.Scope)
			}
			scope = j
		}
		snap.SiteNames = append(snap.SiteNames, sc.Name)
		snap.SiteScope = append(snap.SiteScope, scope)
	}
	snap.ScopeNames = c.scopeNames
	c.siteNames, c.siteScope = snap.SiteNames, snap.SiteScope
	sites, err := ordering.NewSites(subnets)
	if err != nil {
		c.add(0, "site", "", err.Error())
		return
	}
	snap.Sites = sites
}

// policy resolves an [ordering] table over base.
func (c *compiler) policy(base policy, oc *orderingConfig, blk span, field string) policy {
	p := base
	if oc == nil {
		return p
	}
	if oc.Mode != nil {
		m, err := ordering.ParseMode(*oc.Mode)
		if err != nil {
			c.add(c.loc.value(blk, "mode", *oc.Mode), field+": mode", *oc.Mode, "want windows2003, windows2000 or none")
		}
		p.Mode = m
	}
	if oc.RoundRobin != nil {
		p.RoundRobin = *oc.RoundRobin
	}
	if oc.NetmaskOrdering != nil {
		p.NetmaskOrdering = *oc.NetmaskOrdering
	}
	if oc.Netmask != nil {
		m, err := ordering.ParseNetmask(*oc.Netmask)
		if err != nil {
			c.add(c.loc.value(blk, "netmask", *oc.Netmask), field+": netmask", *oc.Netmask, err.Error())
		}
		p.Netmask = m
	}
	if oc.RemoteOrder != nil {
		o, err := ordering.ParseRemoteOrder(*oc.RemoteOrder)
		if err != nil {
			c.add(c.loc.value(blk, "remote_order", *oc.RemoteOrder), field+": remote_order", *oc.RemoteOrder, "want rotate or fixed")
		}
		p.RemoteOrder = o
	}
	if oc.NoRoundRobinTypes != nil {
		p.noRR = nil
		for _, t := range *oc.NoRoundRobinTypes {
			v, ok := dns.StringToType[strings.ToUpper(t)]
			if !ok {
				c.add(c.loc.value(blk, "no_round_robin_types", t), field+": no_round_robin_types", t, "unknown record type")
				continue
			}
			p.noRR = append(p.noRR, v)
		}
	}
	if oc.IPv6Prefix != nil {
		v := *oc.IPv6Prefix
		if v < 0 || v > 128 {
			c.add(c.loc.key(blk, "ipv6_prefix"), field+": ipv6_prefix", fmt.Sprint(v), "want 0 (off) to 128")
			v = 0
		}
		p.IPv6Prefix = v
	}
	return p
}

// zone compiles one [[zone]].
func (c *compiler) zone(zc *zoneConfig, blk span, top policy) *Zone {
	field := fmt.Sprintf("zone %q", zc.Origin)
	if zc.Origin == "" {
		c.add(c.loc.key(blk, "origin"), "zone: origin", "", "missing")
		return nil
	}
	origin := strings.ToLower(dns.Fqdn(zc.Origin))
	if _, ok := dns.IsDomainName(origin); !ok {
		c.add(c.loc.value(blk, "origin", zc.Origin), field+": origin", zc.Origin, "not a domain name")
		return nil
	}
	zpol := c.policy(top, zc.Ordering, c.loc.table(blk, "zone.ordering", 0), field+": ordering")
	zpol.check = c.checkRef(zc.Check, c.loc.value(blk, "check", zc.Check), field+": check")
	var zf *zoneFileText
	if zc.File != "" {
		zf = c.readZoneFile(zc.File, origin, c.loc.value(blk, "file", zc.File), field)
	}
	// Sized for one name per line or record, the common zone, so that a
	// zone of a million names does not rehash its maps twenty times.
	size := len(zc.Records) + len(zc.Name)
	if zf != nil {
		size += strings.Count(zf.text, "\n")
	}
	z := &Zone{Origin: origin, Nodes: make(map[string]*Node, size+size/8)}
	z.Secondary = c.secondary(zc, blk, field, z)
	c.nodes = make([]*Node, 0, size+1)
	c.names = make([]*nameSets, 1, size+1)
	get := func(owner string) *nameSets {
		n := z.Nodes[owner]
		if n == nil {
			n = c.newNode(z, owner)
			n.names = int32(len(c.names))
			c.names = append(c.names, c.tmp.names.new())
		}
		return c.names[n.names]
	}
	addPlain := func(r record, field string) {
		if !c.checkNames(r, field) {
			return
		}
		owner := strings.ToLower(r.rr.Header().Name)
		if !inZone(owner, origin) {
			c.addAt(r, field, r.shown(), "owner %s is outside zone %s", r.rr.Header().Name, origin)
			return
		}
		r.rr.Header().Name = owner
		ns := get(owner)
		ns.plain = c.tmp.records.append(ns.plain, r)
	}

	var xsrc *recordSrc // a secondary zone's transferred records
	if z.Secondary != nil {
		xsrc = c.transferred(z, addPlain)
	} else if zf != nil {
		c.parseZoneFile(zf, func(r record) { addPlain(r, "") })
	}
	lines := c.loc.quoted(blk)
	for k, s := range zc.Records {
		line, ok := lines[s]
		if !ok {
			line = c.loc.key(blk, "records")
		}
		rr, err := parseRecord(s, origin, "")
		if err != nil {
			c.addf(line, fmt.Sprintf("%s: records[%d]", field, k), s, "%v", err)
			continue
		}
		addPlain(record{rr: rr, src: &recordSrc{file: c.file, text: s}, line: int32(line)}, fmt.Sprintf("%s: records[%d]", field, k))
	}

	nameBlk := blk
	for k := range zc.Name {
		nc := &zc.Name[k]
		nb := c.loc.table(nameBlk, "zone.name", k)
		c.name(nc, nb, origin, field, zpol, get)
	}
	if xsrc != nil {
		owners := make([]string, len(zc.Name))
		for k := range zc.Name {
			owners[k] = ownerName(zc.Name[k].Name, origin)
		}
		c.overlay(z, xsrc, owners)
	}

	for _, n := range c.nodes {
		c.node(z, n, c.names[n.names], zpol)
	}
	c.apex(z, blk, field)
	c.validate(z, field)
	c.entsAndWildcards(z)
	c.views(z)
	if zc.DNSSEC != nil {
		c.sign(z, zc.DNSSEC, c.loc.table(blk, "zone.dnssec", 0), field+": dnssec")
	}
	c.nodes, c.names, c.tmp = nil, nil, scratch{}
	return z
}

// name compiles one [[zone.name]] into the name's sets.
func (c *compiler) name(nc *nameConfig, blk span, origin, zfield string, zpol policy, get func(string) *nameSets) {
	if nc.Name == "" {
		c.add(c.loc.key(blk, "name"), zfield+": name", "", "missing")
		return
	}
	owner := ownerName(nc.Name, origin)
	field := fmt.Sprintf("%s: name %q", zfield, nc.Name)
	line := c.loc.value(blk, "name", nc.Name)
	if p := nameProblem(owner); p != "" {
		c.add(line, field, nc.Name, p)
		return
	}
	if _, ok := dns.IsDomainName(owner); !ok {
		c.add(line, field, nc.Name, "not a domain name")
		return
	}
	if !dns.IsSubDomain(origin, owner) {
		c.addf(line, field, nc.Name, "outside zone %s", origin)
		return
	}
	ns := get(owner)
	if ns.table == nil {
		ns.table = &nameTable{}
	}
	t := ns.table
	if t.where != 0 {
		c.addf(line, field, nc.Name, "name configured twice (also line %d)", t.where)
		return
	}
	t.where, t.wfield = line, field
	if nc.Ordering != nil {
		p := c.policy(zpol, nc.Ordering, c.loc.table(blk, "zone.name.ordering", 0), field+": ordering")
		t.pol = &p
	}
	if nc.Check != "" {
		line := c.loc.value(blk, "check", nc.Check)
		if k := c.checkRef(nc.Check, line, field+": check"); k > 0 {
			p := zpol
			if t.pol != nil {
				p = *t.pol
			}
			p.check, p.checkAll = k, true
			t.pol, t.checkLine = &p, line
		}
	}
	parse := func(list []string, weights []int, sfield string, sblk span) []record {
		if weights != nil && len(weights) != len(list) {
			c.addf(c.loc.key(sblk, "weights"), sfield+": weights", "", "%d weights for %d records", len(weights), len(list))
			weights = nil
		}
		var out []record
		for i, s := range list {
			l := c.loc.value(sblk, "records", s)
			rr, err := parseRecord(s, origin, owner)
			if err != nil {
				c.addf(l, fmt.Sprintf("%s: records[%d]", sfield, i), s, "%v", err)
				continue
			}
			r := record{rr: rr, src: &recordSrc{file: c.file, text: s}, line: int32(l)}
			if !c.checkNames(r, fmt.Sprintf("%s: records[%d]", sfield, i)) {
				continue
			}
			if weights != nil {
				if weights[i] < 1 {
					c.addf(c.loc.key(sblk, "weights"), sfield+": weights", fmt.Sprint(weights[i]), "a weight must be at least 1")
				}
				r.weight = int32(min(weights[i], ordering.MaxWeight+1))
			}
			out = append(out, r)
		}
		return out
	}
	if len(nc.Scope) == 0 {
		if nc.Default != nil {
			c.add(line, field+": default", "", "a default answer set needs at least one [zone.name.scope.X]; use records for a plain name")
		}
		ns.plain = append(ns.plain, parse(nc.Records, nc.Weights, field, blk)...)
		return
	}
	t.aware = true
	t.scoped = map[int][]record{}
	if len(nc.Records) > 0 && nc.Default != nil {
		c.add(c.loc.key(blk, "records"), field+": records", "", "both records and [zone.name.default] given; records is the default set of a site-aware name")
	}
	if nc.Default != nil {
		t.deflt = parse(nc.Default.Records, nc.Default.Weights, field+": default", c.loc.table(blk, "zone.name.default", 0))
	} else {
		t.deflt = parse(nc.Records, nc.Weights, field, blk)
	}
	scopes := make([]string, 0, len(nc.Scope))
	for s := range nc.Scope {
		scopes = append(scopes, s)
	}
	slices.Sort(scopes)
	for _, s := range scopes {
		ac := nc.Scope[s]
		sblk := c.loc.table(blk, "zone.name.scope."+s, 0)
		if sblk.to == 0 {
			sblk = c.loc.table(blk, "zone.name.scope."+quoteKey(s), 0)
		}
		j, ok := c.scopes[s]
		if !ok {
			c.addf(c.loc.key(sblk, "records"), field+": scope", s, "no [[site]] has scope %q (scopes: %s)", s, strings.Join(c.scopeNames, ", "))
			continue
		}
		t.scoped[j] = parse(ac.Records, ac.Weights, fmt.Sprintf("%s: scope %q", field, s), sblk)
	}
}

// quoteKey is a TOML key as a quoted key, for scope names that need quoting.
func quoteKey(s string) string { return `"` + s + `"` }

// ownerName makes a [[zone.name]] name absolute: "@" is the origin, a name
// ending in a dot is absolute, anything else is relative to the origin.
func ownerName(name, origin string) string {
	name = strings.ToLower(name)
	switch {
	case name == "@":
		return origin
	case strings.HasSuffix(name, "."):
		return name
	case origin == ".":
		return name + "."
	default:
		return name + "." + origin
	}
}

// parseRecord parses one record in zone-file syntax. With owner set, the
// text has no owner of its own ("300 IN A 10.1.1.10").
func parseRecord(s, origin, owner string) (dns.RR, error) {
	if strings.ContainsAny(s, "\n\r") {
		return nil, fmt.Errorf("one record per string, no line breaks")
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, fmt.Errorf("empty record")
	}
	if strings.HasPrefix(t, "$") {
		return nil, fmt.Errorf("directives belong in zone files")
	}
	if owner != "" {
		t = owner + " " + t
	}
	zp := dns.NewZoneParser(strings.NewReader(t), origin, "")
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, cleanParseError(err)
	}
	if !ok || rr == nil {
		return nil, fmt.Errorf("no record")
	}
	if _, more := zp.Next(); more {
		return nil, fmt.Errorf("more than one record in one string")
	}
	if rr.Header().Class != dns.ClassINET {
		return nil, fmt.Errorf("class %s: only IN is served", dns.ClassToString[rr.Header().Class])
	}
	return rr, nil
}

// cleanParseError drops the position miekg/dns adds for a one-line input
// (the config error names the line).
func cleanParseError(err error) error {
	return fmt.Errorf("%s", parseErrorText(err))
}

// hashFile adds a zone file, as the config names it, to the config hash:
// its name's and its text's lengths first, so that no two lists of files
// sum alike.
func (c *compiler) hashFile(name, text string) {
	if c.hash == nil {
		return
	}
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(len(name)))
	binary.BigEndian.PutUint64(n[8:], uint64(len(text)))
	c.hash.Write(n[:])
	io.WriteString(c.hash, name)
	io.WriteString(c.hash, text)
}

// readZoneFile reads the zone file a config names, relative to the config.
func (c *compiler) readZoneFile(name, origin string, line int, field string) *zoneFileText {
	if c.dir == "" {
		c.add(line, field+": file", name, "zone files are not allowed in this config")
		return nil
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.dir, name)
	}
	text, err := readText(path)
	if err != nil {
		c.add(line, field+": file", name, err.Error())
		return nil
	}
	c.hashFile(name, text)
	c.noteFile(path, text, 0)
	return &zoneFileText{text: text, origin: origin, loc: nil, path: path}
}

// parseZoneFile parses an RFC 1035 zone file with $ORIGIN, $TTL and
// $INCLUDE, handing each record to add as it comes. The common file takes
// scanZoneFile's fast path; anything else, and every error, miekg/dns's
// ZoneParser.
func (c *compiler) parseZoneFile(zf *zoneFileText, add func(record)) {
	src := &recordSrc{file: zf.path, zf: zf}
	if rrs, ok := scanZoneFile(zf.text, zf.origin); ok {
		for _, rr := range rrs {
			add(record{rr: rr, src: src})
		}
		return
	}
	zp := dns.NewZoneParser(strings.NewReader(zf.text), zf.origin, zf.path)
	zp.SetIncludeAllowed(!zf.noInclude)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		r := record{rr: rr, src: src}
		if rr.Header().Class != dns.ClassINET {
			c.addAt(r, "", r.shown(), "only class IN is served")
			continue
		}
		add(r)
	}
	if err := zp.Err(); err != nil {
		e := &Error{File: zf.path, Msg: err.Error()}
		if pe, ok := err.(*dns.ParseError); ok {
			e.Msg = parseErrorText(pe)
			e.Line = parseErrorLine(pe)
		}
		c.errs = append(c.errs, e)
	}
}

// parseErrorText is a miekg/dns parse error without the file name, the
// "dns:" prefix and the position, which the config error carries itself,
// and with miekg/dns's "bad <type> <field>" in words (rdataError):
// `A record: "10.0.0.300" is not an IPv4 address`.
func parseErrorText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "dns: "); i >= 0 {
		msg = msg[i+len("dns: "):]
	}
	if i := strings.LastIndex(msg, " at line: "); i >= 0 {
		msg = msg[:i]
	}
	return rdataError(msg)
}

// badRdata is miekg/dns's message for a record field it cannot parse:
// "bad A A: "10.0.0.300"", "bad MX Pref: "x"".
var badRdata = regexp.MustCompile(`^bad ([A-Z0-9]+) ([A-Za-z]+): (".*")$`)

// rdataFields says what a field miekg/dns names wants.
var rdataFields = map[string]string{
	"A": "an IPv4 address", "AAAA": "an IPv6 address",
	"Pref": "a number from 0 to 65535", "Preference": "a number from 0 to 65535", "Priority": "a number from 0 to 65535",
	"Weight": "a number from 0 to 65535", "Port": "a number from 0 to 65535",
	"Mx": "a domain name", "Target": "a domain name", "Ns": "a domain name", "Ptr": "a domain name", "Cname": "a domain name",
}

func rdataError(msg string) string {
	m := badRdata.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want, ok := rdataFields[m[2]]
	if !ok {
		return m[1] + " record: " + m[3] + ": not a valid " + m[2]
	}
	return m[1] + " record: " + m[3] + " is not " + want
}

// parseErrorLine digs the line out of a miekg/dns ParseError's text.
func parseErrorLine(pe *dns.ParseError) int {
	s := pe.Error()
	i := strings.Index(s, "at line: ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, ch := range s[i+len("at line: "):] {
		if ch < '0' || ch > '9' {
			break
		}
		n = n*10 + int(ch-'0')
	}
	return n
}

// record finds the line of a zone-file record, best effort: the first line
// naming its owner (absolute or relative) and its type.
func (l *locator) record(rr dns.RR, origin string) int {
	h := rr.Header()
	owner := strings.ToLower(h.Name)
	rel := strings.TrimSuffix(strings.TrimSuffix(owner, origin), ".")
	typ := dns.TypeToString[h.Rrtype]
	for i, s := range l.lines {
		f := strings.Fields(strings.ToLower(s))
		if len(f) < 2 {
			continue
		}
		if f[0] != owner && f[0] != rel && !(owner == origin && f[0] == "@") {
			continue
		}
		for _, w := range f[1:] {
			if strings.EqualFold(w, typ) {
				return i + 1
			}
		}
	}
	return 0
}
