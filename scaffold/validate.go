package scaffold

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// validate checks the answers and builds the Lab, collecting every problem.
// The sections are checked in the order of the answers file's reference, so
// problems on the same line keep that order once sorted by line.
func (a *Answers) validate(loc *locator) (*Lab, error) {
	v := &validator{a: a, loc: loc, l: &Lab{Source: loc.file}}
	if !v.domains() {
		// Nothing else can be placed in a zone; report what we have.
		return nil, v.errs
	}
	v.server()
	v.dns()
	v.sites()
	v.pool()
	v.reverseProxy()
	certs := v.certificates()
	v.edge(certs)
	v.exchange()
	v.cwa()
	v.published(certs)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	if errs := v.collisions(); errs != nil {
		return nil, errs
	}
	return v.l, nil
}

// validator holds one validation in progress: the answers, where their
// text lies, the Lab built so far and every problem found so far. Each
// method checks one section of the answers and fills its part of the Lab.
type validator struct {
	a    *Answers
	loc  *locator
	l    *Lab
	errs Errors
}

// bad records a problem with field at line (0: look the value up).
func (v *validator) bad(line int, field, value, format string, args ...any) {
	v.loc.err(&v.errs, line, field, value, format, args...)
}

// domains checks the SIP and SMTP domains and derives the zones. It
// reports false when no SIP or no SMTP domain is left, as nothing else can
// then be placed.
func (v *validator) domains() bool {
	a, l := v.a, v.l
	if len(a.SIPDomains) == 0 {
		v.bad(0, "sip_domains", "", "missing: at least one SIP domain is required (e.g. sip_domains = [\"contoso.lab\"])")
	}
	l.SIPDomains = v.domainList("sip_domains", a.SIPDomains)
	if len(a.SMTPDomains) == 0 {
		l.SMTPDomains = l.SIPDomains
	} else {
		l.SMTPDomains = v.domainList("smtp_domains", a.SMTPDomains)
	}
	seen := map[string]bool{}
	for _, d := range append(append([]string{}, l.SIPDomains...), l.SMTPDomains...) {
		if !seen[d] {
			seen[d] = true
			l.Zones = append(l.Zones, d)
		}
	}
	return len(l.SIPDomains) > 0 && len(l.SMTPDomains) > 0
}

