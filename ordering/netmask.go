package ordering

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Netmask is the LocalNetPriorityNetMask: which part of an IPv4 address makes
// a record "local" to a client. The zero value means DefaultNetmask, as an
// absent LocalNetPriorityNetMask registry value does in Windows; use
// ParseNetmask for anything else.
type Netmask struct {
	bits     uint8 // prefix length, 0..32
	classful bool  // 0xFFFFFFFF: class A/B/C by the client's first octet
	valid    bool  // false only for the zero value, which reads as DefaultNetmask
}

// DefaultNetmask is 255.255.255.0 (/24, Windows 0x000000FF): "Windows Server
// 2003 bases proximity on Class C regardless of the native address class"
// (KB 842197).
func DefaultNetmask() Netmask { return Netmask{bits: 24, valid: true} }

// classfulNetmask is the Windows 0xFFFFFFFF setting.
func classfulNetmask() Netmask { return Netmask{classful: true, valid: true} }

// prefixNetmask is the /bits mask; bits must be in 0..32.
func prefixNetmask(bits int) Netmask { return Netmask{bits: uint8(bits), valid: true} }

// norm returns m with the zero value replaced by DefaultNetmask.
func (m Netmask) norm() Netmask {
	if !m.valid {
		return DefaultNetmask()
	}
	return m
}

// ParseNetmask accepts a dotted quad ("255.255.255.0"), a prefix length
// ("/24") or the Windows registry form listing host bits ("0x000000FF" = /24,
// "0x0000FFFF" = /16, "0x00FFFFFF" = /8, "0x0000003F" = /26, "0xFFFFFFFF" =
// classful; "0x00000000" = /32, as MS-DNSP says zero is "treated literally").
// It also accepts "classful", the String form of 0xFFFFFFFF, so that every
// Netmask round-trips through String.
//
// The registry form is an inverted mask: its set bits are the host part the
// comparison ignores (KB 842197: "The significant bits set what part of the
// address is the host space"). Only contiguous low host bits are accepted:
// Microsoft documents nothing else, and a mask with holes is far more likely
// a typo than a topology.
func ParseNetmask(s string) (Netmask, error) {
	switch {
	case s == "classful":
		return classfulNetmask(), nil

	case strings.HasPrefix(s, "/"):
		n, err := strconv.ParseUint(s[1:], 10, 8)
		if err != nil || n > 32 {
			return Netmask{}, fmt.Errorf("bad netmask %q: prefix length must be /0 to /32", s)
		}
		return prefixNetmask(int(n)), nil

	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		h := s[2:]
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil || len(h) > 8 {
			return Netmask{}, fmt.Errorf("bad netmask %q: want at most 8 hex digits after 0x, like 0x000000FF", s)
		}
		if v == 0xFFFFFFFF {
			return classfulNetmask(), nil
		}
		if v&(v+1) != 0 {
			return Netmask{}, fmt.Errorf("bad netmask %q: host bits must be contiguous low bits (0x000000FF = /24, 0x0000003F = /26)", s)
		}
		return prefixNetmask(32 - bits.OnesCount64(v)), nil
	}

	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return Netmask{}, fmt.Errorf("bad netmask %q: want a dotted quad (255.255.255.0), a prefix length (/24) or Windows host bits (0x000000FF)", s)
	}
	b := a.As4()
	host := ^binary.BigEndian.Uint32(b[:])
	if host&(host+1) != 0 {
		return Netmask{}, fmt.Errorf("bad netmask %q: the network bits must be contiguous from the left", s)
	}
	return prefixNetmask(32 - bits.OnesCount32(host)), nil
}

// Bits returns the prefix length applied to the IPv4 address a, the client.
//
// For the classful mask it is the native class of a (an IPv4-mapped IPv6
// address is unmapped first): class A (first octet below 128) /8, class B
// (below 192) /16, class C /24. Classes D (multicast) and E (reserved) have no
// network/host split; they, and addresses that are not IPv4, get /24, the
// Windows 2003 default, since a query from such a source is a
// misconfiguration anyway and /24 is the least surprising answer.
func (m Netmask) Bits(a netip.Addr) int {
	m = m.norm()
	if !m.classful {
		return int(m.bits)
	}
	a = a.Unmap()
	if !a.Is4() {
		return 24
	}
	switch o := a.As4()[0]; {
	case o < 128:
		return 8
	case o < 192:
		return 16
	}
	return 24
}

// Contains reports whether rec is in the network of client under m, that is
// whether a record with address rec is local to client. Both must be IPv4
// (IPv4-mapped IPv6 addresses are unmapped); anything else is never local.
func (m Netmask) Contains(client, rec netip.Addr) bool {
	client, rec = client.Unmap(), rec.Unmap()
	if !client.Is4() || !rec.Is4() {
		return false
	}
	mask := mask32(m.Bits(client))
	return (be32(client)^be32(rec))&mask == 0
}

// String returns m in its canonical "/N" (or "classful") form; ParseNetmask
// accepts both.
func (m Netmask) String() string {
	m = m.norm()
	if m.classful {
		return "classful"
	}
	return "/" + strconv.Itoa(int(m.bits))
}

// mask32 is the IPv4 network mask of a /bits prefix, bits in 0..32. (A Go
// shift by 32 or more yields 0, which is the /0 mask.)
func mask32(bits int) uint32 { return ^uint32(0) << (32 - uint(bits)) }

// mask128 is the IPv6 network mask of a /bits prefix as two halves, bits in
// 0..128.
func mask128(bits int) (hi, lo uint64) {
	if bits >= 64 {
		return ^uint64(0), ^uint64(0) << (128 - uint(bits))
	}
	return ^uint64(0) << (64 - uint(bits)), 0
}

// be32 is the IPv4 address a as a number; a must be IPv4.
func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// be128 is the IPv6 address a (any zone ignored) as two halves.
func be128(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}
