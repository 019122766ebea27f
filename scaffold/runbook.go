package scaffold

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// WriteRunbook writes what an admin runs on the Exchange and OCS servers to
// match the DNS the config gives, as Markdown with PowerShell blocks: the
// Autodiscover site affinity of every CAS, the certificate requests and
// enables of the lab's certificate plan, the OWA IM integration, and the
// checks to run afterwards. Everything comes from the same Lab as Config and
// NewPlan, so the site scopes Exchange is told and the scopes sitedns
// answers by cannot disagree.
func WriteRunbook(w io.Writer, l *Lab) error {
	zs, clash := build(l)
	if clash != nil {
		return fmt.Errorf("scaffold: %s %s", clash.name, clash.msg)
	}
	rb := &runbook{l: l, plan: NewPlan(l), zones: zs}
	mode := "a certificate per role"
	if l.Certificates == CertsSingle {
		mode = "one SAN certificate"
	}
	rb.printf("# Runbook: %s (%s)\n\n", strings.Join(l.Zones, ", "), mode)
	rb.printf("Written by `sitedns scaffold -runbook` from %s, with the config and the plan. Run the\n"+
		"PowerShell blocks in the Exchange Management Shell (Exchange 2007 or 2010) unless a block says\n"+
		"otherwise; each line names the server it acts on.\n\n", l.Source)
	if l.Exchange != nil {
		rb.siteAffinity()
	}
	rb.certificates()
	if l.Exchange != nil && l.Exchange.OWAIM {
		rb.owaIM()
	}
	rb.checks()
	_, err := io.WriteString(w, rb.b.String())
	return err
}

// runbook accumulates the Markdown of WriteRunbook.
type runbook struct {
	l     *Lab
	plan  *Plan
	zones []*zoneOut
	b     strings.Builder
}

func (rb *runbook) printf(format string, args ...any) { fmt.Fprintf(&rb.b, format, args...) }

// block writes a fenced code block of the given language.
func (rb *runbook) block(lang string, lines ...string) {
	rb.printf("```%s\n%s\n```\n\n", lang, strings.Join(lines, "\n"))
}

// psQuote quotes s for PowerShell (double quotes; none of our names or
// addresses holds a character that needs escaping inside them).
func psQuote(s string) string { return `"` + s + `"` }

func psList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = psQuote(s)
	}
	return strings.Join(q, ",")
}

// ScopeSites returns the names of the sites of scope, in config order.
func (l *Lab) ScopeSites(scope string) []string {
	var out []string
	for _, s := range l.Sites {
		if s.Scope == scope {
			out = append(out, s.Name)
		}
	}
	return out
}

// AutodiscoverHost is the host of the AutodiscoverServiceInternalUri of
// the CAS of scope: its affinity name, or the site-aware autodiscover name
// of the primary SMTP domain when the lab has no affinity names.
func (l *Lab) AutodiscoverHost(scope string) string {
	if a := affinityName(l, scope); a != "" {
		return a
	}
	return "autodiscover." + l.PrimarySMTP()
}

// siteAffinity writes the Set-ClientAccessServer line of every CAS.
func (rb *runbook) siteAffinity() {
	l := rb.l
	rb.printf("## 1. Autodiscover site affinity\n\n")
	rb.printf("Outlook inside the domain finds Autodiscover through the service connection point (SCP) each\n" +
		"CAS writes to Active Directory, and prefers the SCPs whose site scope holds its own site. Each\n" +
		"CAS gets the Autodiscover URL of its scope and, as its site scope, exactly the sites of that\n" +
		"scope in the sitedns config, so Exchange and DNS send a client to the same servers.\n\n")
	for _, sc := range l.Scopes {
		cas := l.ScopeCAS(sc)
		if len(cas) == 0 {
			continue
		}
		host := l.AutodiscoverHost(sc)
		lines := []string{fmt.Sprintf("# Scope %s: %s answers %s to clients of the scope.", sc, host, strings.Join(rb.internalAnswer(host, sc, "A"), ", "))}
		for _, c := range cas {
			lines = append(lines, fmt.Sprintf("Set-ClientAccessServer -Identity %s -AutodiscoverServiceInternalUri %s -AutodiscoverSiteScope %s",
				psQuote(c.Name), psQuote("https://"+host+"/Autodiscover/Autodiscover.xml"), psList(l.ScopeSites(sc))))
		}
		rb.block("powershell", lines...)
	}
	rb.block("powershell", "Get-ClientAccessServer | Format-Table Name,AutoDiscoverServiceInternalUri,AutoDiscoverSiteScope -AutoSize")
}