// domainList normalises the domains of field, dropping (and reporting)
// each that is not a multi-label domain name or is listed twice.
func (v *validator) domainList(field string, in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range in {
		n := normName(d)
		if why := checkName(n); why != "" {
			v.bad(0, field, d, "not a domain name: %s", why)
			continue
		}
		if !strings.Contains(n, ".") {
			v.bad(0, field, d, "a single label is not a domain; use e.g. %q", n+".lab")
			continue
		}
		if seen[n] {
			v.bad(0, field, d, "listed twice")
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// host resolves a host name or FQDN against dflt, checks it lies in one
// of the lab's zones and is not an apex. It returns "" for an empty raw
// and for a name it reported.
func (v *validator) host(field, raw, dflt string) string {
	n := normName(raw)
	if n == "" {
		return ""
	}
	if !strings.Contains(n, ".") {
		n += "." + dflt
	}
	if why := checkName(n); why != "" {
		v.bad(0, field, raw, "not a host name: %s", why)
		return ""
	}
	z := v.l.ZoneOf(n)
	switch {
	case z == "":
		v.bad(0, field, raw, "not inside any of the domains (%s): sitedns can only answer for names in its zones", strings.Join(v.l.Zones, ", "))
		return ""
	case z == n:
		v.bad(0, field, raw, "is a domain itself; give a host name inside it")
		return ""
	}
	return n
}

// addr parses a host address; required says whether a missing one is an
// error, reported at line. It returns the invalid Addr for a missing or
// reported address.
func (v *validator) addr(line int, field, raw string, required bool) netip.Addr {
	if strings.TrimSpace(raw) == "" {
		if required {
			v.bad(line, field, "", "missing: an IPv4 or IPv6 address is required")
		}
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(raw))
	if err != nil || ip.Zone() != "" {
		v.bad(0, field, raw, "not an IPv4 or IPv6 address")
		return netip.Addr{}
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsMulticast() {
		v.bad(0, field, raw, "not a host address")
		return netip.Addr{}
	}
	return ip
}

// server checks the top-level ttl and listen.
func (v *validator) server() {
	a, l := v.a, v.l
	switch {
	case a.TTL == 0:
		l.TTL = 300
	case a.TTL < 0 || a.TTL > 86400*7:
		v.bad(v.loc.key("ttl"), "ttl", fmt.Sprint(a.TTL), "must be between 1 and 604800 seconds")
	default:
		l.TTL = uint32(a.TTL)
	}
	l.Listen = a.Listen
	for _, s := range a.Listen {
		if _, err := netip.ParseAddrPort(s); err != nil {
			v.bad(0, "listen", s, "not an address:port (e.g. \"10.1.1.53:53\")")
		}
	}
}

// dns checks [dns]: the name server, the SOA mailbox and serial.
func (v *validator) dns() {
	l, def := v.l, v.l.DefaultSIP()
	d := v.a.DNS
	if d == nil {
		d = &DNSAnswers{}
	}
	nsName := d.Nameserver
	if nsName == "" {
		nsName = "ns1"
	}
	l.NS.FQDN = v.host("dns.nameserver", nsName, def)
	l.NS.Addr = v.addr(0, "dns.address", d.Address, false)
	hm := d.Hostmaster
	if hm == "" {
		hm = "hostmaster"
	}
	hm = normName(strings.Replace(hm, "@", ".", 1))
	if !strings.Contains(hm, ".") {
		hm += "." + def
	}
	if why := checkName(hm); why != "" {
		v.bad(0, "dns.hostmaster", d.Hostmaster, "not a mailbox name: %s", why)
	}
	l.Hostmaster = hm
	switch {
	case d.Serial == 0:
		l.Serial = 1
	case d.Serial < 0 || d.Serial > 1<<32-1:
		v.bad(v.loc.key("serial"), "dns.serial", fmt.Sprint(d.Serial), "must fit in 32 bits")
	default:
		l.Serial = uint32(d.Serial)
	}
}

// siteIndex is what the sites checked so far claim: their names (lower
// case), their subnets (to the site's name) and their scopes.
type siteIndex struct {
	names   map[string]bool
	subnets map[netip.Prefix]string
	scopes  map[string]bool
}

// sites checks every [[site]] and fills l.Sites and l.Scopes.
func (v *validator) sites() {
	if len(v.a.Sites) == 0 {
		v.bad(0, "site", "", "missing: at least one [[site]] with a name and subnets is required")
	}
	seen := &siteIndex{names: map[string]bool{}, subnets: map[netip.Prefix]string{}, scopes: map[string]bool{}}
	for i, sa := range v.a.Sites {
		v.l.Sites = append(v.l.Sites, v.site(i, sa, seen))
	}
}

// site checks the i-th [[site]]: its name, scope, subnets and CAS.
func (v *validator) site(i int, sa SiteAnswers, seen *siteIndex) Site {
	line := v.loc.table("site", i)
	field := fmt.Sprintf("site[%d]", i)
	if sa.Name != "" {
		field = fmt.Sprintf("site %q", sa.Name)
	}
	v.siteName(line, field, sa.Name, seen)
	s := Site{Name: sa.Name, Scope: v.siteScope(field, sa.Scope)}
	if !seen.scopes[s.Scope] {
		seen.scopes[s.Scope] = true
		v.l.Scopes = append(v.l.Scopes, s.Scope)
	}
	s.Subnets = v.subnets(line, field, sa, seen)
	s.CAS = v.siteCAS(field, sa)
	return s
}

// siteName checks a site's name: present, writable, not another site's.
func (v *validator) siteName(line int, field, name string, seen *siteIndex) {
	switch {
	case name == "":
		v.bad(line, field+": name", "", "missing: a site needs a name (e.g. \"US-Chicago\")")
	case !siteRE.MatchString(name):
		v.bad(0, field+": name", name, "letters, digits, '.', '_' and '-' only")
	case seen.names[strings.ToLower(name)]:
		v.bad(0, field+": name", name, "two sites with this name")
	}
	seen.names[strings.ToLower(name)] = true
}

// siteScope returns a site's scope, defaultScope when it has none. A
// scope it reports is returned as given.
func (v *validator) siteScope(field, scope string) string {
	if scope == "" {
		return defaultScope
	}
	if !scopeRE.MatchString(scope) {
		v.bad(0, field+": scope", scope, "letters, digits, '_' and '-' only")
	} else if strings.EqualFold(scope, "default") {
		v.bad(0, field+": scope", scope, "\"default\" is the set for clients outside every site; pick another scope name")
	}
	return scope
}

// subnets checks a site's subnets: at least one, each a masked CIDR prefix
// no other site has. It returns the good ones.
func (v *validator) subnets(line int, field string, sa SiteAnswers, seen *siteIndex) []netip.Prefix {
	if len(sa.Subnets) == 0 {
		at := v.loc.value(sa.Name)
		if at == 0 {
			at = line
		}
		v.bad(at, field+": subnets", "", "missing: a site needs at least one subnet (e.g. \"10.2.0.0/16\")")
	}
	var out []netip.Prefix
	for _, raw := range sa.Subnets {
		p, err := netip.ParsePrefix(strings.TrimSpace(raw))
		if err != nil {
			why := "not a subnet in CIDR form (e.g. \"10.2.0.0/16\")"
			if strings.Contains(err.Error(), "bits") || strings.Contains(err.Error(), "prefix length") {
				why = "bad prefix length"
			}
			v.bad(0, field+": subnets", raw, "%s", why)
			continue
		}
		if p.Masked() != p {
			v.bad(0, field+": subnets", raw, "host bits set; did you mean %q?", p.Masked().String())
			continue
		}
		if other, dup := seen.subnets[p]; dup {
			v.bad(0, field+": subnets", raw, "already a subnet of site %q", other)
			continue
		}
		seen.subnets[p] = sa.Name
		out = append(out, p)
	}
	return out
}

// siteCAS checks a site's [[site.cas]] and returns those with both a name
// and an address.
func (v *validator) siteCAS(field string, sa SiteAnswers) []CAS {
	var out []CAS
	smtp := v.l.PrimarySMTP()
	for j, ca := range sa.CAS {
		cf := fmt.Sprintf("%s: cas[%d]", field, j)
		c := CAS{Name: ca.Name}
		if c.Name == "" {
			c.Name = sa.Name + "-CAS"
			if len(sa.CAS) > 1 {
				c.Name = fmt.Sprintf("%s-CAS%d", sa.Name, j+1)
			}
		}
		if !labelRE.MatchString(strings.ToLower(c.Name)) {
			v.bad(0, cf+".name", c.Name, "not a server name: one label of letters, digits and inner hyphens")
		}
		fq := ca.FQDN
		if fq == "" {
			fq = strings.ToLower(c.Name) + "." + smtp
		}
		c.FQDN = v.host(cf+".fqdn", fq, smtp)
		c.Addr = v.addr(0, cf+".address", ca.Address, true)
		if c.Addr.IsValid() && c.FQDN != "" {
			out = append(out, c)
		}
	}
	return out
}

// pool checks [pool], which is required.
func (v *validator) pool() {
	p, l, def := v.a.Pool, v.l, v.l.DefaultSIP()
	if p == nil {
		v.bad(0, "pool", "", "missing: [pool] with fqdn and address is required")
		return
	}
	line := v.loc.table("pool", 0)
	if p.FQDN == "" {
		v.bad(line, "pool.fqdn", "", "missing: the pool FQDN is required (e.g. \"pool01.contoso.lab\")")
	}
	l.Pool.FQDN = v.host("pool.fqdn", p.FQDN, def)
	l.Pool.Addr = v.addr(line, "pool.address", p.Address, true)
	l.Pool.WebFarmInternal = l.Pool.FQDN
	if p.WebFarmInternal != "" {
		l.Pool.WebFarmInternal = v.host("pool.web_farm_internal", p.WebFarmInternal, def)
	}
	l.Pool.WebFarmExternal = v.host("pool.web_farm_external", p.WebFarmExternal, def)
	l.Pool.AllowTCP = p.AllowTCP
}

// reverseProxy checks [reverse_proxy], and that the pool's external web
// farm has one to publish it.
func (v *validator) reverseProxy() {
	if rp := v.a.ReverseProxy; rp != nil {
		ip := v.addr(v.loc.table("reverse_proxy", 0), "reverse_proxy.address", rp.Address, true)
		if ip.IsValid() {
			v.l.ReverseProxy = &ReverseProxy{Addr: ip}
		}
	}
	if v.l.Pool.WebFarmExternal != "" && v.a.ReverseProxy == nil {
		v.bad(0, "pool.web_farm_external", v.a.Pool.WebFarmExternal, "needs [reverse_proxy] address: the external web farm is published by the reverse proxy")
	}
}

// certSource is where the certificate plan was set, for the errors that
// name it: the certificates key (and its line) or the -certificates flag.
type certSource struct {
	field string // as a problem quotes it: `certificates = "single"`
	line  int
}

// certificates checks the certificate plan and says where it was set.
func (v *validator) certificates() certSource {
	src := certSource{field: `certificates = "single"`, line: v.loc.key("certificates")}
	if v.loc.certsFlag {
		src = certSource{field: "-certificates single", line: 0}
	}
	switch CertMode(v.a.Certificates) {
	case "", CertsPerRole:
		v.l.Certificates = CertsPerRole
	case CertsSingle:
		v.l.Certificates = CertsSingle
	default:
		field := "certificates"
		if v.loc.certsFlag {
			field = "-certificates"
		}
		v.bad(src.line, field, v.a.Certificates, `want "per-role" (a certificate per role) or "single" (one SAN certificate)`)
	}
	return src
}

// edge checks [edge], when given.
func (v *validator) edge(certs certSource) {
	e, def := v.a.Edge, v.l.DefaultSIP()
	if e == nil {
		return
	}
	line := v.loc.table("edge", 0)
	ed := &Edge{}
	if e.InternalFQDN == "" {
		v.bad(line, "edge.internal_fqdn", "", "missing: the Edge server's internal FQDN is required (e.g. \"edge-int.contoso.lab\")")
	}
	ed.Internal.FQDN = v.host("edge.internal_fqdn", e.InternalFQDN, def)
	ed.Internal.Addr = v.addr(line, "edge.internal_address", e.InternalAddress, true)
	ed.Access = Host{FQDN: "sip." + def, Addr: v.addr(line, "edge.access", e.Access, true)}
	v.webConf(e, ed, certs)
	if e.AV != "" {
		an := e.AVName
		if an == "" {
			an = "av"
		}
		ed.AV.FQDN = v.host("edge.av_name", an, def)
		ed.AV.Addr = v.addr(0, "edge.av", e.AV, false)
	}
	v.l.Edge = ed
}

// webConf checks the Web Conferencing Edge's name, address and port: by
// default the Access Edge's address on 444, and that under a single
// certificate.
func (v *validator) webConf(e *EdgeAnswers, ed *Edge, certs certSource) {
	wn := e.WebConfName
	if wn == "" {
		wn = "webconf"
	}
	ed.WebConf.FQDN = v.host("edge.webconf_name", wn, v.l.DefaultSIP())
	ed.WebConf.Addr = v.addr(0, "edge.webconf", e.WebConf, false)
	if !ed.WebConf.Addr.IsValid() {
		ed.WebConf.Addr = ed.Access.Addr
	}
	ed.WebConfPort = e.WebConfPort
	if ed.WebConfPort == 0 {
		ed.WebConfPort = 443
		if ed.WebConf.Addr == ed.Access.Addr {
			ed.WebConfPort = 444
		}
	}
	if ed.WebConfPort < 1 || ed.WebConfPort > 65535 {
		v.bad(v.loc.key("webconf_port"), "edge.webconf_port", fmt.Sprint(e.WebConfPort), "not a port number")
	} else if ed.WebConfPort == 443 && ed.WebConf.Addr == ed.Access.Addr && ed.Access.Addr.IsValid() {
		v.bad(v.loc.key("webconf_port"), "edge.webconf_port", "443", "the Access Edge already uses 443 on %s; give webconf its own address or another port (444)", ed.Access.Addr)
	}
	if v.l.Certificates == CertsSingle && ed.WebConf.Addr != ed.Access.Addr && ed.Access.Addr.IsValid() {
		v.bad(0, "edge.webconf", e.WebConf, "%s: the Web Conferencing Edge takes the Access Edge's name and address "+
			"(the Edge matches them to the one certificate), and moves to port 444; leave webconf out or set it to %q",
			certs.field, ed.Access.Addr.String())
	}
}

// exchange checks [exchange], which a CAS in any site implies.
func (v *validator) exchange() {
	l := v.l
	cas := l.CAS()
	ex := v.a.Exchange
	if ex == nil && len(cas) == 0 {
		return
	}
	if ex == nil {
		ex = &ExchangeAnswers{}
	}
	x := &Exchange{}
	if len(cas) == 0 {
		v.bad(v.loc.table("exchange", 0), "exchange", "", "no site has a CAS: add [[site.cas]] address = \"...\" to the sites")
	}
	m := ex.Mail
	if m == "" {
		m = "mail"
	}
	x.Mail = v.host("exchange.mail", m, l.PrimarySMTP())
	x.External = v.addr(0, "exchange.external_address", ex.ExternalAddress, false)
	if !x.External.IsValid() && l.ReverseProxy != nil {
		x.External = l.ReverseProxy.Addr
	}
	switch {
	case ex.MXPreference == 0:
		x.MXPref = 10
	case ex.MXPreference < 0 || ex.MXPreference > 65535:
		v.bad(v.loc.key("mx_preference"), "exchange.mx_preference", fmt.Sprint(ex.MXPreference), "must be between 0 and 65535")
	default:
		x.MXPref = uint16(ex.MXPreference)
	}
	x.OWAIM = ex.OWAIM
	x.UM = ex.UM
	x.Affinity = v.affinity(ex)
	l.Exchange = x
}

// affinity says whether affinity<scope> names are written (by default with
// two scopes or more) and, when they are, checks each scope makes one.
func (v *validator) affinity(ex *ExchangeAnswers) bool {
	on := len(v.l.Scopes) > 1
	if ex.AffinityNames != nil {
		on = *ex.AffinityNames
	}
	if on {
		for _, sc := range v.l.Scopes {
			if why := checkName("affinity" + strings.ToLower(sc)); why != "" {
				v.bad(0, "exchange.affinity_names", sc, "scope does not make a host name: %s", why)
			}
		}
	}
	return on
}

// cwa checks [cwa], when given.
func (v *validator) cwa() {
	c, l := v.a.CWA, v.l
	if c == nil {
		return
	}
	line := v.loc.table("cwa", 0)
	n := c.Name
	if n == "" {
		n = "cwa"
	}
	w := &CWA{FQDN: v.host("cwa.name", n, l.DefaultSIP())}
	w.Internal = v.addr(line, "cwa.internal_address", c.InternalAddress, true)
	w.External = v.addr(0, "cwa.external_address", c.ExternalAddress, false)
	if !w.External.IsValid() && l.ReverseProxy != nil {
		w.External = l.ReverseProxy.Addr
	}
	l.CWA = w
}

// published checks a single certificate has something to be on.
func (v *validator) published(certs certSource) {
	l := v.l
	if l.Certificates == CertsSingle && l.Edge == nil && l.ReverseProxy == nil && l.Exchange == nil {
		v.bad(certs.line, "certificates", "single", "nothing is published: the single certificate is for the Edge, the reverse proxy and the CAS, and the lab has none of them")
	}
}

// collisions checks no two roles claim one owner name (each owner has one
// role), as laying out the records finds; nil when none do.
func (v *validator) collisions() Errors {
	_, clash := build(v.l)
	if clash == nil {
		return nil
	}
	e := &Error{File: v.loc.file, Field: clash.field, Value: clash.name, Msg: clash.msg}
	if v.loc.rename != nil {
		e.Field = v.loc.rename(clash.field)
	} else {
		e.Line = v.loc.value(clash.name)
	}
	return append(v.errs, e)
}
