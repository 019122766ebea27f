package scaffold

import (
	"fmt"
	"net/netip"
	"strings"
)

// The sections of a zone, in the order they are written.
const (
	secApex = iota
	secSIP
	secEdge
	secExchange
	secCWA
	secHosts
	numSections
)

var sectionTitle = [numSections]string{
	secApex: "Zone apex: SOA, name server, mail exchanger.",
	secSIP: "OCS sign-in. Communicator asks for _sipinternaltls._tcp, _sipinternal._tcp (only if TCP\n" +
		"is allowed) and _sip._tls in parallel and takes the first that answers, in that order;\n" +
		"without SRV records it falls back to the A records sipinternal, sip, sipexternal.",
	secEdge: "Edge, external names, the same for everyone. Remote users sign in through _sip._tls\n" +
		"on 443; federated partners find the Access Edge through _sipfederationtls._tcp on 5061.",
	secExchange: "Exchange. Outlook 2007/2010 outside the domain tries https://<domain>/autodiscover,\n" +
		"then https://autodiscover.<domain>, then the _autodiscover._tcp SRV record (it uses\n" +
		"targets on port 443 only). Inside, Outlook finds Autodiscover through the AD SCP.",
	secCWA:   "Communicator Web Access. download.cwa and as.cwa (desktop sharing) are aliases of cwa.",
	secHosts: "Server host names.",
}

var sectionName = [numSections]string{
	secApex: "apex", secSIP: "OCS sign-in", secEdge: "Edge", secExchange: "Exchange",
	secCWA: "Communicator Web Access", secHosts: "server host names",
}

// alignRR pads "TTL IN TYPE data" into columns.
func alignRR(r string) string {
	f := strings.SplitN(r, " ", 4)
	if len(f) != 4 {
		return r
	}
	return fmt.Sprintf("%4s %s %-5s %s", f[0], f[1], f[2], f[3])
}

// entry is one owner name and what each kind of client gets for it.
type entry struct {
	owner   string // FQDN
	section int
	comment string
	// role and field say which answer named the owner, for collision errors.
	role, field string
	// plain are the records everyone gets (data after the owner:
	// "300 IN A 10.1.1.10"); used when aware is false.
	plain []string
	aware bool
	// internal[scope] is what clients of the scope get; def is what everyone
	// else gets (nil: nothing, the name is internal only).
	internal map[string][]string
	def      []string
}

// zoneOut is one zone's entries, in the order they were added.
type zoneOut struct {
	origin  string
	entries []*entry
}

// collision is two roles claiming one owner name.
type collision struct{ field, name, msg string }

// build lays out every record of the lab, zone by zone. It fails only when
// two roles claim the same name.
func build(l *Lab) ([]*zoneOut, *collision) {
	y := newLayout(l)
	y.apexes()
	for _, d := range l.SIPDomains {
		y.signIn(d)
		y.edgeSRV(d)
	}
	y.edgeNames()
	y.exchange()
	y.cwa()
	y.hosts()
	if y.clash != nil {
		return nil, y.clash
	}
	return y.zones, nil
}

// layout is one build in progress: the lab's zones and their entries so
// far, every owner claimed so far, and the first collision. Entries are
// kept in the order they are added; after a collision nothing more is.
type layout struct {
	l        *Lab
	zones    []*zoneOut
	byOrigin map[string]*zoneOut
	owners   map[string]*entry
	clash    *collision
}

func newLayout(l *Lab) *layout {
	y := &layout{l: l, zones: make([]*zoneOut, len(l.Zones)), byOrigin: map[string]*zoneOut{}, owners: map[string]*entry{}}
	for i, z := range l.Zones {
		y.zones[i] = &zoneOut{origin: z}
		y.byOrigin[z] = y.zones[i]
	}
	return y
}

// add places e in the zone of its owner, or records the collision when
// another role already claimed the owner.
func (y *layout) add(e *entry) {
	if y.clash != nil {
		return
	}
	if prev, ok := y.owners[e.owner]; ok {
		y.clash = &collision{field: e.field, name: e.owner,
			msg: fmt.Sprintf("is both the %s and the %s; give them different names", prev.role, e.role)}
		return
	}
	y.owners[e.owner] = e
	z := y.byOrigin[y.l.ZoneOf(e.owner)]
	z.entries = append(z.entries, e)
}