// entry returns the config entry of owner, or nil.
func (rb *runbook) entry(owner string) *entry {
	for _, z := range rb.zones {
		for _, e := range z.entries {
			if e.owner == owner {
				return e
			}
		}
	}
	return nil
}

// internalAnswer and externalAnswer return the data of owner's records of
// type typ that a client of scope (or a client in no site) gets, as dig
// +short prints them; nil when there are none.
func (rb *runbook) internalAnswer(owner, scope, typ string) []string {
	e := rb.entry(owner)
	if e == nil {
		return nil
	}
	if !e.aware {
		return rrData(e.plain, typ)
	}
	return rrData(e.internal[scope], typ)
}

func (rb *runbook) externalAnswer(owner, typ string) []string {
	e := rb.entry(owner)
	if e == nil {
		return nil
	}
	if !e.aware {
		return rrData(e.plain, typ)
	}
	return rrData(e.def, typ)
}

// rrData picks the data of the records of type typ from "TTL IN TYPE data"
// strings.
func rrData(recs []string, typ string) []string {
	var out []string
	for _, r := range recs {
		f := strings.SplitN(r, " ", 4)
		if len(f) == 4 && f[2] == typ {
			out = append(out, f[3])
		}
	}
	return out
}

// certFile is the base name of a certificate's request and answer files.
func certFile(c Certificate) string {
	for prefix, file := range map[string]string{"Exchange CAS ": "cas-", "Exchange UM ": "um-"} {
		if rest, ok := strings.CutPrefix(c.Name, prefix); ok {
			return file + strings.ToLower(rest)
		}
	}
	switch c.Name {
	case "Edge external (Access Edge + Web Conferencing Edge)":
		return "edge-external"
	case "A/V authentication":
		return "av-authentication"
	case "Reverse proxy (web listener)":
		return "reverse-proxy"
	case "Front End / pool":
		return "pool"
	case "Communicator Web Access":
		return "cwa"
	}
	return strings.ToLower(strings.Join(strings.FieldsFunc(c.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}), "-"))
}

// certificates writes the requests and enables of the plan's certificates.
func (rb *runbook) certificates() {
	l := rb.l
	n := 2
	if l.Exchange == nil {
		n = 1
	}
	rb.printf("## %d. Certificates\n\n", n)
	rb.printf("The certificates of the plan (`-plan`), requested where they are used. Requests for the internal\n" +
		"CA are submitted with certreq (set `$CA` to your Enterprise CA, as `certutil -dump` names it); those\n" +
		"for a public CA go to its web site, and the answer is saved as the `.cer` file named below. The OCS\n" +
		"certreq blocks need the certreq of Windows Server 2008 or later; OCS 2007 R2 then assigns the\n" +
		"certificate in its Certificate Wizard (Front End: Configure Certificate; Edge: Configure\n" +
		"Certificates, per interface).\n\n")
	rb.block("powershell", `$CA = "ca01.`+l.DefaultSIP()+`\Enterprise Root CA"   # your Enterprise CA (host\name)`,
		`New-Item -ItemType Directory -Force -Path C:\certreq | Out-Null`)
	for _, c := range rb.plan.Certificates {
		switch {
		case c.Name == "Single SAN certificate (UCC)":
			rb.singleCert(c)
		case strings.HasPrefix(c.Name, "Exchange CAS "):
			rb.exchangeCert(c, strings.TrimPrefix(c.Name, "Exchange CAS "), "IIS,SMTP", false)
		case strings.HasPrefix(c.Name, "Exchange UM "):
			rb.exchangeCert(c, strings.TrimPrefix(c.Name, "Exchange UM "), "UM", true)
		default:
			rb.ocsCert(c)
		}
	}
}

// exchangeRequest is the New-ExchangeCertificate request of c on server.
func exchangeRequest(c Certificate, server, file string) []string {
	names := c.SANs
	if len(names) == 0 {
		names = []string{c.Subject}
	}
	return []string{
		fmt.Sprintf("$req = New-ExchangeCertificate -Server %s -GenerateRequest -SubjectName %s -DomainName %s -KeySize 2048 -PrivateKeyExportable $true",
			psQuote(server), psQuote("cn="+c.Subject), psList(names)),
		fmt.Sprintf(`Set-Content -Path C:\certreq\%s.req -Value $req   # Exchange 2007: -Path C:\certreq\%s.req on New-ExchangeCertificate instead`, file, file),
	}
}

