package dnssec

import (
	"crypto/sha1"
	"encoding/base32"

	"github.com/miekg/dns"
)

// HashSize is the size of an NSEC3 SHA-1 hash.
const HashSize = sha1.Size

// Hash is the NSEC3 hash of name (RFC 5155 §5) with SHA-1, no salt and no
// extra iterations, the parameters RFC 9276 §3.1 asks for. name is in
// presentation form, fully qualified, any case. ok is false when name is not
// a valid domain name. It allocates nothing.
func Hash(name string) (h [HashSize]byte, ok bool) {
	var wire [256]byte
	n, err := dns.PackDomainName(name, wire[:], 0, nil, false)
	if err != nil {
		return h, false
	}
	lowerWire(wire[:n])
	return sha1.Sum(wire[:n]), true
}

// base32Hex is the NSEC3 owner encoding (RFC 4648 §7, no padding).
var base32Hex = base32.HexEncoding.WithPadding(base32.NoPadding)

// HashLabel is h as the first label of an NSEC3 owner name, in lower case.
func HashLabel(h [HashSize]byte) string {
	var b [32]byte
	base32Hex.Encode(b[:], h[:])
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b[:])
}

// NSEC3 makes the NSEC3 record of the name hashed to h in zone origin, with
// next the next hash in the chain and types the types at the name (RRSIG
// is added when signed is set; an empty non-terminal has no types).
func NSEC3(origin string, h, next [HashSize]byte, ttl uint32, types []uint16) *dns.NSEC3 {
	return &dns.NSEC3{
		Hdr:        dns.RR_Header{Name: HashLabel(h) + "." + origin, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: ttl},
		Hash:       dns.SHA1,
		HashLength: HashSize,
		NextDomain: HashLabel(next),
		TypeBitMap: types,
	}
}

// NSEC3PARAM is the apex NSEC3PARAM record of the chain NSEC3 makes, with
// the TTL 0 RFC 5155 §4 suggests.
func NSEC3PARAM(origin string) *dns.NSEC3PARAM {
	return &dns.NSEC3PARAM{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET}, Hash: dns.SHA1}
}

// CanonicalKey appends to dst a key of name whose byte order is the
// canonical DNS name order (RFC 4034 §6.1): the labels from the right, each
// lower-cased, separated by 0x00, with 0x00 and 0x01 inside a label written
// as 0x01 0x01 and 0x01 0x02 so that a shorter label sorts first. name is
// in presentation form, fully qualified. It allocates nothing when dst has
// room. ok is false when name is not a valid domain name.
func CanonicalKey(dst []byte, name string) (key []byte, ok bool) {
	var wire [256]byte
	n, err := dns.PackDomainName(name, wire[:], 0, nil, false)
	if err != nil {
		return dst, false
	}
	var starts [128]uint8
	ns := 0
	for i := 0; i < n && wire[i] != 0; i += int(wire[i]) + 1 {
		starts[ns] = uint8(i)
		ns++
	}
	for k := ns - 1; k >= 0; k-- {
		if k != ns-1 {
			dst = append(dst, 0)
		}
		i := int(starts[k])
		for _, c := range wire[i+1 : i+1+int(wire[i])] {
			switch {
			case c >= 'A' && c <= 'Z':
				dst = append(dst, c+'a'-'A')
			case c <= 1:
				dst = append(dst, 1, c+1)
			default:
				dst = append(dst, c)
			}
		}
	}
	return dst, true
}

// ChildHash is Hash("<label>." + parent) without building the name: the
// hash of the wildcard "*.<parent>" for label "*". It allocates nothing.
func ChildHash(label, parent string) (h [HashSize]byte, ok bool) {
	var wire [256]byte
	if len(label) == 0 || len(label) > 63 {
		return h, false
	}
	wire[0] = byte(len(label))
	copy(wire[1:], label)
	off := 1 + len(label)
	n, err := dns.PackDomainName(parent, wire[:], off, nil, false)
	if err != nil {
		return h, false
	}
	lowerWire(wire[:n])
	return sha1.Sum(wire[:n]), true
}

// lowerWire lower-cases the labels of a wire-form name in place.
func lowerWire(wire []byte) {
	for i := 0; i < len(wire); {
		l := int(wire[i])
		if l == 0 {
			return
		}
		for j := i + 1; j <= i+l && j < len(wire); j++ {
			if c := wire[j]; c >= 'A' && c <= 'Z' {
				wire[j] = c + 'a' - 'A'
			}
		}
		i += l + 1
	}
}
