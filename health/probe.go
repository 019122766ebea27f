package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
)

// Reason is why a probe failed, a closed set for the
// sitedns_check_failures_total label.
type Reason uint8

const (
	// ReasonTimeout: no result within the check's timeout.
	ReasonTimeout Reason = iota
	// ReasonRefused: the connection was refused or reset.
	ReasonRefused
	// ReasonTLS: the TLS handshake failed (or the certificate did not verify).
	ReasonTLS
	// ReasonStatus: an HTTP status outside expect_status.
	ReasonStatus
	// ReasonError: anything else (no route, a broken HTTP response).
	ReasonError

	numReasons
)

var reasonNames = [numReasons]string{"timeout", "refused", "tls", "status", "error"}

// String returns the label value of r.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "error"
}

// prober runs the probes of one target. It is made once per target, so an
// http or https check keeps one client (with keep-alives off: every probe
// opens a connection, as a client would).
type prober struct {
	t      Target
	dialer *net.Dialer
	tls    *tls.Config
	client *http.Client
	url    string
}

func newProber(t Target) *prober {
	s := t.Spec
	p := &prober{t: t, dialer: &net.Dialer{}}
	if s.Source.IsValid() {
		p.dialer.LocalAddr = &net.TCPAddr{IP: s.Source.AsSlice()}
	}
	if s.Type.UsesTLS() {
		p.tls = &tls.Config{
			ServerName:         s.TLSServerName,
			InsecureSkipVerify: !s.TLSVerify, //nolint:gosec // tls_verify = false is the lab's explicit choice
			RootCAs:            s.RootCAs,
			MinVersion:         tls.VersionTLS12,
		}
		if s.TLSVerify && s.TLSServerName == "" {
			// Verify the certificate against the address itself.
			p.tls.ServerName = t.Addr.String()
		}
	}
	if s.Type.UsesHTTP() {
		addr := netip.AddrPortFrom(t.Addr, s.Port).String()
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return p.dialer.DialContext(ctx, "tcp", addr)
			},
			TLSClientConfig:        p.tls,
			DisableKeepAlives:      true,
			Proxy:                  nil, // never a proxy: only the configured address is probed
			MaxResponseHeaderBytes: 16 << 10,
		}
		p.client = &http.Client{
			Transport: tr,
			// A redirect is an answer: its status is judged, never followed
			// (following it could reach another host).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		scheme := "http"
		if s.Type == HTTPS {
			scheme = "https"
		}
		host := addr
		if s.TLSServerName != "" {
			host = s.TLSServerName
		}
		p.url = scheme + "://" + host + s.Path
	}
	return p
}

// probe runs one probe bounded by the check's timeout and returns nil when
// the target is up.
func (p *prober) probe(ctx context.Context) (Reason, error) {
	s := p.t.Spec
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	addr := netip.AddrPortFrom(p.t.Addr, s.Port).String()
	switch s.Type {
	case TCP, TLS:
		c, err := p.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return classify(ctx, err), err
		}
		defer c.Close()
		if s.Type == TCP {
			return 0, nil
		}
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			if r := classify(ctx, err); r != ReasonError {
				return r, err
			}
			return ReasonTLS, err
		}
		return 0, nil
	default:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
		if err != nil {
			return ReasonError, err
		}
		req.Header.Set("User-Agent", "sitedns-health/1")
		resp, err := p.client.Do(req)
		if err != nil {
			r := classify(ctx, err)
			var te *tls.CertificateVerificationError
			var re tls.RecordHeaderError
			if r == ReasonError && (errors.As(err, &te) || errors.As(err, &re) || isTLSAlert(err)) {
				r = ReasonTLS
			}
			return r, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if !s.statusOK(resp.StatusCode) {
			return ReasonStatus, fmt.Errorf("status %d", resp.StatusCode)
		}
		return 0, nil
	}
}

// classify maps a dial, handshake or request error to a Reason.
func classify(ctx context.Context, err error) Reason {
	var ne net.Error
	switch {
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return ReasonRefused
	}
	return ReasonError
}

// isTLSAlert reports whether err is an alert the peer sent in a handshake.
func isTLSAlert(err error) bool {
	var a tls.AlertError
	return errors.As(err, &a)
}