// exchangeCert writes the request, import and enable of an Exchange
// certificate on server; internal says it is submitted to the internal CA.
func (rb *runbook) exchangeCert(c Certificate, server, services string, internal bool) {
	file := certFile(c)
	rb.certHeading(c)
	lines := exchangeRequest(c, server, file)
	if internal {
		lines = append(lines, fmt.Sprintf(`certreq -submit -config $CA C:\certreq\%s.req C:\certreq\%s.cer`, file, file))
	} else {
		lines = append(lines, fmt.Sprintf(`# Submit C:\certreq\%s.req to the CA; save its answer as C:\certreq\%s.cer, then:`, file, file))
	}
	lines = append(lines,
		fmt.Sprintf(`$cert = Import-ExchangeCertificate -Server %s -FileData ([Byte[]](Get-Content -Path C:\certreq\%s.cer -Encoding Byte -ReadCount 0))`, psQuote(server), file),
		fmt.Sprintf("Enable-ExchangeCertificate -Server %s -Thumbprint $cert.Thumbprint -Services %s", psQuote(server), services))
	if services == "UM" {
		lines = append(lines, fmt.Sprintf("Invoke-Command -ComputerName %s { Restart-Service MSExchangeUM }   # then restart the OCS Front End service", psQuote(server)))
	}
	rb.block("powershell", lines...)
}

// certHeading introduces a certificate: what, where, which names, from whom.
func (rb *runbook) certHeading(c Certificate) {
	sans := "no subject alternative names"
	if len(c.SANs) > 0 {
		sans = "subject alternative names " + strings.Join(c.SANs, ", ")
	}
	rb.printf("### %s\n\nOn %s. Subject %s, %s. Issuer: %s.\n\n", c.Name, c.InstalledOn, c.Subject, sans, c.Issuer)
}

// singleCert writes the single certificate: requested on the first CAS
// (or with certreq where the lab has no Exchange), exported with its key,
// and installed on every CAS, the Edge and the reverse proxy.
func (rb *runbook) singleCert(c Certificate) {
	l := rb.l
	rb.certHeading(c)
	cas := l.CAS()
	if len(cas) == 0 {
		rb.ocsRequest(c, "single-san-certificate-ucc", false)
	} else {
		first := cas[0].Name
		lines := []string{"# The request, once, on " + first + ":"}
		lines = append(lines, exchangeRequest(c, first, "single")...)
		lines = append(lines,
			`# Submit C:\certreq\single.req to the public CA; save its answer as C:\certreq\single.cer, then:`,
			`$pw = Read-Host -AsSecureString "PFX password"`,
			fmt.Sprintf(`$cert = Import-ExchangeCertificate -Server %s -FileData ([Byte[]](Get-Content -Path C:\certreq\single.cer -Encoding Byte -ReadCount 0))`, psQuote(first)),
			fmt.Sprintf("Enable-ExchangeCertificate -Server %s -Thumbprint $cert.Thumbprint -Services IIS,SMTP", psQuote(first)),
			fmt.Sprintf("$pfx = Export-ExchangeCertificate -Server %s -Thumbprint $cert.Thumbprint -BinaryEncoded:$true -Password $pw", psQuote(first)),
			`Set-Content -Path C:\certreq\single.pfx -Value $pfx.FileData -Encoding Byte`)
		for _, o := range cas[1:] {
			lines = append(lines,
				fmt.Sprintf(`$c = Import-ExchangeCertificate -Server %s -FileData ([Byte[]](Get-Content -Path C:\certreq\single.pfx -Encoding Byte -ReadCount 0)) -Password $pw -PrivateKeyExportable $true`, psQuote(o.Name)),
				fmt.Sprintf("Enable-ExchangeCertificate -Server %s -Thumbprint $c.Thumbprint -Services IIS,SMTP", psQuote(o.Name)))
		}
		rb.block("powershell", lines...)
	}
	var where []string
	if e := l.Edge; e != nil {
		where = append(where, fmt.Sprintf("the Edge server (then in the Edge's Configure Certificates, assign it to the external interface; in its properties the Web Conferencing Edge takes the FQDN %s and port %d)", e.Access.FQDN, e.WebConfPort))
	}
	if l.ReverseProxy != nil && len(reverseProxyNames(l)) > 0 {
		where = append(where, "the ISA 2006 SP1 or TMG server (then select it on the web listener)")
	}
	if len(where) > 0 {
		rb.printf("Copy `C:\\certreq\\single.pfx` to %s, and import it into the computer store there:\n\n", strings.Join(where, ", and to "))
		rb.block("powershell", `certutil -f -p (Read-Host "PFX password") -importpfx C:\certreq\single.pfx`)
	}
}

