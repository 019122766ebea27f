package zones

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// TSIGKey is one [[tsig]] key (RFC 8945). Immutable.
type TSIGKey struct {
	// Name is the key's name as it goes on the wire: lower case, fully
	// qualified ("xfr-key.").
	Name string
	// Algorithm is the fully qualified algorithm name (dns.HmacSHA256).
	Algorithm string
	// Secret is the shared secret, base64 as in the config (and as
	// miekg/dns takes it).
	Secret string
}

// Secondary is where a secondary zone's records come from: its primaries,
// by AXFR and IXFR. Immutable.
type Secondary struct {
	// Primaries are tried in order for the SOA check and the transfer.
	Primaries []netip.AddrPort
	// TSIG signs the SOA queries and transfers and checks the replies; nil
	// for none.
	TSIG *TSIGKey
	// NotifyFrom lists who may send NOTIFY for the zone (default: the
	// primaries' addresses). Everyone else gets REFUSED.
	NotifyFrom []netip.Prefix
	// Store is where the last good transfer is kept, as a master file
	// (absolute path); "" keeps none.
	Store string
}

// NotifyAllowed reports whether a NOTIFY from src is accepted.
func (s *Secondary) NotifyAllowed(src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range s.NotifyFrom {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// Transferred is a secondary zone's data as its last transfer (or the stored
// copy of one) left it.
type Transferred struct {
	// Source names the data in errors: "transfer of contoso.lab. serial 7
	// from 127.0.0.1:53", or the store file's path.
	Source string
	// Text is the zone in master-file form, every owner absolute.
	Text string
	// Expired is set once the zone went past its SOA expire without a
	// refresh: the zone then answers SERVFAIL (RFC 1034 §4.3.5).
	Expired bool
}

// Transfers gives the compiler the data of each secondary zone: origin is
// the zone (lower case, fully qualified), sec its config. ok is false while
// there is none; the zone then answers SERVFAIL until a transfer brings it.
// Called from the compiling goroutine only.
type Transfers interface {
	Transferred(origin string, sec *Secondary) (t Transferred, ok bool)
}

// tsigAlgorithms maps the algorithm names the config takes to miekg/dns's.
var tsigAlgorithms = map[string]string{
	"hmac-md5":    dns.HmacMD5,
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

// tsigKeys compiles the [[tsig]] tables into c.tsig and snap.TSIG.
func (c *compiler) tsigKeys(cfg *fileConfig, snap *Snapshot) {
	c.tsig = map[string]*TSIGKey{}
	for i, tc := range cfg.TSIG {
		blk := c.loc.table(c.loc.whole(), "tsig", i)
		field := fmt.Sprintf("tsig %q", tc.Name)
		name := strings.ToLower(dns.Fqdn(tc.Name))
		switch {
		case tc.Name == "":
			c.add(c.loc.key(blk, "name"), fmt.Sprintf("tsig %d: name", i+1), "", "missing")
			continue
		case !validKeyName(name):
			c.add(c.loc.value(blk, "name", tc.Name), field+": name", tc.Name, "not a domain name")
			continue
		case c.tsig[name] != nil:
			c.add(c.loc.value(blk, "name", tc.Name), field+": name", tc.Name, "duplicate key")
			continue
		}
		alg, ok := tsigAlgorithms[strings.TrimSuffix(strings.ToLower(tc.Algorithm), ".")]
		if !ok {
			c.add(c.loc.key(blk, "algorithm"), field+": algorithm", tc.Algorithm,
				"want hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1 or hmac-md5")
		}
		secret, err := base64.StdEncoding.DecodeString(tc.Secret)
		switch {
		case tc.Secret == "":
			c.add(c.loc.key(blk, "secret"), field+": secret", "", "missing")
		case err != nil:
			// The secret itself is never repeated in an error.
			c.add(c.loc.key(blk, "secret"), field+": secret", "", "not base64")
		case len(secret) < 16:
			c.addf(c.loc.key(blk, "secret"), field+": secret", "", "%d bytes; want at least 16", len(secret))
		}
		k := &TSIGKey{Name: name, Algorithm: alg, Secret: tc.Secret}
		c.tsig[name] = k
		snap.TSIG = append(snap.TSIG, *k)
	}
}

// TSIGKey returns the [[tsig]] key named name (fully qualified, any case),
// or nil.
func (s *Snapshot) TSIGKey(name string) *TSIGKey {
	for i := range s.TSIG {
		if strings.EqualFold(s.TSIG[i].Name, name) {
			return &s.TSIG[i]
		}
	}
	return nil
}

func validKeyName(name string) bool {
	_, ok := dns.IsDomainName(name)
	return ok && name != "."
}

// secondary compiles the secondary keys of a [[zone]]: nil for a zone whose
// records are in the config. It also compiles also_notify and
// transfer_tsig into z.
func (c *compiler) secondary(zc *zoneConfig, blk span, field string, z *Zone) *Secondary {
	if zc.TransferTSIG != "" {
		z.TransferTSIG = c.tsig[strings.ToLower(dns.Fqdn(zc.TransferTSIG))]
		if z.TransferTSIG == nil {
			c.add(c.loc.value(blk, "transfer_tsig", zc.TransferTSIG), field+": transfer_tsig", zc.TransferTSIG, "no [[tsig]] has this name")
		}
	}
	for _, a := range zc.AlsoNotify {
		ap, err := parseAddrPort(a)
		if err != nil {
			c.add(c.loc.value(blk, "also_notify", a), field+": also_notify", a, err.Error())
			continue
		}
		z.AlsoNotify = append(z.AlsoNotify, ap)
	}
	if len(zc.Primaries) == 0 {
		for _, k := range []struct {
			key string
			set bool
		}{{"tsig", zc.TSIG != ""}, {"notify_from", zc.NotifyFrom != nil}, {"store", zc.Store != ""}} {
			if k.set {
				c.add(c.loc.key(blk, k.key), field+": "+k.key, "", "only a secondary zone (one with primaries) takes it")
			}
		}
		return nil
	}
	sec := &Secondary{}
	if zc.File != "" || len(zc.Records) > 0 {
		key := "records"
		if zc.File != "" {
			key = "file"
		}
		c.add(c.loc.key(blk, key), field+": "+key, "", "a secondary zone takes its records from its primaries; overlays go in [[zone.name]]")
	}
	for _, p := range zc.Primaries {
		ap, err := parseAddrPort(p)
		if err != nil {
			c.add(c.loc.value(blk, "primaries", p), field+": primaries", p, err.Error())
			continue
		}
		sec.Primaries = append(sec.Primaries, ap)
	}
	if zc.TSIG != "" {
		k := c.tsig[strings.ToLower(dns.Fqdn(zc.TSIG))]
		if k == nil {
			c.add(c.loc.value(blk, "tsig", zc.TSIG), field+": tsig", zc.TSIG, "no [[tsig]] has this name")
		}
		sec.TSIG = k
	}
	if zc.NotifyFrom == nil {
		for _, ap := range sec.Primaries {
			sec.NotifyFrom = append(sec.NotifyFrom, netip.PrefixFrom(ap.Addr(), ap.Addr().BitLen()))
		}
	}
	for _, s := range zc.NotifyFrom {
		p, err := parsePrefix(s)
		if err != nil {
			c.add(c.loc.value(blk, "notify_from", s), field+": notify_from", s, err.Error())
			continue
		}
		sec.NotifyFrom = append(sec.NotifyFrom, p)
	}
	if zc.Store != "" {
		sec.Store, _ = c.besideConfig(zc.Store, c.loc.value(blk, "store", zc.Store), field, "store")
	}
	return sec
}

// parseAddrPort accepts "address:port", "[v6]:port" or a bare address (port
// 53). Names are not resolved: a transfer source is an address.
func parseAddrPort(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("want an address or address:port")
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("port 0")
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// transferred adds the records of a secondary zone's data, as addPlain
// does, and returns the source they share (nil without data). Without data,
// or past expire, the zone answers SERVFAIL.
func (c *compiler) transferred(z *Zone, addPlain func(record, string)) *recordSrc {
	if c.xfr == nil {
		z.Expired = true
		return nil
	}
	t, ok := c.xfr.Transferred(z.Origin, z.Secondary)
	if !ok {
		z.Expired = true
		return nil
	}
	z.Expired = t.Expired
	zf := &zoneFileText{path: t.Source, text: t.Text, origin: z.Origin, noInclude: true}
	var src *recordSrc
	c.parseZoneFile(zf, func(r record) {
		src = r.src
		addPlain(r, "")
	})
	if src == nil {
		c.errs = append(c.errs, &Error{File: t.Source, Msg: "no records"})
		return nil
	}
	if apex := z.Nodes[z.Origin]; apex == nil || !hasType(c.names[apex.names].plain, dns.TypeSOA) {
		c.errs = append(c.errs, &Error{File: t.Source, Msg: "no SOA at the apex " + z.Origin})
	}
	return src
}

func hasType(rs []record, t uint16) bool {
	for _, r := range rs {
		if r.rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}

// overlay drops, at each name a [[zone.name]] configures, the transferred
// records (those from src) of every type the table gives records for: the
// overlay replaces the transferred RRsets of that name and type. Types the
// overlay does not give stay as transferred.
func (c *compiler) overlay(z *Zone, src *recordSrc, owners []string) {
	for _, owner := range owners {
		n := z.Nodes[owner]
		if n == nil {
			continue
		}
		ns := c.names[n.names]
		if ns == nil || ns.table == nil {
			continue
		}
		types := map[uint16]bool{}
		for _, r := range ns.table.deflt {
			types[r.rr.Header().Rrtype] = true
		}
		for _, rs := range ns.table.scoped {
			for _, r := range rs {
				types[r.rr.Header().Rrtype] = true
			}
		}
		for _, r := range ns.plain {
			if r.src != src {
				types[r.rr.Header().Rrtype] = true
			}
		}
		kept := ns.plain[:0]
		for _, r := range ns.plain {
			if r.src == src && types[r.rr.Header().Rrtype] {
				continue
			}
			kept = append(kept, r)
		}
		clear(ns.plain[len(kept):])
		ns.plain = kept
	}
}
