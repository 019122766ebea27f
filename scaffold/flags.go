package scaffold

import (
	"flag"
	"strings"
)

// Flags describes a one-site lab on the command line, for when an answers
// file is more than the lab needs. Register the flags, parse, then call Lab.
type Flags struct {
	domains     listValue
	smtpDomains listValue
	sites       listValue
	scope       string
	cas         listValue
	pool        string
	webInt      string
	webExt      string
	tcp         bool
	ns          string
	edgeInt     string
	edgeSIP     string
	edgeWebConf string
	webConfPort int
	edgeAV      string
	revProxy    string
	exExternal  string
	owaIM       bool
	cwa         string
	ttl         int
	certs       string

	names map[string]bool // the lab flags, by name
}

type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(s string) error { *l = append(*l, s); return nil }

// Register defines the lab flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(&f.domains, "domain", "SIP and SMTP `domain`; repeatable, the first is the default one")
	fs.Var(&f.smtpDomains, "smtp-domain", "SMTP `domain` when they differ from -domain; repeatable")
	fs.Var(&f.sites, "site", "the site: `name=subnet[,subnet...]` (e.g. HQ=10.1.0.0/16)")
	fs.StringVar(&f.scope, "scope", "", "scope of the site (default \"internal\")")
	fs.Var(&f.cas, "cas", "a Client Access Server: `[name=]address`; repeatable")
	fs.StringVar(&f.pool, "pool", "", "the OCS pool: `fqdn=address`")
	fs.StringVar(&f.webInt, "web-farm-internal", "", "internal web farm `fqdn` (default: the pool FQDN)")
	fs.StringVar(&f.webExt, "web-farm-external", "", "external web farm `fqdn`, published by -reverse-proxy")
	fs.BoolVar(&f.tcp, "tcp", false, "allow SIP over TCP inside (_sipinternal._tcp, 5060)")
	fs.StringVar(&f.ns, "ns", "", "this DNS server: `name=address` (e.g. ns1=10.1.1.53)")
	fs.StringVar(&f.edgeInt, "edge-internal", "", "Edge server internal interface: `fqdn=address`")
	fs.StringVar(&f.edgeSIP, "edge-sip", "", "Access Edge external `address` (sip.<domain>)")
	fs.StringVar(&f.edgeWebConf, "edge-webconf", "", "Web Conferencing Edge external `[name=]address` (default: the -edge-sip address, port 444)")
	fs.IntVar(&f.webConfPort, "webconf-port", 0, "Web Conferencing Edge `port` (default 443, or 444 on the Access Edge address)")
	fs.StringVar(&f.edgeAV, "edge-av", "", "A/V Edge external `[name=]address`")
	fs.StringVar(&f.revProxy, "reverse-proxy", "", "reverse proxy (ISA/TMG) external `address`")
	fs.StringVar(&f.exExternal, "exchange-external", "", "`address` external clients get for mail and autodiscover (default: -reverse-proxy)")
	fs.BoolVar(&f.owaIM, "owa-im", false, "OWA (Exchange 2010) is integrated with OCS for IM")
	fs.StringVar(&f.cwa, "cwa", "", "Communicator Web Access server `address` (adds cwa, download.cwa, as.cwa)")
	fs.IntVar(&f.ttl, "ttl", 0, "record TTL in `seconds` (default 300)")
	fs.StringVar(&f.certs, "certificates", "", "certificate plan: `per-role` (default) or single (one SAN certificate); with -answers, replaces its certificates")
	f.names = map[string]bool{}
	for _, n := range []string{"domain", "smtp-domain", "site", "scope", "cas", "pool", "web-farm-internal",
		"web-farm-external", "tcp", "ns", "edge-internal", "edge-sip", "edge-webconf", "webconf-port", "edge-av",
		"reverse-proxy", "exchange-external", "owa-im", "cwa", "ttl"} {
		f.names[n] = true
	}
}

// Options returns the settings that apply to an answers file as well
// (-certificates).
func (f *Flags) Options() Options { return Options{Certificates: f.certs} }

// Given reports whether any lab flag was set on fs (after fs.Parse).
// -certificates is not one: it goes with -answers too.
func (f *Flags) Given(fs *flag.FlagSet) bool {
	given := false
	fs.Visit(func(fl *flag.Flag) {
		if f.names[fl.Name] {
			given = true
		}
	})
	return given
}

