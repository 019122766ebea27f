package ordering

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
)

// Mode selects which Windows DNS behaviour the ordering emulates.
type Mode uint8

const (
	// Windows2003 splits address records into a local and a remote tier, rotates
	// the local tier per query and puts it first (the default).
	Windows2003 Mode = iota
	// Windows2000 puts the local tier first and never rotates while netmask
	// ordering is on (the initial Windows 2000 release could not combine
	// netmask ordering and round robin).
	Windows2000
	// None answers in zone order.
	None
)

// ParseMode parses "windows2003", "windows2000" or "none".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "windows2003":
		return Windows2003, nil
	case "windows2000":
		return Windows2000, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("bad mode %q: want windows2003, windows2000 or none", s)
}

// String returns the config spelling of m.
func (m Mode) String() string {
	switch m {
	case Windows2003:
		return "windows2003"
	case Windows2000:
		return "windows2000"
	case None:
		return "none"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// RemoteOrder says what windows2003 does with the remote tier.
type RemoteOrder uint8

const (
	// RemoteRotate rotates the remote tier too (Windows 2012 R2 observation).
	RemoteRotate RemoteOrder = iota
	// RemoteFixed keeps the remote tier in zone order (Microsoft PFE example).
	RemoteFixed
)

// ParseRemoteOrder parses "rotate" or "fixed".
func ParseRemoteOrder(s string) (RemoteOrder, error) {
	switch s {
	case "rotate":
		return RemoteRotate, nil
	case "fixed":
		return RemoteFixed, nil
	}
	return 0, fmt.Errorf("bad remote order %q: want rotate or fixed", s)
}

// String returns the config spelling of o.
func (o RemoteOrder) String() string {
	switch o {
	case RemoteRotate:
		return "rotate"
	case RemoteFixed:
		return "fixed"
	}
	return "RemoteOrder(" + strconv.Itoa(int(o)) + ")"
}

// Policy holds the ordering settings of one answer set, resolved from the
// server, zone and name levels of the config.
type Policy struct {
	Mode            Mode
	RoundRobin      bool    // RoundRobin registry value
	NetmaskOrdering bool    // LocalNetPriority registry value
	Netmask         Netmask // the zero value means DefaultNetmask
	IPv6Prefix      int     // 0: AAAA records are never local; else the prefix length for AAAA
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
//
// The rules, from KB 842197 and the Windows registry reference (docs/design.md#ordering):
//
//   - windows2003, netmask ordering and round robin on: the records local to
//     the client (same masked IPv4 network; same IPv6 prefix when IPv6Prefix
//     is set) come first, rotated by one per query; the remote tier follows,
//     rotated too (RemoteRotate) or in zone order (RemoteFixed). When no
//     record is local, the whole set is rotated.
//   - windows2003, round robin off (or rotate false for the record type):
//     local tier first, both tiers in zone order.
//   - windows2003, netmask ordering off: the whole set rotated, or in zone
//     order when round robin is off too.
//   - windows2000: local tier first, both tiers in zone order, whatever the
//     RoundRobin setting and the record type (an SRV set included), because
//     the initial Windows 2000 release "can't natively use the netmask
//     ordering feature and the round robin feature at the same time. If the
//     netmask ordering feature is turned on, the answers are always provided
//     to the clients in the same order." With netmask ordering off that
//     limitation does not arise, so the whole set is rotated when round
//     robin is on, as Windows 2000 did.
//   - none: zone order.
//
// A rotation by tick t of a tier of n records starts at its record t mod n,
// so every record of the tier is first exactly once in n consecutive ticks.
//
// Weights (windows2003 with round robin only) replace the plain rotation of
// each tier by smooth weighted round robin: the tier starts with the next
// record the precomputed schedule, restricted to the tier, names for the tick,
// and continues with the other records of the tier in cyclic zone order. The
// local tier is weighted too: weights exist to spread load by capacity, and a
// site with a large and a small CAS wants that inside the site as much as
// across sites; it also means a client whose network holds every record sees
// exactly the order a client with no local record sees.
type Set struct {
	// v4[i] is the IPv4 address of record i, or noV4 when it has none: a
	// value no IPv4 client key matches, so that an IPv4 client, the common
	// case, is compared with one word per record and no branch on family.
	v4 []uint64
	// v6[i] is the IPv6 address of record i, if it has one.
	v6 []record6

	netmask Netmask
	v6bits  int

	localOK     bool      // netmask ordering applies: ClientDependent
	rotate      bool      // the order depends on the tick
	remoteFixed bool      // the remote tier is never rotated
	sched       *schedule // non-nil when weighted round robin applies

	tick atomic.Uint64 // the per-set rotation counter
	// slot is 1 + the index of the set's counter in each row of its
	// snapshot's Rotation; 0 for none.
	slot int32
}

// record6 is the IPv6 address of one record, decoded once so that the
// per-query comparison is a few integer operations.
type record6 struct {
	ok     bool // the record has an IPv6 address
	hi, lo uint64
}

// NewSet compiles the ordering of n records. addrs[i] is the address of
// record i, or the zero netip.Addr when record i is not an A/AAAA record
// (such records are never local). rotate is false when the record type is in
// no_round_robin_types. weights is nil or holds one positive weight per record,
// at most MaxWeight in all.
//
// NewSet keeps no reference to addrs or weights. A zero p.Netmask means
// DefaultNetmask. IPv4-mapped IPv6 record addresses are unmapped, since an
// A record's address is what the comparison is about.
func NewSet(p Policy, addrs []netip.Addr, rotate bool, weights []int) (*Set, error) {
	if p.Mode > None {
		return nil, fmt.Errorf("bad mode %s", p.Mode)
	}
	if p.RemoteOrder > RemoteFixed {
		return nil, fmt.Errorf("bad remote order %s", p.RemoteOrder)
	}
	if p.IPv6Prefix < 0 || p.IPv6Prefix > 128 {
		return nil, fmt.Errorf("bad ipv6 prefix %d: want 0 (off) to 128", p.IPv6Prefix)
	}
	s := &Set{
		v4:          make([]uint64, len(addrs)),
		netmask:     p.Netmask.norm(),
		v6bits:      p.IPv6Prefix,
		remoteFixed: p.RemoteOrder == RemoteFixed,
	}
	orderable := false
	for i, a := range addrs {
		a = a.Unmap()
		s.v4[i] = noV4
		switch {
		case a.Is4():
			s.v4[i] = uint64(be32(a))
			orderable = true
		case a.Is6():
			hi, lo := be128(a)
			if p.IPv6Prefix > 0 {
				if s.v6 == nil {
					s.v6 = make([]record6, len(addrs))
				}
				s.v6[i] = record6{ok: true, hi: hi, lo: lo}
				orderable = true
			}
		}
	}

	switch p.Mode {
	case Windows2003:
		s.localOK = p.NetmaskOrdering && orderable
		s.rotate = p.RoundRobin && rotate
	case Windows2000:
		s.localOK = p.NetmaskOrdering && orderable
		s.rotate = p.RoundRobin && rotate && !p.NetmaskOrdering
	}
	if len(addrs) < 2 {
		s.rotate = false
	}

	if weights != nil {
		sched, err := newSchedule(weights, len(addrs))
		if err != nil {
			return nil, err
		}
		if p.Mode == Windows2003 && s.rotate {
			s.sched = sched
		}
	}
	return s, nil
}

// Len returns the number of records in the set.
func (s *Set) Len() int { return len(s.v4) }

// ClientDependent reports whether the order can depend on the client address
// (netmask ordering on and at least one record can be local to some client).
// The server uses it to set the ECS scope.
func (s *Set) ClientDependent() bool { return s.localOK }

// LocalScope returns the length of the shortest prefix around client in
// which every address gets the local tier client gets: the ECS scope that
// netmask ordering gives an answer (RFC 7871 §7.2.1). It is 0 when the
// order cannot depend on the client (no netmask ordering, or no record of
// the client's family that can be local).
//
// When some record is local to client it is the netmask (ipv6_prefix for
// an IPv6 client): any shorter prefix holds another network, local to no
// record. When none is, it is one more than the longest prefix client shares
// with any record, at most the netmask: no address in that prefix is in the
// network of a record, so every one of them gets no local tier either.
// (Under the classful mask every client in such a prefix has a mask at
// least as long as the prefix, so the same holds.) An IPv4-mapped IPv6
// client is an IPv4 client for ordering, and its scope is 96 more.
// A set of one record has one order whatever its local tier: 0. It never
// allocates.
func (s *Set) LocalScope(client netip.Addr) int {
	if !s.localOK || len(s.v4) < 2 {
		return 0
	}
	add := 0
	if client.Is4In6() {
		client, add = client.Unmap(), 96
	}
	need := 0
	switch {
	case client.Is4():
		m := s.netmask.Bits(client)
		c := be32(client)
		mask := mask32(m)
		for _, v := range s.v4 {
			if v == noV4 {
				continue
			}
			x := uint32(v) ^ c
			if x&mask == 0 {
				return add + m
			}
			need = max(need, bits.LeadingZeros32(x)+1)
		}
	case client.Is6() && s.v6 != nil:
		hi, lo := be128(client)
		for i := range s.v6 {
			r := &s.v6[i]
			if !r.ok {
				continue
			}
			cpl := bits.LeadingZeros64(r.hi ^ hi)
			if cpl == 64 {
				cpl += bits.LeadingZeros64(r.lo ^ lo)
			}
			if cpl >= s.v6bits {
				return s.v6bits
			}
			need = max(need, cpl+1)
		}
	}
	if need == 0 {
		return 0
	}
	return add + need
}

// Order writes a permutation of 0..Len()-1 into dst for a query from client
// and advances the rotation counter by one. It returns how many records were
// placed first because they are local to the client (0 when none). dst must
// have room for Len() entries. Order never allocates.
//
// The counter is one atomic add per call, and none at all when the set never
// rotates, so that sets in zone order cost no shared cache line.
func (s *Set) Order(dst []int, client netip.Addr) (local int) {
	var t uint64
	if s.rotate {
		t = s.tick.Add(1) - 1
	}
	return s.OrderAt(dst, client, t)
}

// OrderScoped is Order that also returns LocalScope(client), found in the
// same pass over the records that finds the local tier. The server orders
// answer sets with it.
func (s *Set) OrderScoped(dst []int, client netip.Addr) (local, scope int) {
	var t uint64
	if s.rotate {
		t = s.tick.Add(1) - 1
	}
	return s.orderAt(dst, client, t)
}

// OrderIn is OrderScoped with the rotation counter of s in row, a row of
// the Rotation s was added to (see Rotation): the counter of one shard. With
// a nil row, or a set without a slot, it is OrderScoped.
func (s *Set) OrderIn(dst []int, client netip.Addr, row []atomic.Uint64) (local, scope int) {
	var t uint64
	if s.rotate {
		if i := int(s.slot) - 1; i >= 0 && i < len(row) {
			t = row[i].Add(1) - 1
		} else {
			t = s.tick.Add(1) - 1
		}
	}
	return s.orderAt(dst, client, t)
}

// OrderAt is Order at an explicit rotation tick; it does not touch the
// counter. Tests and the fast path use it. It is a pure function of its
// arguments and the set, and never allocates.
func (s *Set) OrderAt(dst []int, client netip.Addr, tick uint64) (local int) {
	local, _ = s.orderAt(dst, client, tick)
	return local
}

// orderAt is OrderAt, also returning LocalScope(client).
func (s *Set) orderAt(dst []int, client netip.Addr, tick uint64) (local, scope int) {
	dst = dst[:len(s.v4)]
	if s.localOK {
		if k := s.clientKey(client); k.fam != 0 {
			// need is one more than the longest prefix the client
			// shares with a record: for noV4, whose bit 32 the
			// client's key never has, it is at most 0.
			n, need := 0, 0
			if k.fam == 4 {
				for _, v := range s.v4 {
					x := v ^ k.v4
					if x&k.m4 == 0 {
						n++
					}
					need = max(need, bits.LeadingZeros64(x)-31)
				}
			} else {
				for i := range s.v6 {
					if s.local6(&k, i) {
						n++
					}
				}
				need = s.need6(&k)
			}
			if len(dst) < 2 {
				need = 0 // one record, one order
			}
			if n > 0 {
				s.tiers(dst, &k, n, tick)
				if len(dst) < 2 {
					return n, 0
				}
				return n, int(k.bits) + int(k.add)
			}
			s.whole(dst, tick)
			if need > 0 {
				need += int(k.add)
			}
			return 0, need
		}
	}
	s.whole(dst, tick)
	return 0, 0
}

// need6 is one more than the longest prefix the IPv6 client k shares with
// a record, 0 without IPv6 records.
func (s *Set) need6(k *clientKey) int {
	need := 0
	for i := range s.v6 {
		r := &s.v6[i]
		if !r.ok {
			continue
		}
		cpl := bits.LeadingZeros64(r.hi ^ k.hi)
		if cpl == 64 {
			cpl += bits.LeadingZeros64(r.lo ^ k.lo)
		}
		need = max(need, cpl+1)
	}
	return need
}

// whole writes the order of a set with no local record: the whole set
// rotated, or zone order.
func (s *Set) whole(dst []int, tick uint64) {
	start := 0
	switch {
	case s.sched != nil:
		start = int(s.sched.seq[tick%uint64(len(s.sched.seq))])
	case s.rotate:
		start = int(tick % uint64(len(dst)))
	}
	j := 0
	for i := start; i < len(dst); i++ {
		dst[j] = i
		j++
	}
	for i := 0; i < start; i++ {
		dst[j] = i
		j++
	}
}

// tiers writes the order of a set in which n records are local to the client
// described by k: the local tier, then the remote tier. A plain rotation is
// written in place in one pass; a weighted one needs the tiers first, so they
// are written in zone order and then rotated in place.
func (s *Set) tiers(dst []int, k *clientKey, n int, tick uint64) {
	nr := len(dst) - n
	ls, rs := 0, 0 // where each tier starts
	if s.rotate && s.sched == nil {
		ls = int(tick % uint64(n))
		if !s.remoteFixed && nr > 1 {
			rs = int(tick % uint64(nr))
		}
	}
	// Tier member j goes to position j-start, cyclically: writing each tier
	// from its length minus its start rotates it left by start. (The two
	// loops differ only in the test; one loop testing the family per record
	// is measurably slower.)
	li, ri := 0, n
	if ls > 0 {
		li = n - ls
	}
	if rs > 0 {
		ri = n + nr - rs
	}
	if k.fam == 4 {
		for i, v := range s.v4 {
			if (v^k.v4)&k.m4 == 0 {
				dst[li] = i
				if li++; li == n {
					li = 0
				}
			} else {
				dst[ri] = i
				if ri++; ri == len(dst) {
					ri = n
				}
			}
		}
	} else {
		for i := range s.v6 {
			if s.local6(k, i) {
				dst[li] = i
				if li++; li == n {
					li = 0
				}
			} else {
				dst[ri] = i
				if ri++; ri == len(dst) {
					ri = n
				}
			}
		}
	}
	if s.sched == nil {
		return
	}
	local, remote := dst[:n], dst[n:]
	if len(local) > 1 {
		rotateTo(local, s.sched.pick(local, true, tick))
	}
	if !s.remoteFixed && len(remote) > 1 {
		rotateTo(remote, s.sched.pick(local, false, tick))
	}
}

// rotateLeft rotates a in place so that it starts with a[k].
func rotateLeft(a []int, k int) {
	if k == 0 {
		return
	}
	slices.Reverse(a[:k])
	slices.Reverse(a[k:])
	slices.Reverse(a)
}

// rotateTo rotates a in place so that it starts with the value v, which a
// must hold.
func rotateTo(a []int, v int) {
	rotateLeft(a, slices.Index(a, v))
}

// noV4 is the v4 entry of a record without an IPv4 address.
const noV4 = 1 << 32

// clientKey is a client address prepared for comparison with records.
type clientKey struct {
	fam      uint8  // 4 or 6; 0 when no record can be local to the client
	bits     uint8  // the netmask or ipv6_prefix length applied
	add      uint8  // 96 for an IPv4-mapped client, whose scope is in IPv6 bits
	v4, m4   uint64 // IPv4 client and mask; m4 includes bit 32 to reject noV4
	hi, lo   uint64
	mhi, mlo uint64
}

// clientKey prepares client: IPv4 (IPv4-mapped IPv6 unmapped) under the
// set's netmask, IPv6 under IPv6Prefix when that is set.
func (s *Set) clientKey(client netip.Addr) clientKey {
	var add uint8
	if client.Is4In6() {
		client, add = client.Unmap(), 96
	}
	switch {
	case client.Is4():
		b := s.netmask.Bits(client)
		return clientKey{fam: 4, bits: uint8(b), add: add, v4: uint64(be32(client)), m4: noV4 | uint64(mask32(b))}
	case client.Is6() && s.v6 != nil:
		k := clientKey{fam: 6, bits: uint8(s.v6bits)}
		k.hi, k.lo = be128(client)
		k.mhi, k.mlo = mask128(s.v6bits)
		return k
	}
	return clientKey{}
}

// local6 reports whether record i is local to the IPv6 client k. (An IPv4
// client is compared through s.v4 directly, in the loops.)
func (s *Set) local6(k *clientKey, i int) bool {
	r := &s.v6[i]
	return r.ok && (r.hi^k.hi)&k.mhi == 0 && (r.lo^k.lo)&k.mlo == 0
}

// Resume makes s continue the rotation of from, the set it replaces on a
// reload: the next Order of s starts where the next Order of from would
// have, so that frequent reloads do not restart every rotation at its
// first record. s must not be in use yet.
func (s *Set) Resume(from *Set) {
	if s != nil && from != nil {
		s.tick.Store(from.tick.Load())
	}
}
