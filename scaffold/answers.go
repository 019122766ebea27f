package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sitedns/sitedns/internal/tomlkey"
)

// Answers is an answers file as written: the facts of one OCS 2007 R2 +
// Exchange 2007/2010 lab. Every field is a string or a number as the admin
// typed it; Validate turns it into a Lab or says what is wrong.
type Answers struct {
	// SIPDomains are the SIP domains; the first is the default one (the Edge
	// names, the pool's sip name and the CWA names live in it). Each gets its
	// own sign-in SRV records.
	SIPDomains []string `toml:"sip_domains"`
	// SMTPDomains are the SMTP domains; the first is the primary one (mail
	// lives in it). Empty: the SIP domains.
	SMTPDomains []string `toml:"smtp_domains"`
	// TTL is the TTL of the records (default 300).
	TTL int `toml:"ttl"`
	// Listen, when set, is written to [server] listen.
	Listen []string `toml:"listen"`
	// Certificates is the certificate plan: "per-role" (the default: a
	// certificate per role, the Edge external one public) or "single" (one
	// public SAN certificate for the Edge, the reverse proxy and every CAS).
	Certificates string `toml:"certificates"`

	DNS          *DNSAnswers          `toml:"dns"`
	Sites        []SiteAnswers        `toml:"site"`
	Pool         *PoolAnswers         `toml:"pool"`
	Edge         *EdgeAnswers         `toml:"edge"`
	ReverseProxy *ReverseProxyAnswers `toml:"reverse_proxy"`
	Exchange     *ExchangeAnswers     `toml:"exchange"`
	CWA          *CWAAnswers          `toml:"cwa"`
}

// DNSAnswers describes the lab's DNS server itself: the zones' SOA and NS.
type DNSAnswers struct {
	// Nameserver is the name server's host name or FQDN (default "ns1").
	Nameserver string `toml:"nameserver"`
	// Address is the address sitedns answers on; without it no NS records
	// are written.
	Address string `toml:"address"`
	// Hostmaster is the SOA mailbox (default "hostmaster").
	Hostmaster string `toml:"hostmaster"`
	// Serial is the SOA serial (default 1).
	Serial int64 `toml:"serial"`
}

// SiteAnswers is one Active Directory site.
type SiteAnswers struct {
	Name    string   `toml:"name"`
	Subnets []string `toml:"subnets"`
	// Scope groups sites as Exchange's AutodiscoverSiteScope does (a country
	// in the contoso lab). Default "internal".
	Scope string       `toml:"scope"`
	CAS   []CASAnswers `toml:"cas"`
}

// CASAnswers is one Exchange Client Access Server.
type CASAnswers struct {
	// Name is the NetBIOS name (default "<site>-CAS", numbered when a site
	// has several).
	Name string `toml:"name"`
	// FQDN defaults to the lower-case name in the primary SMTP domain.
	FQDN    string `toml:"fqdn"`
	Address string `toml:"address"`
}

// PoolAnswers is the OCS Enterprise pool or Standard Edition server.
type PoolAnswers struct {
	FQDN string `toml:"fqdn"`
	// Address is the pool's load balancer VIP, or the server's address.
	Address string `toml:"address"`
	// WebFarmInternal is the internal web farm FQDN (default: the pool FQDN).
	WebFarmInternal string `toml:"web_farm_internal"`
	// WebFarmExternal is the external web farm FQDN published by the reverse
	// proxy (optional; needs reverse_proxy).
	WebFarmExternal string `toml:"web_farm_external"`
	// AllowTCP adds _sipinternal._tcp on 5060 for internal clients.
	AllowTCP bool `toml:"allow_tcp"`
}

// EdgeAnswers is the consolidated Edge server.
type EdgeAnswers struct {
	InternalFQDN    string `toml:"internal_fqdn"`
	InternalAddress string `toml:"internal_address"`
	// Access is the Access Edge external address; its name is always
	// sip.<SIP domain> (the certificate's subject name must be).
	Access string `toml:"access"`
	// WebConf is the Web Conferencing Edge external address (default: the
	// Access Edge address, then on port 444).
	WebConf     string `toml:"webconf"`
	WebConfName string `toml:"webconf_name"` // default "webconf"
	// WebConfPort defaults to 443, or 444 when webconf shares the Access
	// Edge address.
	WebConfPort int `toml:"webconf_port"`
	// AV is the A/V Edge external address (optional).
	AV     string `toml:"av"`
	AVName string `toml:"av_name"` // default "av"
}

// ReverseProxyAnswers is the ISA/TMG reverse proxy that publishes the web
// farm, CWA, OWA and Autodiscover.
type ReverseProxyAnswers struct {
	Address string `toml:"address"`
}

