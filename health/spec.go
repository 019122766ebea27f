package health

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is what a probe does.
type Type uint8

const (
	// TCP connects and closes: the port accepts connections (an OCS pool's
	// 5061).
	TCP Type = iota
	// TLS connects and completes a TLS handshake.
	TLS
	// HTTP sends GET Path and wants a status in ExpectStatus.
	HTTP
	// HTTPS is HTTP over TLS (an Exchange CAS's /autodiscover/healthcheck.htm).
	HTTPS
)

// ParseType parses "tcp", "tls", "http" or "https".
func ParseType(s string) (Type, error) {
	switch s {
	case "tcp":
		return TCP, nil
	case "tls":
		return TLS, nil
	case "http":
		return HTTP, nil
	case "https":
		return HTTPS, nil
	}
	return 0, fmt.Errorf("want tcp, tls, http or https")
}

// String returns the config spelling of t.
func (t Type) String() string {
	switch t {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	case HTTP:
		return "http"
	case HTTPS:
		return "https"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// UsesTLS reports whether probes of t make a TLS handshake.
func (t Type) UsesTLS() bool { return t == TLS || t == HTTPS }

// UsesHTTP reports whether probes of t send an HTTP request.
func (t Type) UsesHTTP() bool { return t == HTTP || t == HTTPS }

// Spec is one compiled [[check]]. Immutable after construction; the zones
// compiler validates every field, so a Monitor trusts it.
type Spec struct {
	Name string
	Type Type
	Port uint16
	// Path is the request path of http and https probes, starting with "/".
	Path string
	// ExpectStatus lists the HTTP statuses that count as up.
	ExpectStatus []int
	// TLSServerName is the SNI and the name verified (and the HTTP Host);
	// "" sends no SNI.
	TLSServerName string
	// TLSVerify verifies the server's certificate chain and name, against
	// RootCAs when set, else the system's roots.
	TLSVerify bool
	RootCAs   *x509.CertPool
	// CAFile is where RootCAs came from, and CADigest a digest of its
	// content: a reload that changes the file probes with the new roots.
	CAFile, CADigest string
	// Interval is the time between the starts of two probes of one target;
	// Timeout bounds one probe (at most Interval).
	Interval, Timeout time.Duration
	// Rise and Fall are the successes and failures in a row that make a
	// target up and down.
	Rise, Fall int
	// Source is the address probes are sent from; the zero Addr lets the
	// system choose.
	Source netip.Addr
}

// Defaults of the optional [[check]] keys.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
	DefaultPath     = "/"
)

// key identifies what s probes and how: two specs with the same key probe a
// target the same way, so a reload that keeps the check as it was keeps the
// state of its targets.
func (s *Spec) key() string {
	st := make([]string, len(s.ExpectStatus))
	for i, c := range s.ExpectStatus {
		st[i] = strconv.Itoa(c)
	}
	return strings.Join([]string{
		s.Name, s.Type.String(), strconv.Itoa(int(s.Port)), s.Path, strings.Join(st, ","),
		s.TLSServerName, strconv.FormatBool(s.TLSVerify), s.CAFile, s.CADigest,
		s.Interval.String(), s.Timeout.String(), strconv.Itoa(s.Rise), strconv.Itoa(s.Fall), s.Source.String(),
	}, "\xff")
}

// statusOK reports whether an HTTP status counts as up.
func (s *Spec) statusOK(code int) bool { return slices.Contains(s.ExpectStatus, code) }

// Target is one address probed by one check.
type Target struct {
	Spec *Spec
	Addr netip.Addr
}

// String is "address:port/check", for logs.
func (t Target) String() string {
	return netip.AddrPortFrom(t.Addr, t.Spec.Port).String() + "/" + t.Spec.Name
}

func (t Target) key() string { return t.Spec.key() + "\xff" + t.Addr.String() }