// rr is a record's data after the owner, at the lab's TTL ("300 IN A 10.1.1.10").
func (y *layout) rr(typ, data string) string { return fmt.Sprintf("%d IN %s %s", y.l.TTL, typ, data) }

// addrRR is the A or AAAA record of ip.
func (y *layout) addrRR(ip netip.Addr) string {
	if ip.Is4() {
		return y.rr("A", ip.String())
	}
	return y.rr("AAAA", ip.String())
}

// everyScope gives recs to the clients of every scope.
func (y *layout) everyScope(recs []string) map[string][]string {
	m := map[string][]string{}
	for _, s := range y.l.Scopes {
		m[s] = recs
	}
	return m
}

// internalOnly adds an owner whose records only the clients in a site get.
func (y *layout) internalOnly(owner string, sec int, role, field, comment string, recs ...string) {
	y.add(&entry{owner: owner, section: sec, role: role, field: field, comment: comment,
		aware: true, internal: y.everyScope(recs)})
}

// plain adds an owner whose records everyone gets.
func (y *layout) plain(owner string, sec int, role, field, comment string, recs ...string) {
	y.add(&entry{owner: owner, section: sec, role: role, field: field, comment: comment, plain: recs})
}

// apexes adds each zone's SOA, its NS when the name server has an
// address, and the MX in the SMTP domains.
func (y *layout) apexes() {
	l := y.l
	for _, z := range l.Zones {
		recs := []string{fmt.Sprintf("3600 IN SOA %s. %s. %d 3600 600 86400 300", l.NS.FQDN, l.Hostmaster, l.Serial)}
		if l.NS.Addr.IsValid() {
			recs = append(recs, fmt.Sprintf("3600 IN NS %s.", l.NS.FQDN))
		}
		if l.Exchange != nil && contains(l.SMTPDomains, z) {
			recs = append(recs, y.rr("MX", fmt.Sprintf("%d %s.", l.Exchange.MXPref, l.Exchange.Mail)))
		}
		y.plain(z, secApex, "zone apex", "sip_domains", "", recs...)
	}
}

// signIn adds the OCS sign-in names of SIP domain d: the internal SRV
// records, the sipinternal fallback and sip, split when there is an Edge.
func (y *layout) signIn(d string) {
	l, pool := y.l, y.l.Pool
	target := pool.FQDN
	if !strings.HasSuffix(pool.FQDN, "."+d) {
		// The SRV target must lie in the SIP domain itself.
		target = "sipinternal." + d
	}
	y.internalOnly("_sipinternaltls._tcp."+d, secSIP, "internal sign-in SRV record", "sip_domains",
		"Internal sign-in over TLS: exactly one SRV record, to the pool. Internal only.",
		y.rr("SRV", "0 0 5061 "+target+"."))
	if pool.AllowTCP {
		y.internalOnly("_sipinternal._tcp."+d, secSIP, "internal sign-in SRV record (TCP)", "pool.allow_tcp",
			"Internal sign-in over TCP (allow_tcp): internal clients only; external clients must use TLS.",
			y.rr("SRV", "0 0 5060 "+target+"."))
	}
	y.internalOnly("sipinternal."+d, secSIP, "sipinternal fallback name", "sip_domains",
		"Fallback A record for internal clients: the pool. Internal only.", y.addrRR(pool.Addr))
	sip := &entry{owner: "sip." + d, section: secSIP, role: "sip name", field: "sip_domains", aware: true,
		internal: y.everyScope([]string{y.addrRR(pool.Addr)})}
	if l.Edge != nil {
		sip.def = []string{y.addrRR(l.Edge.Access.Addr)}
		sip.comment = "Split: inside, sip is the pool (automatic configuration; the pool certificate\n" +
			"carries the name); outside, the Access Edge (the Edge certificate's subject name)."
	} else {
		sip.comment = "The pool, for internal clients (automatic configuration). Internal only: no Edge."
	}
	y.add(sip)
}

