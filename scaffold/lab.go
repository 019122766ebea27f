package scaffold

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// Lab is a validated set of answers: every name a lower-case FQDN without
// the trailing dot, every address parsed, every default filled in.
// Immutable after Validate; Config and NewPlan only read it.
type Lab struct {
	// Source is where the answers came from (a file name, or "command line").
	Source string

	SIPDomains  []string
	SMTPDomains []string
	// Zones are the zones to write: the SIP domains, then the SMTP domains
	// not already among them.
	Zones []string
	TTL   uint32
	// Listen is written to [server] listen when set.
	Listen []string
	// Certificates is the certificate plan: CertsPerRole or CertsSingle.
	Certificates CertMode

	// NS is the lab's name server; its address is invalid when the answers
	// gave none (then no NS records are written).
	NS         Host
	Hostmaster string // SOA mailbox, as a name ("hostmaster.contoso.lab")
	Serial     uint32

	Sites []Site
	// Scopes are the site scopes in order of first appearance.
	Scopes []string

	Pool         Pool
	Edge         *Edge         // nil: no Edge server
	ReverseProxy *ReverseProxy // nil: no reverse proxy
	Exchange     *Exchange     // nil: no CAS in any site
	CWA          *CWA          // nil: no Communicator Web Access
}

// CertMode is how the lab's names are spread over certificates.
type CertMode string

// The certificate plans.
const (
	// CertsPerRole gives each role its own certificate: the Edge external
	// one public, the reverse proxy's public, one per CAS, the pool's.
	CertsPerRole CertMode = "per-role"
	// CertsSingle puts every published name on one public SAN (UCC)
	// certificate used by the Edge, the reverse proxy and every CAS. The
	// Access Edge and the Web Conferencing Edge then share a name and an
	// address, so web conferencing moves to 444. The internal certificates
	// (Edge internal, A/V authentication, pool, UM) stay as they are.
	CertsSingle CertMode = "single"
)

// Host is a name and its address.
type Host struct {
	FQDN string
	Addr netip.Addr
}

// Site is an Active Directory site and its Client Access Servers.
type Site struct {
	Name    string
	Subnets []netip.Prefix
	Scope   string
	CAS     []CAS
}

// CAS is one Client Access Server.
type CAS struct {
	Name string // NetBIOS name
	Host
}

// Pool is the OCS pool.
type Pool struct {
	Host
	WebFarmInternal string // equal to FQDN when not set apart
	WebFarmExternal string // "" when none
	AllowTCP        bool
}

// Edge is the consolidated Edge server.
type Edge struct {
	Internal    Host
	Access      Host // sip.<default SIP domain>
	WebConf     Host
	WebConfPort int
	AV          Host // invalid Addr: no A/V Edge
}

// ReverseProxy is the ISA/TMG reverse proxy.
type ReverseProxy struct {
	Addr netip.Addr
}

// Exchange is the Exchange side of the lab.
type Exchange struct {
	Mail     string     // mail FQDN
	External netip.Addr // invalid: no external answers
	MXPref   uint16
	OWAIM    bool
	UM       bool // Unified Messaging on the CAS servers, integrated with OCS
	Affinity bool
}

// CWA is Communicator Web Access.
type CWA struct {
	FQDN     string
	Internal netip.Addr
	External netip.Addr // invalid: internal only
}

// CAS returns every CAS of the lab, in site order.
func (l *Lab) CAS() []CAS {
	var out []CAS
	for _, s := range l.Sites {
		out = append(out, s.CAS...)
	}
	return out
}

// ScopeCAS returns the CAS of the sites in scope, in site order.
func (l *Lab) ScopeCAS(scope string) []CAS {
	var out []CAS
	for _, s := range l.Sites {
		if s.Scope == scope {
			out = append(out, s.CAS...)
		}
	}
	return out
}

// DefaultSIP is the default SIP domain.
func (l *Lab) DefaultSIP() string { return l.SIPDomains[0] }