// ocsCert writes the certreq request of an OCS, Edge or proxy certificate.
func (rb *runbook) ocsCert(c Certificate) {
	rb.certHeading(c)
	rb.ocsRequest(c, certFile(c), strings.HasPrefix(c.Issuer, "internal"))
}

// ocsRequest writes a certreq INF for c and its submission: to $CA when
// internal, else to the public CA by hand.
func (rb *runbook) ocsRequest(c Certificate, file string, internal bool) {
	lines := []string{"@'", "[Version]", `Signature="$Windows NT$"`, "[NewRequest]",
		fmt.Sprintf(`Subject = "CN=%s"`, c.Subject), "KeyLength = 2048", "Exportable = TRUE", "MachineKeySet = TRUE",
		"KeySpec = 1", "KeyUsage = 0xa0", "RequestType = PKCS10",
		"[EnhancedKeyUsageExtension]", "OID = 1.3.6.1.5.5.7.3.1   ; server authentication",
		"OID = 1.3.6.1.5.5.7.3.2   ; client authentication (MTLS between servers)"}
	if len(c.SANs) > 0 {
		lines = append(lines, "[Extensions]", `2.5.29.17 = "{text}"`)
		for _, s := range c.SANs {
			lines = append(lines, fmt.Sprintf(`_continue_ = "dns=%s&"`, s))
		}
	}
	lines = append(lines, fmt.Sprintf(`'@ | Set-Content -Path C:\certreq\%s.inf`, file),
		fmt.Sprintf(`certreq -new C:\certreq\%s.inf C:\certreq\%s.req`, file, file))
	if internal {
		lines = append(lines, fmt.Sprintf(`certreq -submit -config $CA C:\certreq\%s.req C:\certreq\%s.cer`, file, file))
	} else {
		lines = append(lines, fmt.Sprintf(`# Submit C:\certreq\%s.req to the public CA; save its answer as C:\certreq\%s.cer, then:`, file, file))
	}
	lines = append(lines, fmt.Sprintf(`certreq -accept C:\certreq\%s.cer`, file))
	rb.block("powershell", lines...)
}

// owaIM writes the OWA IM integration of every CAS.
func (rb *runbook) owaIM() {
	l := rb.l
	rb.printf("## 3. OWA IM integration\n\n")
	rb.printf("Exchange 2010 OWA signs in to the pool %s with the certificate of each CAS, and the pool sends\n"+
		"messages back to IIS on the CAS on TCP 5075. On each CAS, after installing the OCS Web Service\n"+
		"Provider: OWA's web.config gets the pool and the issuer and serial number of the certificate,\n"+
		"the OWA virtual directory turns IM on, and the Windows Firewall lets the pool reach 5075. Then,\n"+
		"on the pool (Front End Properties, Host Authorization), add each CAS FQDN with Throttle As\n"+
		"Server and Treat As Authenticated.\n\n", l.Pool.FQDN)
	subject := l.Exchange.Mail
	if l.Certificates == CertsSingle {
		subject, _ = singleNames(l)
	}
	var names []string
	for _, c := range l.CAS() {
		names = append(names, c.Name)
	}
	rb.printf("Run this on each CAS (%s):\n\n", strings.Join(names, ", "))
	rb.block("powershell",
		fmt.Sprintf(`$cert = Get-ExchangeCertificate | Where-Object { $_.Subject -eq "CN=%s" -and $_.Services -match "IIS" } | Select-Object -First 1`, subject),
		`$path = Join-Path $env:ExchangeInstallPath "ClientAccess\Owa\web.config"`,
		`[xml]$cfg = Get-Content $path`,
		fmt.Sprintf(`$set = @{ IMPoolName = "%s"; IMCertificateIssuer = $cert.Issuer; IMCertificateSerialNumber = $cert.SerialNumber }`, l.Pool.FQDN),
		`foreach ($k in $set.Keys) { ($cfg.configuration.appSettings.add | Where-Object { $_.key -eq $k }).value = $set[$k] }`,
		`$cfg.Save($path)`,
		"Get-OwaVirtualDirectory -Server $env:COMPUTERNAME | Set-OwaVirtualDirectory -InstantMessagingType OCS",
		fmt.Sprintf(`netsh advfirewall firewall add rule name="OWA IM from the OCS pool" dir=in action=allow protocol=TCP localport=5075 remoteip=%s`, l.Pool.Addr),
		`& "$env:windir\system32\inetsrv\appcmd.exe" recycle apppool /apppool.name:MSExchangeOWAAppPool`)
}