// edgeSRV adds the remote access and federation SRV records of SIP domain
// d and its sipexternal fallback, when there is an Edge.
func (y *layout) edgeSRV(d string) {
	e := y.l.Edge
	if e == nil {
		return
	}
	y.plain("_sip._tls."+d, secEdge, "remote access SRV record", "edge.access", "",
		y.rr("SRV", "0 0 443 sip."+d+"."))
	y.plain("_sipfederationtls._tcp."+d, secEdge, "federation SRV record", "edge.access", "",
		y.rr("SRV", "0 0 5061 sip."+d+"."))
	y.plain("sipexternal."+d, secEdge, "sipexternal fallback name", "edge.access", "",
		y.addrRR(e.Access.Addr))
}

// edgeNames adds the Web Conferencing and A/V Edge names, when there is an Edge.
func (y *layout) edgeNames() {
	e := y.l.Edge
	if e == nil {
		return
	}
	y.plain(e.WebConf.FQDN, secEdge, "Web Conferencing Edge name", "edge.webconf_name", "", y.addrRR(e.WebConf.Addr))
	if e.AV.Addr.IsValid() {
		y.plain(e.AV.FQDN, secEdge, "A/V Edge name", "edge.av_name", "", y.addrRR(e.AV.Addr))
	}
}

// exchange adds autodiscover and its SRV record in each SMTP domain, the
// mail name and the affinity names, when there is Exchange.
func (y *layout) exchange() {
	l, x := y.l, y.l.Exchange
	if x == nil {
		return
	}
	perScope := y.casByScope()
	var def []string
	if x.External.IsValid() {
		def = []string{y.addrRR(x.External)}
	}
	splitComment := "Split: clients in a site get the CAS of their own scope (netmask ordering puts\n" +
		"the CAS of their own /24 first, round robin spreads the rest); everyone else gets\n" +
		"the published address."
	if def == nil {
		splitComment = "Clients in a site get the CAS of their own scope. Internal only: no external address."
	}
	for _, d := range l.SMTPDomains {
		y.add(&entry{owner: "autodiscover." + d, section: secExchange, role: "Autodiscover name", field: "smtp_domains",
			comment: "Autodiscover for " + d + ".\n" + splitComment, aware: true, internal: perScope, def: def})
		y.plain("_autodiscover._tcp."+d, secExchange, "Autodiscover SRV record", "smtp_domains", "",
			y.rr("SRV", "0 0 443 "+x.Mail+"."))
	}
	y.add(&entry{owner: x.Mail, section: secExchange, role: "mail name (OWA, Outlook Anywhere, EWS)", field: "exchange.mail",
		comment: "OWA, Outlook Anywhere and EWS; the MX and _autodiscover._tcp target. " + splitComment,
		aware:   true, internal: perScope, def: def})
	if x.Affinity {
		y.affinityNames()
	}
}

// casByScope gives each scope the addresses of its own CAS, or of every
// CAS when it has none (as Outlook would pick any).
func (y *layout) casByScope() map[string][]string {
	perScope := map[string][]string{}
	for _, s := range y.l.Scopes {
		cas := y.l.ScopeCAS(s)
		if len(cas) == 0 {
			cas = y.l.CAS() // no CAS of its own: any CAS, as Outlook would pick one
		}
		for _, c := range cas {
			perScope[s] = append(perScope[s], y.addrRR(c.Addr))
		}
	}
	return perScope
}

// affinityNames adds affinity<scope> in the primary SMTP domain for each
// scope with a CAS of its own: round robin over those CAS, internal only.
func (y *layout) affinityNames() {
	smtp := y.l.PrimarySMTP()
	for _, s := range y.l.Scopes {
		cas := y.l.ScopeCAS(s)
		if len(cas) == 0 {
			continue
		}
		var recs []string
		for _, c := range cas {
			recs = append(recs, y.addrRR(c.Addr))
		}
		y.internalOnly("affinity"+strings.ToLower(s)+"."+smtp, secExchange,
			"affinity name of scope "+s, "exchange.affinity_names",
			fmt.Sprintf("Autodiscover site affinity for scope %s: set AutodiscoverServiceInternalUri of its CAS to\n"+
				"https://affinity%s.%s/Autodiscover/Autodiscover.xml and AutodiscoverSiteScope to its\n"+
				"sites. Round robin over the scope's CAS. Internal only.",
				s, strings.ToLower(s), smtp),
			recs...)
	}
}

