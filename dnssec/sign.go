package dnssec

import (
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// Skew is how far before the moment of signing a signature's inception is
// put, so that validators whose clock runs behind accept it.
const Skew = time.Hour

// Signer signs RRsets with a zone's keys for one validity period. It holds
// no state that Sign changes: safe for concurrent use.
type Signer struct {
	zsk, ksk              []*Key
	inception, expiration uint32
	Inception, Expiration time.Time
}

// NewSigner signs with keys from now-Skew to now+validity. When keys hold
// both SEP and non-SEP keys, the SEP keys (KSKs) sign only the apex DNSKEY,
// CDS and CDNSKEY RRsets and the others (ZSKs) everything else; when every
// key has the same role, each signs everything (a CSK, or several during a
// rollover). Every key of a role signs: a rollover by double signature.
func NewSigner(keys []*Key, now time.Time, validity time.Duration) *Signer {
	s := &Signer{Inception: now.Add(-Skew).Truncate(time.Second), Expiration: now.Add(validity).Truncate(time.Second)}
	s.inception, s.expiration = uint32(s.Inception.Unix()), uint32(s.Expiration.Unix())
	for _, k := range keys {
		if k.SEP() {
			s.ksk = append(s.ksk, k)
		} else {
			s.zsk = append(s.zsk, k)
		}
	}
	switch {
	case len(s.zsk) == 0:
		s.zsk = s.ksk
	case len(s.ksk) == 0:
		s.ksk = s.zsk
	}
	return s
}

// KeysFor returns the keys that sign RRsets of type t.
func (s *Signer) KeysFor(t uint16) []*Key {
	switch t {
	case dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
		return s.ksk
	}
	return s.zsk
}

// Sign returns the RRSIGs of rrset, one per key that signs its type, each
// with the TTL of rrset[0] as its own TTL and original TTL. The records of
// rrset must share owner, class and type; a wildcard owner ("*.x") gives
// RRSIGs whose label count leaves the "*" out (RFC 4034 §3.1.3). rrset is
// not changed.
func (s *Signer) Sign(rrset []dns.RR) ([]dns.RR, error) {
	if len(rrset) == 0 {
		return nil, nil
	}
	keys := s.KeysFor(rrset[0].Header().Rrtype)
	out := make([]dns.RR, 0, len(keys))
	for _, k := range keys {
		sig := &dns.RRSIG{
			Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
			Algorithm:  k.DNSKEY.Algorithm,
			KeyTag:     k.Tag(),
			SignerName: k.DNSKEY.Hdr.Name,
			Inception:  s.inception,
			Expiration: s.expiration,
		}
		if err := sig.Sign(k.Signer, rrset); err != nil {
			return nil, fmt.Errorf("signing %s %s with %s: %v", rrset[0].Header().Name, dns.TypeToString[rrset[0].Header().Rrtype], k, err)
		}
		out = append(out, sig)
	}
	return out, nil
}