// ExchangeAnswers holds the Exchange settings beyond the CAS of each site.
type ExchangeAnswers struct {
	Mail string `toml:"mail"` // default "mail" in the primary SMTP domain
	// ExternalAddress is what external clients get for mail and
	// autodiscover (default: the reverse proxy address).
	ExternalAddress string `toml:"external_address"`
	MXPreference    int    `toml:"mx_preference"` // default 10
	// OWAIM says OWA (Exchange 2010) is integrated with the OCS pool for IM.
	OWAIM bool `toml:"owa_im"`
	// UM says the CAS servers also run Unified Messaging, integrated with
	// OCS: each needs a certificate for its own FQDN from the CA the pool
	// trusts.
	UM bool `toml:"um"`
	// AffinityNames writes affinity<scope> names (default: on with two
	// scopes or more).
	AffinityNames *bool `toml:"affinity_names"`
}

// CWAAnswers turns on Communicator Web Access names.
type CWAAnswers struct {
	Name            string `toml:"name"` // default "cwa"
	InternalAddress string `toml:"internal_address"`
	// ExternalAddress defaults to the reverse proxy address.
	ExternalAddress string `toml:"external_address"`
}

// Error is one problem in the answers: where, which field, which value and
// what is wrong. Error() reads
// `contoso.answers.toml:14: site "US-Chicago": subnets: "10.2.0.0/33": bad prefix length`.
type Error struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Value string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one set of answers.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Options are settings given beside the answers, on the command line;
// where set they win over the answers file.
type Options struct {
	// Certificates, when not "", replaces the answers' certificates.
	Certificates string
}

// LoadAnswers reads, strictly decodes and validates the answers file at
// path. On failure the error is an Errors naming the file and the field.
func LoadAnswers(path string) (*Lab, error) {
	return LoadAnswersWith(path, Options{})
}

// LoadAnswersWith is LoadAnswers with command-line options applied.
func LoadAnswersWith(path string, o Options) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseAnswers(filepath.Base(path), data, o)
}

// ParseAnswers decodes and validates answers read from a file called name.
func ParseAnswers(name string, data []byte) (*Lab, error) {
	return parseAnswers(name, data, Options{})
}

func parseAnswers(name string, data []byte, o Options) (*Lab, error) {
	var a Answers
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&a)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{{File: name, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message}}
		}
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	loc := newLocator(name, data)
	var errs Errors
	for _, k := range md.Undecoded() {
		msg := "unknown key"
		if near := tomlkey.Suggest(reflect.TypeOf(a), k); near != "" {
			msg += ` (did you mean "` + near + `"?)`
		}
		errs = append(errs, &Error{File: name, Line: loc.key(k[len(k)-1]), Field: k.String(), Msg: msg})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if o.Certificates != "" {
		a.Certificates = o.Certificates
		loc.certsFlag = true
	}
	return a.validate(loc)
}

// locator finds the line a value or a table came from, so errors can say
// where. It looks the text up again rather than tracking positions through
// the decoder: good enough for a hand-written answers file, and it never
// points to a wrong line for a value that occurs once.
type locator struct {
	file  string
	lines []string
	// rename maps a field path prefix to what the user typed it as (a flag
	// name), for answers that came from the command line.
	rename func(field string) string
	// certsFlag says certificates came from the -certificates flag.
	certsFlag bool
}

func newLocator(file string, data []byte) *locator {
	return &locator{file: file, lines: strings.Split(string(data), "\n")}
}

// value returns the line of the first occurrence of the quoted value, or 0.
func (l *locator) value(v string) int {
	if v == "" {
		return 0
	}
	q := fmt.Sprintf("%q", v)
	for i, s := range l.lines {
		if strings.Contains(stripComment(s), q) {
			return i + 1
		}
	}
	return 0
}

// key returns the line of the first "key =" assignment, or 0.
func (l *locator) key(k string) int {
	for i, s := range l.lines {
		s = strings.TrimSpace(s)
		if rest, ok := strings.CutPrefix(s, k); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}

// table returns the line of the n-th (from 0) header "[name]" or
// "[[name]]", or 0.
func (l *locator) table(name string, n int) int {
	for i, s := range l.lines {
		s = strings.TrimSpace(stripComment(s))
		if s == "["+name+"]" || s == "[["+name+"]]" {
			if n == 0 {
				return i + 1
			}
			n--
		}
	}
	return 0
}

func stripComment(s string) string {
	// Good enough for answers files: '#' does not occur inside our values.
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// errorf records a problem with field at line (0: look the value up).
func (l *locator) err(errs *Errors, line int, field, value, format string, args ...any) {
	if line == 0 {
		line = l.value(value)
	}
	if l.rename != nil {
		field = l.rename(field)
		line = 0
	}
	*errs = append(*errs, &Error{File: l.file, Line: line, Field: field, Value: value, Msg: fmt.Sprintf(format, args...)})
}
