package scaffold

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// Plan is the certificate and firewall plan of a lab: which names go on
// which certificate, and which ports to open between which roles.
type Plan struct {
	Title        string
	Source       string
	Certificates []Certificate
	Ports        []Port
}

// Certificate is one certificate to request.
type Certificate struct {
	Name        string   // what it is for ("Edge external interface")
	Group       string   // certificates alike share notes ("Exchange CAS"); "" = Name
	InstalledOn string   // where it goes
	Subject     string   // the subject name (CN)
	SANs        []string // subject alternative names, the subject first; empty: none
	Issuer      string   // public CA or internal CA
	Notes       []string
}

// Port is one firewall rule.
type Port struct {
	From, To string
	Port     string // "5061", "50000-59999"
	Protocol string // "TCP", "UDP", "TCP+UDP"
	Purpose  string
	Source   string // where the requirement comes from
}

// Where the plan's requirements come from (the field notes and the
// reference sources they cite).
const (
	srcSignIn     = "OCS 2007 R2 lab guide, part 3: internal clients use TLS (5061) or TCP (5060, _sipinternal); external clients TLS only"
	srcPorts      = "OCS 2007 R2 Ports and Protocols (TechNet dd425238)"
	srcEdgeSRV    = "OCS 2007 Edge DNS (TechNet bb870404): _sipfederationtls._tcp on 5061, _sip._tls on 443"
	srcAVAuth     = "Single certificate for OCS 2007 R2 and Exchange: the A/V authentication service uses 5062, not 443"
	src444        = "Single certificate for OCS 2007 R2 and Exchange: Access and Web Conferencing on one IP need different ports; web conferencing moves to 444, a non-standard port the firewall must allow"
	srcRevProxy   = "OCS 2007 R2 lab guide, part 4: the reverse proxy bridges SSL to the internal web farm FQDN (the pool)"
	srcOWAIM      = "Firewall requirements for integrating OCS and OWA: IIS on the CAS listens on TCP 5075 for the OCS pool"
	srcOWAIMSetup = "Integrating OCS 2007 R2 with Exchange 2010 OWA: OWA signs in to the pool (IMPoolName) with the CAS certificate"
	srcEdgeCerts  = "the Edge server carries three certificates: internal interface, Access/Web Conferencing, A/V authentication (OCS 2007 R2 lab guide, part 5)"
	srcSANTable   = "Single SAN certificate for OCS/Exchange on ISA 2006: sip, webconf, av, revproxy, cwa, download.cwa, as.cwa, mail, autodiscover"
	srcAutodisc   = "Configuring Exchange 2007 Autodiscover site affinity; KB 940881 (_autodiscover._tcp on 443)"
	srcCWACA      = "CWA requires a Server 2003+ Enterprise Edition CA (a duplicated, version 2 Web Server template)"
	srcISASAN     = "ISA 2004/2006 cannot publish SSL with a SAN certificate; ISA 2006 SP1 or TMG can"
	srcUMCert     = "Exchange UM with OCS: UM's self-signed certificate is not trusted by the pool; replace it with one for the UM server's FQDN from the CA the pool uses"
	srcPoolCert   = "OCS 2007 R2: the pool certificate carries sip.<domain> for automatic configuration and the web farm FQDNs"
)

// NewPlan works out the certificate and port plan of the lab.
func NewPlan(l *Lab) *Plan {
	p := &Plan{
		Title:  "Certificate and firewall plan: " + strings.Join(l.Zones, ", "),
		Source: l.Source,
	}
	if l.Certificates == CertsSingle {
		p.Title += " (one SAN certificate)"
		p.Certificates = append(p.Certificates, singleCertificate(l))
		p.Certificates = append(p.Certificates, edgeInternalCertificates(l)...)
	} else {
		p.Certificates = append(p.Certificates, edgeExternalCertificate(l)...)
		p.Certificates = append(p.Certificates, edgeInternalCertificates(l)...)
		p.Certificates = append(p.Certificates, reverseProxyCertificate(l)...)
		p.Certificates = append(p.Certificates, casCertificates(l)...)
	}
	p.Certificates = append(p.Certificates, umCertificates(l)...)
	p.Certificates = append(p.Certificates, poolCertificate(l))
	p.Certificates = append(p.Certificates, cwaCertificate(l)...)
	p.Ports = ports(l)
	return p
}