// check is one dig line and what it must print.
type check struct{ name, typ, expect string }

// viewChecks are the lookups of one view: a scope, or "" for clients in no
// site.
func (rb *runbook) viewChecks(scope string) []check {
	l := rb.l
	var names []struct{ name, typ string }
	addName := func(name, typ string) { names = append(names, struct{ name, typ string }{name, typ}) }
	for _, d := range l.SIPDomains {
		addName("_sipinternaltls._tcp."+d, "SRV")
	}
	if l.Edge != nil {
		addName("_sip._tls."+l.DefaultSIP(), "SRV")
	}
	addName("sip."+l.DefaultSIP(), "A")
	addName("sipinternal."+l.DefaultSIP(), "A")
	addName(l.Pool.FQDN, "A")
	if x := l.Exchange; x != nil {
		addName("autodiscover."+l.PrimarySMTP(), "A")
		addName(x.Mail, "A")
		for _, sc := range l.Scopes {
			if a := affinityName(l, sc); a != "" {
				addName(a, "A")
			}
		}
	}
	var out []check
	for _, n := range names {
		var data []string
		if scope == "" {
			data = rb.externalAnswer(n.name, n.typ)
		} else {
			data = rb.internalAnswer(n.name, scope, n.typ)
		}
		c := check{name: n.name, typ: n.typ}
		switch {
		case len(data) > 0:
			sorted := slices.Clone(data)
			slices.Sort(sorted)
			c.expect = strings.Join(sorted, " ")
		case rb.existsOutside(n.name):
			c.expect = "NODATA"
		default:
			c.expect = "NXDOMAIN"
		}
		out = append(out, c)
	}
	return out
}

// existsOutside reports whether owner has any record for a client in no
// site: then a type it lacks there is NODATA, not NXDOMAIN.
func (rb *runbook) existsOutside(owner string) bool {
	e := rb.entry(owner)
	return e != nil && (!e.aware || len(e.def) > 0)
}

// checks writes the dig lines of each view and Test-OutlookWebServices.
func (rb *runbook) checks() {
	l := rb.l
	n := 4
	if l.Exchange == nil {
		n = 2
	} else if !l.Exchange.OWAIM {
		n = 3
	}
	rb.printf("## %d. Checks\n\n", n)
	ns := "DNS-SERVER"
	if l.NS.Addr.IsValid() {
		ns = l.NS.Addr.String()
	}
	rb.printf("Ask sitedns (%s) as each kind of client does. `dig +short` prints the records (here in sorted\n"+
		"order; round robin and netmask ordering change the order, not the set); a name a client's view\n"+
		"does not have answers NXDOMAIN, and a name that exists there with no record of the type asked\n"+
		"answers NOERROR with no records (NODATA).\n\n", ns)
	views := slices.Clone(l.Scopes)
	views = append(views, "")
	for _, sc := range views {
		if sc == "" {
			rb.printf("From the Internet (an address in no site):\n\n")
		} else {
			site := rb.firstSite(sc)
			rb.printf("From a client in %s (%s), scope %s:\n\n", site.Name, prefixes(site.Subnets), sc)
		}
		var lines []string
		for _, c := range rb.viewChecks(sc) {
			switch c.expect {
			case "NXDOMAIN", "NODATA":
				status := "NXDOMAIN"
				if c.expect == "NODATA" {
					status = "NOERROR, ANSWER: 0"
				}
				lines = append(lines, fmt.Sprintf("dig @%s %s %s | grep -E 'status|ANSWER:'   # %s", ns, c.name, c.typ, status))
			default:
				lines = append(lines, fmt.Sprintf("dig @%s +short %s %s   # %s", ns, c.name, c.typ, c.expect))
			}
		}
		rb.block("sh", lines...)
	}
	if l.Exchange == nil {
		return
	}
	rb.printf("Then, in the Exchange Management Shell, Autodiscover and the web services of every CAS, with a\n" +
		"mailbox of yours (Exchange 2010 creates a test mailbox with new-TestCasConnectivityUser.ps1):\n\n")
	var lines []string
	for _, c := range l.CAS() {
		lines = append(lines, fmt.Sprintf("Test-OutlookWebServices -Identity %s -ClientAccessServer %s",
			psQuote("administrator@"+l.PrimarySMTP()), psQuote(c.Name)))
	}
	rb.block("powershell", lines...)
}

// firstSite is the first site of scope.
func (rb *runbook) firstSite(scope string) Site {
	for _, s := range rb.l.Sites {
		if s.Scope == scope {
			return s
		}
	}
	return Site{}
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