// PrimarySMTP is the primary SMTP domain.
func (l *Lab) PrimarySMTP() string { return l.SMTPDomains[0] }

// ZoneOf returns the zone that holds name (the longest matching origin), or "".
func (l *Lab) ZoneOf(name string) string {
	best := ""
	for _, z := range l.Zones {
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

const defaultScope = "internal"

var (
	labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	scopeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	// siteRE allows what AD allows in practice for a site name we can
	// write into TOML and a metric label without surprises.
	siteRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// checkName reports why name is not a usable host or domain name ("" when it is).
func checkName(name string) string {
	if name == "" {
		return "empty name"
	}
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for _, lb := range labels {
		if !labelRE.MatchString(lb) {
			return fmt.Sprintf("label %q: letters, digits and inner hyphens only, 1 to 63 characters", lb)
		}
	}
	return ""
}

// normName lower-cases name and drops a trailing dot.
func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// validate checks the answers and builds the Lab, collecting every problem.
func (a *Answers) validate(loc *locator) (*Lab, error) {
	var errs Errors
	l := &Lab{Source: loc.file}
	bad := func(line int, field, value, format string, args ...any) {
		loc.err(&errs, line, field, value, format, args...)
	}

	// Domains.
	domains := func(field string, in []string) []string {
		var out []string
		seen := map[string]bool{}
		for _, d := range in {
			n := normName(d)
			if why := checkName(n); why != "" {
				bad(0, field, d, "not a domain name: %s", why)
				continue
			}
			if !strings.Contains(n, ".") {
				bad(0, field, d, "a single label is not a domain; use e.g. %q", n+".lab")
				continue
			}
			if seen[n] {
				bad(0, field, d, "listed twice")
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
		return out
	}
	if len(a.SIPDomains) == 0 {
		bad(0, "sip_domains", "", "missing: at least one SIP domain is required (e.g. sip_domains = [\"contoso.lab\"])")
	}
	l.SIPDomains = domains("sip_domains", a.SIPDomains)
	if len(a.SMTPDomains) == 0 {
		l.SMTPDomains = l.SIPDomains
	} else {
		l.SMTPDomains = domains("smtp_domains", a.SMTPDomains)
	}
	seen := map[string]bool{}
	for _, d := range append(append([]string{}, l.SIPDomains...), l.SMTPDomains...) {
		if !seen[d] {
			seen[d] = true
			l.Zones = append(l.Zones, d)
		}
	}
	if len(l.SIPDomains) == 0 || len(l.SMTPDomains) == 0 {
		// Nothing else can be placed in a zone; report what we have.
		return nil, errs
	}
	def := l.DefaultSIP()

	switch {
	case a.TTL == 0:
		l.TTL = 300
	case a.TTL < 0 || a.TTL > 86400*7:
		bad(loc.key("ttl"), "ttl", fmt.Sprint(a.TTL), "must be between 1 and 604800 seconds")
	default:
		l.TTL = uint32(a.TTL)
	}
	l.Listen = a.Listen
	for _, s := range a.Listen {
		if _, err := netip.ParseAddrPort(s); err != nil {
			bad(0, "listen", s, "not an address:port (e.g. \"10.1.1.53:53\")")
		}
	}

	// host resolves a host name or FQDN against dflt, checks it lies in one
	// of our zones and is not an apex.
	host := func(field, raw, dflt string) string {
		n := normName(raw)
		if n == "" {
			return ""
		}
		if !strings.Contains(n, ".") {
			n += "." + dflt
		}
		if why := checkName(n); why != "" {
			bad(0, field, raw, "not a host name: %s", why)
			return ""
		}
		z := l.ZoneOf(n)
		switch {
		case z == "":
			bad(0, field, raw, "not inside any of the domains (%s): sitedns can only answer for names in its zones", strings.Join(l.Zones, ", "))
			return ""
		case z == n:
			bad(0, field, raw, "is a domain itself; give a host name inside it")
			return ""
		}
		return n
	}
	// addr parses an address; required says whether a missing one is an error.
	addr := func(line int, field, raw string, required bool) netip.Addr {
		if strings.TrimSpace(raw) == "" {
			if required {
				bad(line, field, "", "missing: an IPv4 or IPv6 address is required")
			}
			return netip.Addr{}
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(raw))
		if err != nil || ip.Zone() != "" {
			bad(0, field, raw, "not an IPv4 or IPv6 address")
			return netip.Addr{}
		}
		ip = ip.Unmap()
		if ip.IsUnspecified() || ip.IsMulticast() {
			bad(0, field, raw, "not a host address")
			return netip.Addr{}
		}
		return ip
	}

	// DNS server.
	d := a.DNS
	if d == nil {
		d = &DNSAnswers{}
	}
	nsName := d.Nameserver
	if nsName == "" {
		nsName = "ns1"
	}
	l.NS.FQDN = host("dns.nameserver", nsName, def)
	l.NS.Addr = addr(0, "dns.address", d.Address, false)
	hm := d.Hostmaster
	if hm == "" {
		hm = "hostmaster"
	}
	hm = normName(strings.Replace(hm, "@", ".", 1))
	if !strings.Contains(hm, ".") {
		hm += "." + def
	}
	if why := checkName(hm); why != "" {
		bad(0, "dns.hostmaster", d.Hostmaster, "not a mailbox name: %s", why)
	}
	l.Hostmaster = hm
	switch {
	case d.Serial == 0:
		l.Serial = 1
	case d.Serial < 0 || d.Serial > 1<<32-1:
		bad(loc.key("serial"), "dns.serial", fmt.Sprint(d.Serial), "must fit in 32 bits")
	default:
		l.Serial = uint32(d.Serial)
	}

	// Sites.
	if len(a.Sites) == 0 {
		bad(0, "site", "", "missing: at least one [[site]] with a name and subnets is required")
	}
	siteNames := map[string]bool{}
	subnetOwner := map[netip.Prefix]string{}
	scopeSeen := map[string]bool{}
	for i, sa := range a.Sites {
		line := loc.table("site", i)
		field := fmt.Sprintf("site[%d]", i)
		if sa.Name != "" {
			field = fmt.Sprintf("site %q", sa.Name)
		}
		s := Site{Name: sa.Name, Scope: sa.Scope}
		switch {
		case sa.Name == "":
			bad(line, field+": name", "", "missing: a site needs a name (e.g. \"US-Chicago\")")
		case !siteRE.MatchString(sa.Name):
			bad(0, field+": name", sa.Name, "letters, digits, '.', '_' and '-' only")
		case siteNames[strings.ToLower(sa.Name)]:
			bad(0, field+": name", sa.Name, "two sites with this name")
		}
		siteNames[strings.ToLower(sa.Name)] = true
		if s.Scope == "" {
			s.Scope = defaultScope
		} else if !scopeRE.MatchString(s.Scope) {
			bad(0, field+": scope", sa.Scope, "letters, digits, '_' and '-' only")
		} else if strings.EqualFold(s.Scope, "default") {
			bad(0, field+": scope", sa.Scope, "\"default\" is the set for clients outside every site; pick another scope name")
		}
		if !scopeSeen[s.Scope] {
			scopeSeen[s.Scope] = true
			l.Scopes = append(l.Scopes, s.Scope)
		}
		if len(sa.Subnets) == 0 {
			at := loc.value(sa.Name)
			if at == 0 {
				at = line
			}
			bad(at, field+": subnets", "", "missing: a site needs at least one subnet (e.g. \"10.2.0.0/16\")")
		}
		for _, raw := range sa.Subnets {
			p, err := netip.ParsePrefix(strings.TrimSpace(raw))
			if err != nil {
				why := "not a subnet in CIDR form (e.g. \"10.2.0.0/16\")"
				if strings.Contains(err.Error(), "bits") || strings.Contains(err.Error(), "prefix length") {
					why = "bad prefix length"
				}
				bad(0, field+": subnets", raw, "%s", why)
				continue
			}
			if p.Masked() != p {
				bad(0, field+": subnets", raw, "host bits set; did you mean %q?", p.Masked().String())
				continue
			}
			if other, dup := subnetOwner[p]; dup {
				bad(0, field+": subnets", raw, "already a subnet of site %q", other)
				continue
			}
			subnetOwner[p] = sa.Name
			s.Subnets = append(s.Subnets, p)
		}
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
				bad(0, cf+".name", c.Name, "not a server name: one label of letters, digits and inner hyphens")
			}
			fq := ca.FQDN
			if fq == "" {
				fq = strings.ToLower(c.Name) + "." + l.PrimarySMTP()
			}
			c.FQDN = host(cf+".fqdn", fq, l.PrimarySMTP())
			c.Addr = addr(0, cf+".address", ca.Address, true)
			if c.Addr.IsValid() && c.FQDN != "" {
				s.CAS = append(s.CAS, c)
			}
		}
		l.Sites = append(l.Sites, s)
	}

	// Pool.
	if a.Pool == nil {
		bad(0, "pool", "", "missing: [pool] with fqdn and address is required")
	} else {
		p := a.Pool
		line := loc.table("pool", 0)
		if p.FQDN == "" {
			bad(line, "pool.fqdn", "", "missing: the pool FQDN is required (e.g. \"pool01.contoso.lab\")")
		}
		l.Pool.FQDN = host("pool.fqdn", p.FQDN, def)
		l.Pool.Addr = addr(line, "pool.address", p.Address, true)
		l.Pool.WebFarmInternal = l.Pool.FQDN
		if p.WebFarmInternal != "" {
			l.Pool.WebFarmInternal = host("pool.web_farm_internal", p.WebFarmInternal, def)
		}
		l.Pool.WebFarmExternal = host("pool.web_farm_external", p.WebFarmExternal, def)
		l.Pool.AllowTCP = p.AllowTCP
	}

	// Reverse proxy.
	if rp := a.ReverseProxy; rp != nil {
		ip := addr(loc.table("reverse_proxy", 0), "reverse_proxy.address", rp.Address, true)
		if ip.IsValid() {
			l.ReverseProxy = &ReverseProxy{Addr: ip}
		}
	}
	if l.Pool.WebFarmExternal != "" && a.ReverseProxy == nil {
		bad(0, "pool.web_farm_external", a.Pool.WebFarmExternal, "needs [reverse_proxy] address: the external web farm is published by the reverse proxy")
	}

	// Certificates.
	certsField := `certificates = "single"`
	certsLine := loc.key("certificates")
	if loc.certsFlag {
		certsField, certsLine = "-certificates single", 0
	}
	switch CertMode(a.Certificates) {
	case "", CertsPerRole:
		l.Certificates = CertsPerRole
	case CertsSingle:
		l.Certificates = CertsSingle
	default:
		field := "certificates"
		if loc.certsFlag {
			field = "-certificates"
		}
		bad(certsLine, field, a.Certificates, `want "per-role" (a certificate per role) or "single" (one SAN certificate)`)
	}
	single := l.Certificates == CertsSingle

	// Edge.
	if e := a.Edge; e != nil {
		line := loc.table("edge", 0)
		ed := &Edge{}
		if e.InternalFQDN == "" {
			bad(line, "edge.internal_fqdn", "", "missing: the Edge server's internal FQDN is required (e.g. \"edge-int.contoso.lab\")")
		}
		ed.Internal.FQDN = host("edge.internal_fqdn", e.InternalFQDN, def)
		ed.Internal.Addr = addr(line, "edge.internal_address", e.InternalAddress, true)
		ed.Access = Host{FQDN: "sip." + def, Addr: addr(line, "edge.access", e.Access, true)}
		wn := e.WebConfName
		if wn == "" {
			wn = "webconf"
		}
		ed.WebConf.FQDN = host("edge.webconf_name", wn, def)
		ed.WebConf.Addr = addr(0, "edge.webconf", e.WebConf, false)
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
			bad(loc.key("webconf_port"), "edge.webconf_port", fmt.Sprint(e.WebConfPort), "not a port number")
		} else if ed.WebConfPort == 443 && ed.WebConf.Addr == ed.Access.Addr && ed.Access.Addr.IsValid() {
			bad(loc.key("webconf_port"), "edge.webconf_port", "443", "the Access Edge already uses 443 on %s; give webconf its own address or another port (444)", ed.Access.Addr)
		}
		if single && ed.WebConf.Addr != ed.Access.Addr && ed.Access.Addr.IsValid() {
			bad(0, "edge.webconf", e.WebConf, "%s: the Web Conferencing Edge takes the Access Edge's name and address "+
				"(the Edge matches them to the one certificate), and moves to port 444; leave webconf out or set it to %q",
				certsField, ed.Access.Addr.String())
		}
		if e.AV != "" {
			an := e.AVName
			if an == "" {
				an = "av"
			}
			ed.AV.FQDN = host("edge.av_name", an, def)
			ed.AV.Addr = addr(0, "edge.av", e.AV, false)
		}
		l.Edge = ed
	}

	// Exchange.
	cas := l.CAS()
	if ex := a.Exchange; ex != nil || len(cas) > 0 {
		if ex == nil {
			ex = &ExchangeAnswers{}
		}
		x := &Exchange{}
		if len(cas) == 0 {
			bad(loc.table("exchange", 0), "exchange", "", "no site has a CAS: add [[site.cas]] address = \"...\" to the sites")
		}
		m := ex.Mail
		if m == "" {
			m = "mail"
		}
		x.Mail = host("exchange.mail", m, l.PrimarySMTP())
		x.External = addr(0, "exchange.external_address", ex.ExternalAddress, false)
		if !x.External.IsValid() && l.ReverseProxy != nil {
			x.External = l.ReverseProxy.Addr
		}
		switch {
		case ex.MXPreference == 0:
			x.MXPref = 10
		case ex.MXPreference < 0 || ex.MXPreference > 65535:
			bad(loc.key("mx_preference"), "exchange.mx_preference", fmt.Sprint(ex.MXPreference), "must be between 0 and 65535")
		default:
			x.MXPref = uint16(ex.MXPreference)
		}
		x.OWAIM = ex.OWAIM
		x.UM = ex.UM
		x.Affinity = len(l.Scopes) > 1
		if ex.AffinityNames != nil {
			x.Affinity = *ex.AffinityNames
		}
		if x.Affinity {
			for _, sc := range l.Scopes {
				if why := checkName("affinity" + strings.ToLower(sc)); why != "" {
					bad(0, "exchange.affinity_names", sc, "scope does not make a host name: %s", why)
				}
			}
		}
		l.Exchange = x
	}

	// CWA.
	if c := a.CWA; c != nil {
		line := loc.table("cwa", 0)
		n := c.Name
		if n == "" {
			n = "cwa"
		}
		w := &CWA{FQDN: host("cwa.name", n, def)}
		w.Internal = addr(line, "cwa.internal_address", c.InternalAddress, true)
		w.External = addr(0, "cwa.external_address", c.ExternalAddress, false)
		if !w.External.IsValid() && l.ReverseProxy != nil {
			w.External = l.ReverseProxy.Addr
		}
		l.CWA = w
	}

	if single && l.Edge == nil && l.ReverseProxy == nil && l.Exchange == nil {
		bad(certsLine, "certificates", "single", "nothing is published: the single certificate is for the Edge, the reverse proxy and the CAS, and the lab has none of them")
	}

	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	// Names must not collide: each owner has one role.
	if _, err := build(l); err != nil {
		errs = append(errs, &Error{File: loc.file, Field: err.field, Value: err.name, Msg: err.msg})
		if loc.rename != nil {
			errs[len(errs)-1].Field = loc.rename(err.field)
		} else {
			errs[len(errs)-1].Line = loc.value(err.name)
		}
		return nil, errs
	}
	return l, nil
}