// rpExchange reports whether the reverse proxy publishes Exchange.
func rpExchange(l *Lab) bool {
	return l.Exchange != nil && l.ReverseProxy != nil && l.Exchange.External == l.ReverseProxy.Addr
}

// rpCWA reports whether the reverse proxy publishes CWA.
func rpCWA(l *Lab) bool {
	return l.CWA != nil && l.ReverseProxy != nil && l.CWA.External == l.ReverseProxy.Addr
}

// affinityName is the affinity name of scope, "" when the lab has none.
func affinityName(l *Lab, scope string) string {
	if l.Exchange == nil || !l.Exchange.Affinity || len(l.ScopeCAS(scope)) == 0 {
		return ""
	}
	return "affinity" + strings.ToLower(scope) + "." + l.PrimarySMTP()
}

// edgeExternalCertificate is the Access/Web Conferencing Edge certificate
// of the per-role plan.
func edgeExternalCertificate(l *Lab) []Certificate {
	e := l.Edge
	if e == nil {
		return nil
	}
	def := l.DefaultSIP()
	sans := []string{e.Access.FQDN, e.WebConf.FQDN}
	for _, d := range l.SIPDomains[1:] {
		sans = append(sans, "sip."+d)
	}
	notes := []string{
		"The subject name must be sip." + def + ": OCS requires the SRV domain to match the server name on the certificate (bb870404).",
		"Federation, remote users and public IM connectivity need a certificate from a public CA.",
		"One certificate for both the Access Edge and the Web Conferencing Edge; " + srcEdgeCerts + ".",
	}
	if e.WebConf.Addr == e.Access.Addr {
		notes = append(notes, fmt.Sprintf("Access and Web Conferencing share %s, so web conferencing listens on %d.", e.Access.Addr, e.WebConfPort))
	}
	if e.AV.Addr.IsValid() {
		notes = append(notes, "The A/V Edge external interface needs no certificate; "+e.AV.FQDN+" may still be added (some single-SAN guides do).")
	}
	return []Certificate{{
		Name:        "Edge external (Access Edge + Web Conferencing Edge)",
		InstalledOn: edgeExternal(e),
		Subject:     e.Access.FQDN,
		SANs:        sans,
		Issuer:      "public CA",
		Notes:       notes,
	}}
}

// edgeInternalCertificates are the Edge's internal-interface and A/V
// authentication certificates, the same in both plans.
func edgeInternalCertificates(l *Lab) []Certificate {
	e := l.Edge
	if e == nil {
		return nil
	}
	return []Certificate{{
		Name:        "Edge internal",
		InstalledOn: fmt.Sprintf("Edge server, internal interface (%s)", e.Internal.Addr),
		Subject:     e.Internal.FQDN,
		Issuer:      "internal CA",
		Notes:       []string{"One per Edge server: the name of its internal interface, in the internal namespace."},
	}, {
		Name:        "A/V authentication",
		InstalledOn: "Edge server, A/V Edge service (internal interface, port 5062)",
		Subject:     e.Internal.FQDN,
		Issuer:      "internal CA",
		Notes: []string{
			"No subject alternative names. A separate certificate and key from the Edge internal one: Microsoft considers sharing them insecure.",
			"The same certificate is exported to every A/V Edge of an array.",
		},
	}}
}

// reverseProxyNames are the names the reverse proxy publishes.
func reverseProxyNames(l *Lab) []string {
	if l.ReverseProxy == nil {
		return nil
	}
	var names []string
	if l.Pool.WebFarmExternal != "" {
		names = append(names, l.Pool.WebFarmExternal)
	}
	if rpCWA(l) {
		names = append(names, l.CWA.FQDN, "download."+l.CWA.FQDN, "as."+l.CWA.FQDN)
	}
	if rpExchange(l) {
		names = append(names, l.Exchange.Mail)
		for _, d := range l.SMTPDomains {
			names = append(names, "autodiscover."+d)
		}
	}
	return names
}

