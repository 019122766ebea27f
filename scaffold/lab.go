package scaffold

import (
	"fmt"
	"net/netip"
	"regexp"
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