// cwa adds the CWA name, split when it has an external address, and its
// desktop sharing aliases, when there is CWA.
func (y *layout) cwa() {
	w := y.l.CWA
	if w == nil {
		return
	}
	e := &entry{owner: w.FQDN, section: secCWA, role: "CWA name", field: "cwa.name", aware: true,
		internal: y.everyScope([]string{y.addrRR(w.Internal)})}
	if w.External.IsValid() {
		e.def = []string{y.addrRR(w.External)}
		e.comment = "Split: the CWA server inside, the reverse proxy outside."
	} else {
		e.comment = "The CWA server. Internal only."
	}
	y.add(e)
	for _, p := range []string{"download.", "as."} {
		y.plain(p+w.FQDN, secCWA, "CWA desktop sharing alias", "cwa.name", "", y.rr("CNAME", w.FQDN+"."))
	}
}

// hosts adds the servers' own host names: the name server, the pool and
// its web farms, the Edge's internal name and every CAS.
func (y *layout) hosts() {
	l, pool := y.l, y.l.Pool
	if l.NS.Addr.IsValid() {
		y.plain(l.NS.FQDN, secHosts, "name server", "dns.nameserver", "", y.addrRR(l.NS.Addr))
	}
	y.internalOnly(pool.FQDN, secHosts, "pool FQDN", "pool.fqdn",
		"The pool (its load balancer VIP, or the Standard Edition server). Internal only.", y.addrRR(pool.Addr))
	if pool.WebFarmInternal != pool.FQDN {
		y.internalOnly(pool.WebFarmInternal, secHosts, "internal web farm FQDN", "pool.web_farm_internal",
			"Internal web farm FQDN (address book, group expansion, meeting content). Internal only.", y.addrRR(pool.Addr))
	}
	if pool.WebFarmExternal != "" && l.ReverseProxy != nil {
		y.plain(pool.WebFarmExternal, secHosts, "external web farm FQDN", "pool.web_farm_external", "",
			y.addrRR(l.ReverseProxy.Addr))
	}
	if l.Edge != nil {
		y.internalOnly(l.Edge.Internal.FQDN, secHosts, "Edge internal FQDN", "edge.internal_fqdn",
			"The Edge server's internal interface (next hop from the pool; A/V authentication). Internal only.",
			y.addrRR(l.Edge.Internal.Addr))
	}
	for _, s := range l.Sites {
		for _, c := range s.CAS {
			y.internalOnly(c.FQDN, secHosts, "CAS "+c.Name, "site.cas.fqdn",
				fmt.Sprintf("CAS %s in site %s. Internal only.", c.Name, s.Name), y.addrRR(c.Addr))
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// relative returns owner relative to origin ("@" for the apex).
func relative(owner, origin string) string {
	if owner == origin {
		return "@"
	}
	return strings.TrimSuffix(owner, "."+origin)
}

// Config returns the sitedns TOML configuration for the lab: sites, the
// ordering settings and one zone per domain, commented.
func Config(l *Lab) []byte {
	zs, clash := build(l)
	if clash != nil {
		// Validate rejects colliding names; a Lab built by hand may not.
		panic("scaffold: " + clash.name + " " + clash.msg)
	}
	c := &configWriter{}
	c.header(l)
	c.server(l)
	c.ordering()
	c.sites(l)
	for _, z := range zs {
		c.records(z)
		c.names(z, l.Scopes)
	}
	return []byte(strings.TrimRight(c.b.String(), "\n") + "\n")
}

// configWriter writes a configuration, part by part, in the order Config
// calls them.
type configWriter struct{ b strings.Builder }

func (c *configWriter) w(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

// comment writes text as comment lines, each indented.
func (c *configWriter) comment(indent, text string) {
	for _, line := range strings.Split(text, "\n") {
		c.w("%s# %s\n", indent, line)
	}
}

// header writes what the file is, where it came from and how split DNS
// reads in it.
func (c *configWriter) header(l *Lab) {
	c.w("# sitedns configuration for the OCS 2007 R2 + Exchange 2007/2010 lab of %s.\n", strings.Join(l.Zones, ", "))
	c.w("# Written by \"sitedns scaffold\" from %s. Check it after any edit with\n", l.Source)
	c.w("#   sitedns check -config FILE\n#\n")
	c.w("# Split DNS. Each [[site]] carries a scope (%s). A client whose address lies in a site's\n", strings.Join(l.Scopes, ", "))
	c.w("# subnets gets the internal answers, the [zone.name.scope.<scope>] sets. Every other client (the\n")
	c.w("# Internet, an unknown subnet) gets the [zone.name.default] set, or nothing where a name has no\n")
	c.w("# default set: those names are internal only. Plain records are the same for everyone.\n")
	c.w("#\n# The certificate names and the ports to open: sitedns scaffold -plan with the same answers.\n\n")
}

// server writes [server] with the lab's listen addresses, or commented out
// with a suggestion when it has none.
func (c *configWriter) server(l *Lab) {
	if len(l.Listen) > 0 {
		c.w("[server]\nlisten = %s\n\n", quoteList(l.Listen))
		return
	}
	c.w("# [server]\n")
	if l.NS.Addr.IsValid() {
		c.w("# listen = [%q]   # where the lab's clients send their queries; -listen overrides\n\n", netip.AddrPortFrom(l.NS.Addr, 53).String())
	} else {
		c.w("# listen = [\"0.0.0.0:53\"]   # where the lab's clients send their queries; -listen overrides\n\n")
	}
}

// ordering writes [ordering]: Windows Server 2003 behaviour.
func (c *configWriter) ordering() {
	c.w("# Windows Server 2003 DNS behaviour: netmask ordering (the records in the client's own /24\n")
	c.w("# first, LocalNetPriority) then round robin. Also: round_robin, netmask_ordering, netmask,\n")
	c.w("# remote_order, no_round_robin_types, ipv6_prefix; mode windows2000 or none.\n")
	c.w("[ordering]\nmode = \"windows2003\"\n\n")
}

// sites writes a [[site]] per site, its CAS as comments.
func (c *configWriter) sites(l *Lab) {
	c.w("# Active Directory sites. A client's site is the longest match over all subnets.\n")
	for _, s := range l.Sites {
		c.w("[[site]]\nname = %q\n", s.Name)
		subs := make([]string, len(s.Subnets))
		for i, p := range s.Subnets {
			subs[i] = p.String()
		}
		c.w("subnets = %s\nscope = %q\n", quoteList(subs), s.Scope)
		for _, cas := range s.CAS {
			c.w("# CAS %s (%s, %s)\n", cas.Name, cas.FQDN, cas.Addr)
		}
		c.w("\n")
	}
}

// records writes a zone's [[zone]] table with its plain records, section
// by section, the owners padded to one column.
func (c *configWriter) records(z *zoneOut) {
	c.w("[[zone]]\norigin = %q\nrecords = [\n", z.origin)
	width := 0
	for _, e := range z.entries {
		if !e.aware {
			width = max(width, len(relative(e.owner, z.origin)))
		}
	}
	for sec := 0; sec < numSections; sec++ {
		first := true
		for _, e := range z.entries {
			if e.aware || e.section != sec {
				continue
			}
			if first {
				c.comment("  ", sectionTitle[sec])
				first = false
			}
			if e.comment != "" {
				c.comment("  ", e.comment)
			}
			for _, r := range e.plain {
				c.w("  %q,\n", fmt.Sprintf("%-*s %s", width, relative(e.owner, z.origin), alignRR(r)))
			}
		}
	}
	c.w("]\n\n")
}

// names writes a zone's site-aware names, section by section: a
// [[zone.name]] each with its set per scope and its default set.
func (c *configWriter) names(z *zoneOut, scopes []string) {
	for sec := 0; sec < numSections; sec++ {
		first := true
		for _, e := range z.entries {
			if !e.aware || e.section != sec {
				continue
			}
			if first {
				c.w("# --- %s: %s\n", z.origin, sectionName[sec])
				first = false
			}
			if e.comment != "" {
				c.comment("", e.comment)
			}
			c.w("[[zone.name]]\nname = %q\n", relative(e.owner, z.origin))
			for _, s := range scopes {
				if recs := e.internal[s]; len(recs) > 0 {
					c.w("[zone.name.scope.%s]\nrecords = %s\n", s, quoteList(recs))
				}
			}
			if e.def != nil {
				c.w("[zone.name.default]\nrecords = %s\n", quoteList(e.def))
			}
			c.w("\n")
		}
	}
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