// reverseProxyCertificate is the ISA/TMG web listener's certificate of the
// per-role plan.
func reverseProxyCertificate(l *Lab) []Certificate {
	sans := reverseProxyNames(l)
	if len(sans) == 0 {
		return nil
	}
	return []Certificate{{
		Name:        "Reverse proxy (web listener)",
		InstalledOn: fmt.Sprintf("ISA/TMG external listener (%s)", l.ReverseProxy.Addr),
		Subject:     sans[0],
		SANs:        sans,
		Issuer:      "public CA",
		Notes: []string{
			srcISASAN + ".",
			"The proxy must trust the internal CA: it bridges SSL to the internal names.",
		},
	}}
}

// casCertificates are the per-role plan's certificates of each CAS.
func casCertificates(l *Lab) []Certificate {
	x := l.Exchange
	if x == nil {
		return nil
	}
	var out []Certificate
	for _, s := range l.Sites {
		for _, c := range s.CAS {
			sans := []string{x.Mail}
			for _, d := range l.SMTPDomains {
				sans = append(sans, "autodiscover."+d)
			}
			if a := affinityName(l, s.Scope); a != "" {
				sans = append(sans, a)
			}
			sans = append(sans, c.FQDN, c.Name)
			notes := []string{"The NetBIOS name and the FQDN, as the Exchange self-signed certificate has them."}
			if x.Affinity {
				notes = append(notes, "The affinity name is the host of AutodiscoverServiceInternalUri for this CAS's scope.")
			}
			if x.OWAIM {
				notes = append(notes, "OWA IM integration: the issuer and serial number of this certificate go into OWA's web.config (IMCertificateIssuer, IMCertificateSerialNumber) and the pool's Host Authorization.")
			}
			out = append(out, Certificate{
				Name:        "Exchange CAS " + c.Name,
				Group:       "Exchange CAS (each)",
				InstalledOn: fmt.Sprintf("%s (%s, site %s)", c.FQDN, c.Addr, s.Name),
				Subject:     x.Mail,
				SANs:        sans,
				Issuer:      "internal CA (a public CA if the CAS is published without a reverse proxy)",
				Notes:       notes,
			})
		}
	}
	return out
}

// umCertificates are the Unified Messaging certificates, one per CAS that
// runs UM, in both plans: UM and OCS authenticate each other with MTLS, and
// the pool checks that the subject is the UM server's FQDN.
func umCertificates(l *Lab) []Certificate {
	x := l.Exchange
	if x == nil || !x.UM {
		return nil
	}
	var out []Certificate
	for _, s := range l.Sites {
		for _, c := range s.CAS {
			out = append(out, Certificate{
				Name:        "Exchange UM " + c.Name,
				Group:       "Exchange UM (each)",
				InstalledOn: fmt.Sprintf("%s (%s, site %s), UM service", c.FQDN, c.Addr, s.Name),
				Subject:     c.FQDN,
				Issuer:      "internal CA (the CA the OCS pool trusts)",
				Notes: []string{
					srcUMCert + ".",
					"Enabled for the UM service only (Enable-ExchangeCertificate -Services UM); restart the UM service and the Front End afterwards.",
				},
			})
		}
	}
	return out
}

// poolCertificate is the Front End / pool certificate, the same in both plans.
func poolCertificate(l *Lab) Certificate {
	sans := []string{l.Pool.FQDN}
	for _, d := range l.SIPDomains {
		sans = append(sans, "sip."+d)
	}
	if l.Pool.WebFarmInternal != l.Pool.FQDN {
		sans = append(sans, l.Pool.WebFarmInternal)
	}
	if l.Pool.WebFarmExternal != "" {
		sans = append(sans, l.Pool.WebFarmExternal)
	}
	return Certificate{
		Name:        "Front End / pool",
		InstalledOn: fmt.Sprintf("every Front End server of %s (%s)", l.Pool.FQDN, l.Pool.Addr),
		Subject:     l.Pool.FQDN,
		SANs:        sans,
		Issuer:      "internal CA (an Enterprise CA)",
		Notes:       []string{srcPoolCert + "."},
	}
}

