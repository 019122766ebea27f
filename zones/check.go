package zones

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/health"
)

// Bounds of [[check]] settings.
const (
	minCheckInterval = 10 * time.Millisecond
	maxRiseFall      = 100
)

// checks compiles the [[check]] tables into snap.Checks and c.checkIdx.
func (c *compiler) checks(cfg *fileConfig, snap *Snapshot) {
	c.checkIdx = map[string]int{}
	for i := range cfg.Check {
		cc := &cfg.Check[i]
		blk := c.loc.table(c.loc.whole(), "check", i)
		field := fmt.Sprintf("check %q", cc.Name)
		if cc.Name == "" {
			field = fmt.Sprintf("check %d", i+1)
			c.add(c.loc.key(blk, "name"), field+": name", "", "missing")
		} else if j, dup := c.checkIdx[cc.Name]; dup {
			c.addf(c.loc.value(blk, "name", cc.Name), field+": name", cc.Name, "duplicate check (also check %d)", j+1)
		}
		s := c.checkSpec(cc, blk, field)
		if cc.Name != "" {
			if _, dup := c.checkIdx[cc.Name]; !dup {
				c.checkIdx[cc.Name] = len(snap.Checks)
			}
		}
		snap.Checks = append(snap.Checks, s)
	}
}

// checkSpec validates one [[check]] and returns its spec.
func (c *compiler) checkSpec(cc *checkConfig, blk span, field string) *health.Spec {
	s := &health.Spec{
		Name:     cc.Name,
		Interval: health.DefaultInterval,
		Timeout:  health.DefaultTimeout,
		Rise:     health.DefaultRise,
		Fall:     health.DefaultFall,
	}
	if cc.Type == "" {
		c.add(c.loc.key(blk, "type"), field+": type", "", "missing: want tcp, tls, http or https")
	} else if t, err := health.ParseType(cc.Type); err != nil {
		c.add(c.loc.value(blk, "type", cc.Type), field+": type", cc.Type, err.Error())
	} else {
		s.Type = t
	}
	switch {
	case cc.Port == nil:
		c.add(c.loc.key(blk, "port"), field+": port", "", "missing: the port to probe (443 for a CAS, 5061 for a pool)")
	case *cc.Port < 1 || *cc.Port > 65535:
		c.add(c.loc.key(blk, "port"), field+": port", fmt.Sprint(*cc.Port), "want 1 to 65535")
	default:
		s.Port = uint16(*cc.Port)
	}
	web, secure := s.Type.UsesHTTP(), s.Type.UsesTLS()
	only := func(ok bool, key, what string) bool {
		if !ok {
			c.addf(c.loc.key(blk, key), field+": "+key, "", "only for %s checks, not %s", what, cc.Type)
		}
		return ok
	}
	if web {
		s.Path, s.ExpectStatus = health.DefaultPath, []int{200}
	}
	if cc.Path != nil && only(web, "path", "http and https") {
		if p := *cc.Path; !strings.HasPrefix(p, "/") || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7F }) {
			c.add(c.loc.value(blk, "path", p), field+": path", p, "want an absolute path starting with \"/\", without spaces")
		} else {
			s.Path = p
		}
	}
	if cc.ExpectStatus != nil && only(web, "expect_status", "http and https") {
		if len(cc.ExpectStatus) == 0 {
			c.add(c.loc.key(blk, "expect_status"), field+": expect_status", "", "empty: no answer could be up")
		}
		for _, code := range cc.ExpectStatus {
			if code < 100 || code > 599 {
				c.add(c.loc.key(blk, "expect_status"), field+": expect_status", fmt.Sprint(code), "want an HTTP status, 100 to 599")
			}
		}
		s.ExpectStatus = cc.ExpectStatus
	}
	if cc.TLSServerName != "" && only(secure, "tls_server_name", "tls and https") {
		if _, ok := dns.IsDomainName(cc.TLSServerName); !ok || strings.ContainsAny(cc.TLSServerName, " /:") {
			c.add(c.loc.value(blk, "tls_server_name", cc.TLSServerName), field+": tls_server_name", cc.TLSServerName, "not a host name")
		}
		s.TLSServerName = strings.TrimSuffix(cc.TLSServerName, ".")
	}
	if cc.CAFile != "" && only(secure, "ca_file", "tls and https") {
		s.RootCAs, s.CADigest = c.caFile(cc.CAFile, c.loc.value(blk, "ca_file", cc.CAFile), field+": ca_file")
		s.CAFile = cc.CAFile
	}
	s.TLSVerify = cc.CAFile != ""
	if cc.TLSVerify != nil && only(secure, "tls_verify", "tls and https") {
		s.TLSVerify = *cc.TLSVerify
	}
	dur := func(key string, v *string, into *time.Duration) {
		if v == nil {
			return
		}
		d, err := time.ParseDuration(*v)
		switch {
		case err != nil:
			c.add(c.loc.value(blk, key, *v), field+": "+key, *v, "not a duration (want e.g. \"5s\" or \"200ms\")")
		case d < minCheckInterval:
			c.addf(c.loc.value(blk, key, *v), field+": "+key, *v, "want at least %v", minCheckInterval)
		default:
			*into = d
		}
	}
	dur("interval", cc.Interval, &s.Interval)
	dur("timeout", cc.Timeout, &s.Timeout)
	if s.Timeout > s.Interval {
		v := s.Timeout.String()
		if cc.Timeout != nil {
			v = *cc.Timeout
		}
		c.addf(c.loc.key(blk, "timeout"), field+": timeout", v, "longer than the interval (%v): a probe must end before the next starts", s.Interval)
	}
	count := func(key string, v *int, into *int) {
		if v == nil {
			return
		}
		if *v < 1 || *v > maxRiseFall {
			c.addf(c.loc.key(blk, key), field+": "+key, fmt.Sprint(*v), "want 1 to %d probes in a row", maxRiseFall)
			return
		}
		*into = *v
	}
	count("rise", cc.Rise, &s.Rise)
	count("fall", cc.Fall, &s.Fall)
	if cc.Source != "" {
		a, err := netip.ParseAddr(cc.Source)
		if err != nil || a.Zone() != "" {
			c.add(c.loc.value(blk, "source", cc.Source), field+": source", cc.Source, "not an IP address")
		} else {
			s.Source = a.Unmap()
		}
	}
	return s
}

// caFile reads the PEM certificates of a ca_file, relative to the config,
// and returns them with a digest of the file.
func (c *compiler) caFile(name string, line int, field string) (*x509.CertPool, string) {
	if c.dir == "" {
		c.add(line, field, name, "files are not allowed in this config")
		return nil, ""
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.dir, name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		c.add(line, field, name, err.Error())
		return nil, ""
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		c.add(line, field, name, "no PEM certificate in the file")
		return nil, ""
	}
	sum := sha256.Sum256(b)
	return pool, hex.EncodeToString(sum[:8])
}

// checkRef resolves a check = "name" key to 1 + the check's index (0 for
// none), reporting an unknown name at line.
func (c *compiler) checkRef(name string, line int, field string) int {
	if name == "" {
		return 0
	}
	if i, ok := c.checkIdx[name]; ok {
		return i + 1
	}
	known := make([]string, 0, len(c.checkIdx))
	for k := range c.checkIdx {
		known = append(known, k)
	}
	slices.Sort(known)
	list := strings.Join(known, ", ")
	if list == "" {
		list = "none defined"
	}
	c.addf(line, field, name, "no [[check]] named %q (checks: %s)", name, list)
	return 0
}
