package ordering

import "net/netip"

// Mode selects which Windows DNS behaviour the ordering emulates.
type Mode uint8

const (
	// Windows2003 splits address records into a local and a remote tier, rotates
	// the local tier per query and puts it first (the default).
	Windows2003 Mode = iota
	// Windows2000 puts the local tier first and never rotates (the initial
	// Windows 2000 release could not combine netmask ordering and round robin).
	Windows2000
	// None answers in zone order.
	None
)

// ParseMode parses "windows2003", "windows2000" or "none".
func ParseMode(s string) (Mode, error) { panic("unimplemented") }

// String returns the config spelling of m.
func (m Mode) String() string { panic("unimplemented") }

// RemoteOrder says what windows2003 does with the remote tier.
type RemoteOrder uint8

const (
	// RemoteRotate rotates the remote tier too (Windows 2012 R2 observation).
	RemoteRotate RemoteOrder = iota
	// RemoteFixed keeps the remote tier in zone order (Microsoft PFE example).
	RemoteFixed
)

// ParseRemoteOrder parses "rotate" or "fixed".
func ParseRemoteOrder(s string) (RemoteOrder, error) { panic("unimplemented") }

// Netmask is the LocalNetPriorityNetMask: which part of an IPv4 address makes
// a record "local" to a client. The zero value is not valid; use ParseNetmask
// or DefaultNetmask.
type Netmask struct {
	bits     uint8 // prefix length, 0..32
	classful bool  // 0xFFFFFFFF: class A/B/C by first octet
}

// DefaultNetmask is 255.255.255.0 (/24, Windows 0x000000FF).
func DefaultNetmask() Netmask { return Netmask{bits: 24} }

// ParseNetmask accepts a dotted quad ("255.255.255.0"), a prefix length
// ("/24") or the Windows registry form listing host bits ("0x000000FF" = /24,
// "0x0000FFFF" = /16, "0x0000003F" = /26, "0xFFFFFFFF" = classful).
func ParseNetmask(s string) (Netmask, error) { panic("unimplemented") }

// Bits returns the prefix length applied to the IPv4 address a.
func (m Netmask) Bits(a netip.Addr) int { panic("unimplemented") }

// String returns m in its canonical "/N" (or "classful") form.
func (m Netmask) String() string { panic("unimplemented") }

// Policy holds the ordering settings of one answer set, resolved from the
// server, zone and name levels of the config.
type Policy struct {
	Mode            Mode
	RoundRobin      bool // RoundRobin registry value
	NetmaskOrdering bool // LocalNetPriority registry value
	Netmask         Netmask
	IPv6Prefix      int // 0: AAAA records are never local; else the prefix length for AAAA
	RemoteOrder     RemoteOrder
}

// DefaultPolicy is Windows Server 2003 with its defaults: round robin and
// netmask ordering on, /24, remote tier rotated.
func DefaultPolicy() Policy {
	return Policy{Mode: Windows2003, RoundRobin: true, NetmaskOrdering: true, Netmask: DefaultNetmask()}
}

// Set is the compiled ordering state of one answer set (one RRset as seen by
// one scope). Immutable after construction, except for its atomic rotation
// counter; safe for concurrent use.
type Set struct {
	// implementation-defined
}

// NewSet compiles the ordering of n records. addrs[i] is the address of
// record i, or the zero netip.Addr when record i is not an A/AAAA record
// (such records are never local). rotate is false when the record type is in
// no_round_robin_types. weights is nil or holds one positive weight per record.
func NewSet(p Policy, addrs []netip.Addr, rotate bool, weights []int) (*Set, error) {
	panic("unimplemented")
}

// Len returns the number of records in the set.
func (s *Set) Len() int { panic("unimplemented") }

// Order writes a permutation of 0..Len()-1 into dst for a query from client
// and advances the rotation counter by one. It returns how many records were
// placed first because they are local to the client (0 when none). dst must
// have room for Len() entries. Order never allocates.
func (s *Set) Order(dst []int, client netip.Addr) (local int) { panic("unimplemented") }

// OrderAt is Order at an explicit rotation tick; it does not touch the
// counter. Tests and the fast path use it.
func (s *Set) OrderAt(dst []int, client netip.Addr, tick uint64) (local int) {
	panic("unimplemented")
}

// ClientDependent reports whether the order can depend on the client address
// (netmask ordering on and at least one record can be local to some client).
// The server uses it to set the ECS scope.
func (s *Set) ClientDependent() bool { panic("unimplemented") }

// Sites maps client addresses to sites by longest-prefix match. Immutable
// after construction; safe for concurrent use.
type Sites struct {
	// implementation-defined
}

// NewSites builds the table. subnets[i] are the subnets of site i+1; site 0
// is "unknown" (no match). It fails on a prefix listed for two sites.
func NewSites(subnets [][]netip.Prefix) (*Sites, error) { panic("unimplemented") }

// Lookup returns the site of a (0 when none matches) and the length of the
// prefix that matched (0 when none). It never allocates.
func (s *Sites) Lookup(a netip.Addr) (site int, bits int) { panic("unimplemented") }