// cwaCertificate is the CWA server's certificate, the same in both plans.
func cwaCertificate(l *Lab) []Certificate {
	w := l.CWA
	if w == nil {
		return nil
	}
	return []Certificate{{
		Name:        "Communicator Web Access",
		InstalledOn: fmt.Sprintf("CWA server (%s)", w.Internal),
		Subject:     w.FQDN,
		SANs:        []string{w.FQDN, "download." + w.FQDN, "as." + w.FQDN},
		Issuer:      "internal CA",
		Notes:       []string{srcCWACA + "."},
	}}
}

// singleNames returns the subject and the SANs (the subject first) of the
// single certificate: the Edge's external names, the reverse proxy's, and
// the names each CAS answers to.
func singleNames(l *Lab) (subject string, sans []string) {
	seen := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			if n != "" && !seen[n] {
				seen[n] = true
				sans = append(sans, n)
			}
		}
	}
	if e := l.Edge; e != nil {
		add(e.Access.FQDN)
		for _, d := range l.SIPDomains[1:] {
			add("sip." + d)
		}
		add(e.WebConf.FQDN, e.AV.FQDN)
	}
	add(reverseProxyNames(l)...)
	if x := l.Exchange; x != nil {
		add(x.Mail)
		for _, d := range l.SMTPDomains {
			add("autodiscover." + d)
		}
		for _, sc := range l.Scopes {
			add(affinityName(l, sc))
		}
		for _, c := range l.CAS() {
			add(c.FQDN)
		}
	}
	return sans[0], sans
}

// singleCertificate is the one SAN certificate of the single plan, with
// the consequences the field notes spell out.
func singleCertificate(l *Lab) Certificate {
	subject, sans := singleNames(l)
	var on []string
	var notes []string
	if e := l.Edge; e != nil {
		on = append(on, edgeExternal(e))
		notes = append(notes,
			"The subject name is "+subject+", the Access Edge FQDN: OCS requires the SRV domain to match the server name on the certificate (bb870404); every other name is a SAN, the subject repeated first.",
			fmt.Sprintf("The Access Edge and the Web Conferencing Edge share the name %s and the address %s: with one certificate the Edge matches the names of both services, and a second name set in the Edge wizard does not take effect. Both cannot listen on 443, so web conferencing moves to %d, a non-standard port the firewall must allow (%s for 443 needs a separate certificate and address).",
				e.Access.FQDN, e.Access.Addr, e.WebConfPort, e.WebConf.FQDN),
			"Clients learn the web conferencing port from the conference configuration the Front End hands out; nothing on the clients changes.",
		)
	}
	if l.ReverseProxy != nil && len(reverseProxyNames(l)) > 0 {
		on = append(on, fmt.Sprintf("ISA/TMG web listener (%s)", l.ReverseProxy.Addr))
		notes = append(notes, "The reverse proxy must be ISA 2006 SP1 or TMG: "+srcISASAN+" (the publishing rule's public name must match the subject, and only one name can).",
			"Import it, with its private key, into the proxy's computer store; the proxy must also trust the internal CA, since it bridges SSL to the internal names.")
	}
	if x := l.Exchange; x != nil {
		on = append(on, fmt.Sprintf("every CAS (%d), for IIS and SMTP", len(l.CAS())))
		n := "The CAS FQDNs"
		if x.Affinity {
			n = "The affinity names (the hosts of AutodiscoverServiceInternalUri) and the CAS FQDNs"
		}
		notes = append(notes, n+" are on it too, so that internal Outlook clients get no name mismatch from any CAS. The NetBIOS names are not: a public CA issues none.")
	}
	notes = append(notes,
		"Names in an internal namespace (.lab, .local) are not issued by public CAs since November 2015: in a lab, issue it from a CA every client and partner trusts, or use real public names.",
		"Request it once with an exportable private key, then export it with the key (PFX) to every server it is installed on. One certificate to renew, and one key to protect everywhere.",
		"The internal certificates stay separate: the Edge internal interface, A/V authentication (a key of its own, port 5062), the pool (internal CA, MTLS between servers) and UM.",
	)
	return Certificate{
		Name:        "Single SAN certificate (UCC)",
		InstalledOn: strings.Join(on, "; "),
		Subject:     subject,
		SANs:        sans,
		Issuer:      "public CA",
		Notes:       notes,
	}
}