// cut splits "a=b"; without '=' it returns "", s when optional, or fails.
func cut(flagName, s string, optional bool) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	if ok {
		return strings.TrimSpace(name), strings.TrimSpace(value), nil
	}
	if optional {
		return "", strings.TrimSpace(s), nil
	}
	return "", "", &Error{File: cmdLine, Field: "-" + flagName, Value: s, Msg: "want name=value"}
}

const cmdLine = "command line"

// Lab validates the flags as a one-site lab.
func (f *Flags) Lab() (*Lab, error) {
	a := &Answers{SIPDomains: f.domains, SMTPDomains: f.smtpDomains, TTL: f.ttl, Certificates: f.certs}
	var errs Errors
	fail := func(err error) {
		if e, ok := err.(*Error); ok {
			errs = append(errs, e)
		}
	}
	if len(f.sites) > 1 {
		errs = append(errs, &Error{File: cmdLine, Field: "-site", Value: f.sites[1],
			Msg: "one site on the command line; describe several in an answers file (-answers)"})
	}
	if len(f.sites) > 0 {
		name, subnets, err := cut("site", f.sites[0], false)
		fail(err)
		site := SiteAnswers{Name: name, Scope: f.scope}
		for _, s := range strings.Split(subnets, ",") {
			if s = strings.TrimSpace(s); s != "" {
				site.Subnets = append(site.Subnets, s)
			}
		}
		for _, c := range f.cas {
			n, addr, _ := cut("cas", c, true)
			site.CAS = append(site.CAS, CASAnswers{Name: n, Address: addr})
		}
		a.Sites = []SiteAnswers{site}
	} else if len(f.cas) > 0 {
		errs = append(errs, &Error{File: cmdLine, Field: "-cas", Value: f.cas[0], Msg: "needs -site: a CAS belongs to a site"})
	}
	if f.pool != "" {
		fq, addr, err := cut("pool", f.pool, false)
		fail(err)
		a.Pool = &PoolAnswers{FQDN: fq, Address: addr, WebFarmInternal: f.webInt, WebFarmExternal: f.webExt, AllowTCP: f.tcp}
	}
	if f.ns != "" {
		n, addr, err := cut("ns", f.ns, false)
		fail(err)
		a.DNS = &DNSAnswers{Nameserver: n, Address: addr}
	}
	if f.edgeInt != "" || f.edgeSIP != "" || f.edgeWebConf != "" || f.edgeAV != "" || f.webConfPort != 0 {
		e := &EdgeAnswers{Access: f.edgeSIP, WebConfPort: f.webConfPort}
		var err error
		if f.edgeInt != "" {
			e.InternalFQDN, e.InternalAddress, err = cut("edge-internal", f.edgeInt, false)
			fail(err)
		}
		e.WebConfName, e.WebConf, _ = cut("edge-webconf", f.edgeWebConf, true)
		e.AVName, e.AV, _ = cut("edge-av", f.edgeAV, true)
		a.Edge = e
	}
	if f.revProxy != "" {
		a.ReverseProxy = &ReverseProxyAnswers{Address: f.revProxy}
	}
	if f.exExternal != "" || f.owaIM {
		a.Exchange = &ExchangeAnswers{ExternalAddress: f.exExternal, OWAIM: f.owaIM}
	}
	if f.cwa != "" {
		a.CWA = &CWAAnswers{InternalAddress: f.cwa}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return a.validate(&locator{file: cmdLine, rename: flagOf})
}

// flagRules map an answers field (as validate names it) to the flag that
// sets it, first match wins.
var flagRules = []struct{ has, flag string }{
	{"sip_domains", "-domain"},
	{"smtp_domains", "-smtp-domain"},
	{": scope", "-scope"},
	{": cas[", "-cas"},
	{"site", "-site"},
	{"pool.web_farm_internal", "-web-farm-internal"},
	{"pool.web_farm_external", "-web-farm-external"},
	{"pool.allow_tcp", "-tcp"},
	{"pool", "-pool"},
	{"dns.", "-ns"},
	{"edge.internal", "-edge-internal"},
	{"edge.access", "-edge-sip"},
	{"edge.webconf_port", "-webconf-port"},
	{"edge.webconf", "-edge-webconf"},
	{"edge.av", "-edge-av"},
	{"edge", "-edge-sip"},
	{"reverse_proxy", "-reverse-proxy"},
	{"exchange.external_address", "-exchange-external"},
	{"exchange", "-cas"},
	{"cwa", "-cwa"},
	{"ttl", "-ttl"},
	{"certificates", "-certificates"},
	{"listen", "-listen"},
}

func flagOf(field string) string {
	for _, r := range flagRules {
		if strings.Contains(field, r.has) {
			return r.flag
		}
	}
	return field
}
