package dnssec

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Key is one DNSSEC key read from a BIND key file pair. Immutable after
// LoadKey.
type Key struct {
	// Path is the file name the key was named by, without .key or .private.
	Path string
	// DNSKEY is the public key record, as the .key file holds it.
	DNSKEY *dns.DNSKEY
	// Signer is the private key.
	Signer crypto.Signer
}

// SEP reports whether the key has the Secure Entry Point flag (257): a KSK,
// or a CSK when it is the zone's only key. Only SEP keys sign the apex
// DNSKEY, CDS and CDNSKEY RRsets when a zone has keys of both kinds, and
// only they give the parent DS records.
func (k *Key) SEP() bool { return k.DNSKEY.Flags&dns.SEP != 0 }

// Tag is the key's key tag (RFC 4034 appendix B).
func (k *Key) Tag() uint16 { return k.DNSKEY.KeyTag() }

// String names the key as BIND does: "contoso.lab./13/12345".
func (k *Key) String() string {
	return fmt.Sprintf("%s/%d/%d", k.DNSKEY.Hdr.Name, k.DNSKEY.Algorithm, k.Tag())
}

// Supported lists the algorithms keys may use: ECDSA P-256 with SHA-256
// (13), ECDSA P-384 with SHA-384 (14) and Ed25519 (15), the ones RFC 8624
// recommends for signing. RSA keys are refused: their signatures are large
// and slow to make for a zone re-signed at every reload.
var Supported = map[uint8]bool{dns.ECDSAP256SHA256: true, dns.ECDSAP384SHA384: true, dns.ED25519: true}

// LoadKey reads the key pair at base: base+".key" (the DNSKEY record) and
// base+".private" (the private key, BIND's Private-key-format v1.2 or
// v1.3). base may end in ".key" or ".private", which is dropped. It checks
// that the files hold a zone key of a supported algorithm and that the
// private key is the public key's: a signature made with one verifies
// with the other.
func LoadKey(base string) (*Key, error) {
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".key"), ".private")
	pub, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, err
	}
	dk, err := readDNSKEY(pub, base+".key")
	if err != nil {
		return nil, err
	}
	priv, err := os.ReadFile(base + ".private")
	if err != nil {
		return nil, err
	}
	pk, err := dk.ReadPrivateKey(bytes.NewReader(priv), base+".private")
	if err != nil {
		return nil, fmt.Errorf("%s.private: %v", base, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s.private: not a signing key", base)
	}
	k := &Key{Path: base, DNSKEY: dk, Signer: signer}
	if err := k.selfCheck(); err != nil {
		return nil, fmt.Errorf("%s: %v", base, err)
	}
	return k, nil
}

// readDNSKEY parses a .key file: comments and one DNSKEY record.
func readDNSKEY(text []byte, name string) (*dns.DNSKEY, error) {
	zp := dns.NewZoneParser(bytes.NewReader(text), "", name)
	var dk *dns.DNSKEY
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		k, isKey := rr.(*dns.DNSKEY)
		if !isKey {
			return nil, fmt.Errorf("%s: a %s record where a DNSKEY was expected", name, dns.TypeToString[rr.Header().Rrtype])
		}
		if dk != nil {
			return nil, fmt.Errorf("%s: more than one DNSKEY record", name)
		}
		dk = k
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if dk == nil {
		return nil, fmt.Errorf("%s: no DNSKEY record", name)
	}
	dk.Hdr.Name = strings.ToLower(dk.Hdr.Name)
	switch {
	case dk.Protocol != 3:
		return nil, fmt.Errorf("%s: protocol %d, want 3 (RFC 4034 §2.1.2)", name, dk.Protocol)
	case dk.Flags&dns.ZONE == 0:
		return nil, fmt.Errorf("%s: flags %d: not a zone key (want 256 or 257)", name, dk.Flags)
	case dk.Flags&dns.REVOKE != 0:
		return nil, fmt.Errorf("%s: flags %d: the key is revoked", name, dk.Flags)
	case !Supported[dk.Algorithm]:
		return nil, fmt.Errorf("%s: algorithm %d (%s) not supported; use 13 (ECDSAP256SHA256), 14 (ECDSAP384SHA384) or 15 (ED25519)",
			name, dk.Algorithm, dns.AlgorithmToString[dk.Algorithm])
	}
	return dk, nil
}

// selfCheck signs a record with the private key and verifies it with the
// public one.
func (k *Key) selfCheck() error {
	now := time.Now()
	probe := &dns.TXT{Hdr: dns.RR_Header{Name: k.DNSKEY.Hdr.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0}, Txt: []string{"key check"}}
	sig := &dns.RRSIG{
		Algorithm:  k.DNSKEY.Algorithm,
		KeyTag:     k.Tag(),
		SignerName: k.DNSKEY.Hdr.Name,
		Inception:  uint32(now.Add(-time.Hour).Unix()),
		Expiration: uint32(now.Add(time.Hour).Unix()),
	}
	if err := sig.Sign(k.Signer, []dns.RR{probe}); err != nil {
		return fmt.Errorf("cannot sign with the private key: %v", err)
	}
	if err := sig.Verify(k.DNSKEY, []dns.RR{probe}); err != nil {
		return fmt.Errorf("the private key does not match the public key in the .key file")
	}
	return nil
}

// CheckKeys checks that keys can sign the zone origin together: every key
// is origin's, no key tag is used twice, and there is at least one SEP key
// (a KSK or a CSK) for the parent's DS. It returns one error per problem.
func CheckKeys(origin string, keys []*Key) []error {
	var errs []error
	if len(keys) == 0 {
		return []error{fmt.Errorf("no keys: give one CSK, or a KSK and a ZSK")}
	}
	tags := map[uint16]string{}
	sep := false
	for _, k := range keys {
		if !strings.EqualFold(k.DNSKEY.Hdr.Name, origin) {
			errs = append(errs, fmt.Errorf("%s: the key is for %s, not %s", k.Path, k.DNSKEY.Hdr.Name, origin))
		}
		if other, dup := tags[k.Tag()]; dup {
			errs = append(errs, fmt.Errorf("%s: key tag %d is also %s's", k.Path, k.Tag(), other))
		}
		tags[k.Tag()] = k.Path
		sep = sep || k.SEP()
	}
	if !sep {
		errs = append(errs, fmt.Errorf("no key has the SEP flag (257): give a KSK or a CSK for the parent's DS"))
	}
	return errs
}

// DS is the DS record of k with digest SHA-256 (RFC 4509), what the parent
// publishes.
func DS(k *Key, ttl uint32) *dns.DS {
	ds := k.DNSKEY.ToDS(dns.SHA256)
	ds.Hdr.Ttl = ttl
	return ds
}