// ports works out the firewall rules of the lab.
func ports(l *Lab) []Port {
	var out []Port
	cas := l.CAS()
	port := func(from, to, num, proto, purpose, source string) {
		out = append(out, Port{From: from, To: to, Port: num, Protocol: proto, Purpose: purpose, Source: source})
	}
	poolName := "pool " + l.Pool.FQDN
	if l.NS.Addr.IsValid() {
		port("lab clients and servers", fmt.Sprintf("sitedns %s", l.NS.Addr), "53", "UDP+TCP", "DNS", "RFC 1035, RFC 7766")
	}
	port("internal clients", poolName, "5061", "TCP", "SIP/TLS sign-in (_sipinternaltls._tcp)", srcSignIn)
	if l.Pool.AllowTCP {
		port("internal clients", poolName, "5060", "TCP", "SIP/TCP sign-in (_sipinternal._tcp)", srcSignIn)
	}
	port("internal clients", "web farm "+l.Pool.WebFarmInternal, "443", "TCP", "HTTPS: address book, group expansion, meeting content", srcPorts)
	port("Front End", "conferencing servers (inside the pool)", "444", "TCP", "HTTPS between the Focus and the conferencing servers; open only if a firewall separates them", srcPorts)
	if e := l.Edge; e != nil {
		edgeInt := "Edge internal " + e.Internal.FQDN
		port("Internet (remote users)", "Access Edge "+e.Access.Addr.String(), "443", "TCP", "SIP/TLS remote sign-in (_sip._tls)", srcEdgeSRV)
		port("federated partners", "Access Edge "+e.Access.Addr.String(), "5061", "TCP", "SIP/MTLS federation (_sipfederationtls._tcp), both directions", srcEdgeSRV)
		if e.WebConfPort == 443 {
			port("Internet", "Web Conferencing Edge "+e.WebConf.Addr.String(), "443", "TCP", "PSOM/TLS web conferencing", srcPorts)
		} else {
			src := srcPorts
			if e.WebConfPort == 444 {
				src = src444
			}
			port("Internet", "Web Conferencing Edge "+e.WebConf.Addr.String(), fmt.Sprint(e.WebConfPort), "TCP", "PSOM/TLS web conferencing (shares the Access Edge address)", src)
		}
		if e.AV.Addr.IsValid() {
			av := "A/V Edge " + e.AV.Addr.String()
			port("Internet", av, "443", "TCP", "media relay over TCP", srcPorts)
			port("Internet", av, "3478", "UDP", "STUN/media relay over UDP", srcPorts)
			port("Internet", av, "50000-59999", "TCP+UDP", "RTP media; needed for federation with OCS 2007 (R1) partners, R2 alone needs it outbound only", srcPorts)
		}
		port(poolName, edgeInt, "5061", "TCP", "SIP/MTLS between the pool (next hop) and the Access Edge", srcPorts)
		port(poolName, edgeInt, "8057", "TCP", "PSOM/MTLS from the web conferencing server to the Web Conferencing Edge", srcPorts)
		port("internal clients and "+poolName, edgeInt, "5062", "TCP", "SIP/MTLS A/V authentication (not 443)", srcAVAuth)
		port("internal clients", edgeInt, "3478", "UDP", "STUN/media relay", srcPorts)
		port("internal clients", edgeInt, "443", "TCP", "STUN/media relay over TCP", srcPorts)
	}
	if rp := l.ReverseProxy; rp != nil {
		port("Internet", fmt.Sprintf("reverse proxy %s", rp.Addr), "443", "TCP", "HTTPS: external web farm, CWA, OWA, Autodiscover", srcSANTable)
		if l.Pool.WebFarmExternal != "" {
			port("reverse proxy", "web farm "+l.Pool.WebFarmInternal, "443", "TCP", "HTTPS bridged to the internal web farm FQDN", srcRevProxy)
		}
		if rpExchange(l) {
			port("reverse proxy", "CAS", "443", "TCP", "HTTPS: OWA, Outlook Anywhere, EWS, Autodiscover", srcSANTable)
		}
		if l.CWA != nil && l.CWA.External == rp.Addr {
			port("reverse proxy", "CWA server "+l.CWA.Internal.String(), "443", "TCP", "HTTPS: Communicator Web Access", srcSANTable)
		}
	}
	if x := l.Exchange; x != nil && len(cas) > 0 {
		port("Outlook and internal clients", "CAS", "443", "TCP", "HTTPS: Autodiscover, EWS, OWA (autodiscover, mail, affinity names)", srcAutodisc)
		if x.External.IsValid() {
			port("Internet", "mail "+x.External.String(), "25", "TCP", "SMTP to the MX host "+x.Mail, "RFC 5321")
		}
		if x.OWAIM {
			port("CAS (OWA)", poolName, "5061", "TCP", "SIP/MTLS: OWA IM signs in to the pool", srcOWAIMSetup)
			port(poolName, "CAS (IIS worker process)", "5075", "TCP", "OWA IM integration: messages to OWA users", srcOWAIM)
		}
	}
	return out
}

// edgeExternal says where the Edge external certificate goes.
func edgeExternal(e *Edge) string {
	if e.WebConf.Addr == e.Access.Addr {
		return fmt.Sprintf("Edge server, external interface: Access Edge and Web Conferencing Edge %s (web conferencing on %d)", e.Access.Addr, e.WebConfPort)
	}
	return fmt.Sprintf("Edge server, external interface: Access Edge %s, Web Conferencing Edge %s", e.Access.Addr, e.WebConf.Addr)
}

// mdEscape makes s safe in a Markdown table cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteMarkdown writes the plan as Markdown: a certificate table with notes,
// then a port table.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", p.Title)
	fmt.Fprintf(&b, "Written by `sitedns scaffold -plan` from %s.\n\n", p.Source)
	b.WriteString("## Certificates\n\n")
	b.WriteString("| Certificate | Installed on | Subject name | Subject alternative names | Issuer |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, c := range p.Certificates {
		sans := "none"
		if len(c.SANs) > 0 {
			sans = strings.Join(c.SANs, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(c.Name), mdEscape(c.InstalledOn), c.Subject, sans, mdEscape(c.Issuer))
	}
	b.WriteString("\n")
	done := map[string]bool{}
	for _, c := range p.Certificates {
		group := c.Group
		if group == "" {
			group = c.Name
		}
		if len(c.Notes) == 0 || done[group] {
			continue
		}
		done[group] = true
		fmt.Fprintf(&b, "**%s**\n\n", group)
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Ports\n\n")
	b.WriteString("| From | To | Port | Protocol | Purpose | Source |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range p.Ports {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n",
			mdEscape(r.From), mdEscape(r.To), r.Port, r.Protocol, mdEscape(r.Purpose), mdEscape(r.Source))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"section", "certificate", "installed_on", "name", "kind", "issuer", "from", "to", "port", "protocol", "purpose", "source"}

// WriteCSV writes the plan as one CSV table for a spreadsheet: a
// "certificate" row per name on a certificate (kind "subject" or "san"),
// then a "port" row per firewall rule.
func (p *Plan) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	for _, c := range p.Certificates {
		_ = cw.Write([]string{"certificate", c.Name, c.InstalledOn, c.Subject, "subject", c.Issuer, "", "", "", "", "", ""})
		for _, s := range c.SANs {
			_ = cw.Write([]string{"certificate", c.Name, c.InstalledOn, s, "san", c.Issuer, "", "", "", "", "", ""})
		}
	}
	for _, r := range p.Ports {
		_ = cw.Write([]string{"port", "", "", "", "", "", r.From, r.To, r.Port, r.Protocol, r.Purpose, r.Source})
	}
	cw.Flush()
	return cw.Error()
}
