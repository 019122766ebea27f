package server

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

// Response rate limiting (RRL) of UDP answers, in the spirit of BIND, Knot
// and NSD: an authoritative server must not become an amplifier for spoofed
// floods. The settings come from the snapshot (zones.RateLimit, the [rrl]
// table), so a reload changes them; the buckets live in the Server and
// survive reloads.
//
// Each response is charged to a bucket keyed by the client's network (the
// source address masked to /24 or /56 by default), the response class and
// what the response is about:
//
//	answer    NOERROR with records     query name and type
//	nodata    NOERROR, empty, AA=1     query name
//	referral  NOERROR, empty, AA=0     delegation (first NS owner)
//	nxdomain  NXDOMAIN                 zone (SOA owner in authority)
//	error     any other RCODE          nothing
//
// An answer or NODATA that a wildcard synthesised for the query name is
// keyed on the wildcard's parent instead of the query name, as BIND does
// ("as if they were for the parent domain name"): a flood of random names
// under "*.example" shares one bucket, where keyed on each name it would
// never be limited. Random names with no wildcard are NXDOMAIN, keyed on
// the zone.
//
// A bucket is a GCRA token bucket held in one 64-bit word: the "theoretical
// arrival time" (TAT) of its next response, in microseconds. A response at
// time now is allowed when max(TAT, now) + 1/rate - now <= 1s (a burst of one
// second's worth), and every response, allowed or not, moves TAT on by
// 1/rate, up to now + window: a network that keeps flooding stays limited,
// and one that stops is served in full again within the window (BIND's
// debt). A limited response is dropped, except every Slip-th, which goes out
// truncated (TC=1, no records) so that a real client whose address a flood
// borrows retries over TCP, which is never limited.
//
// The table is fixed in size (rrlSlots words, allocated the first time a
// snapshot enables RRL), 4-way set associative, indexed by a seeded hash;
// each slot is updated with one compare-and-swap, so readers on every core
// share it without locks. A full set evicts its most idle slot. Nothing is
// allocated per response.

// rrlSlots is the size of the table: 2^16 words (512 KiB), 16384 sets of 4.
// Beyond that many busy networks, the most idle are forgotten first.
const (
	rrlSlots = 1 << 16
	rrlWays  = 4
	tatBits  = 48
	tatMask  = 1<<tatBits - 1
)

// Response classes of the key.
const (
	rrlAnswer byte = iota + 1
	rrlNoData
	rrlReferral
	rrlNXDomain
	rrlError
)

// rateLimiter is the limiter of one Server. The zero value is ready: the
// table is allocated on first use.
type rateLimiter struct {
	table atomic.Pointer[rrlTable]
}

// rrlTable is the buckets and the state shared by every reader.
type rrlTable struct {
	slots [rrlSlots]atomic.Uint64 // tag<<48 | TAT in µs since epoch; 0 = empty
	epoch time.Time               // TATs count from here (a second before creation, so 0 is never a live TAT)
	seed  uint64                  // hash seed: flooders cannot aim at one set
	slip  atomic.Uint64           // limited responses so far, for Slip
}

func (l *rateLimiter) get() *rrlTable {
	if t := l.table.Load(); t != nil {
		return t
	}
	t := &rrlTable{epoch: time.Now().Add(-time.Second), seed: rand.Uint64() | 1}
	if !l.table.CompareAndSwap(nil, t) {
		t = l.table.Load()
	}
	return t
}

// limit applies response rate limiting to out, a response over t answered
// from snap, before anything about the response is counted: it returns out
// as is (full true: always over TCP, which is never limited); out truncated
// (full false: its answer no longer goes out, so answer counters must not
// count it); or nil when nothing is sent, counted as DropRateLimit and as
// nothing else. peer is the packet source (never the ECS address: RRL is
// about where the reply goes).
func (s *Server) limit(st stats, t metrics.Transport, snap *zones.Snapshot, out []byte, peer netip.Addr) (resp []byte, full bool) {
	return s.limitKeyed(st, t, snap, out, peer, "")
}

// limitKeyed is limit for a response that wildcard, when not "", the
// wildcard node ("*.<parent>") synthesised for the query name.
func (s *Server) limitKeyed(st stats, t metrics.Transport, snap *zones.Snapshot, out []byte, peer netip.Addr, wildcard string) (resp []byte, full bool) {
	if t != metrics.UDP || snap == nil || snap.RateLimit == nil || len(out) < headerLen {
		return out, true
	}
	allowed, slip := s.rrl.check(snap.RateLimit, out, peer, wildcard, time.Now())
	switch {
	case allowed:
		return out, true
	case slip:
		return truncateReply(out), false
	default:
		st.drop(metrics.DropRateLimit)
		return nil, false
	}
}

// check charges the response resp to src's bucket at time now. allowed
// reports whether it may go out; when it may not, slip reports whether it
// goes out truncated instead. wildcard, when not "", is the wildcard node
// that synthesised resp for the query name.
func (l *rateLimiter) check(rl *zones.RateLimit, resp []byte, src netip.Addr, wildcard string, now time.Time) (allowed, slip bool) {
	src = src.Unmap()
	for _, p := range rl.Exempt {
		if p.Contains(src) {
			return true, false
		}
	}
	t := l.get()
	class, rate, h := classify(rl, resp, wildcard, t.seed)
	h = hashAddr(h, src, rl)
	h = mix(h ^ uint64(class))

	now64 := uint64(now.Sub(t.epoch) / time.Microsecond)
	if t.allow(h, now64, rate, uint64(rl.Window/time.Microsecond)) {
		return true, false
	}
	if rl.Slip > 0 && t.slip.Add(1)%uint64(rl.Slip) == 0 {
		return false, true
	}
	return false, false
}

// allow charges one response to the bucket of hash h at now (µs) and reports
// whether it is within the rate.
func (t *rrlTable) allow(h, now, rate, window uint64) bool {
	tag := h >> tatBits
	set := t.slots[(h%(rrlSlots/rrlWays))*rrlWays:][:rrlWays]
	interval := max(uint64(time.Second/time.Microsecond)/rate, 1)
	const burst = uint64(time.Second / time.Microsecond)
	allowed := true
	// A compare-and-swap that loses to another reader is retried a few
	// times; after that the response goes out uncharged, which under such
	// contention costs at most a few responses.
	for try := 0; try < 4; try++ {
		slot, victim := -1, 0
		var old, victimOld uint64 = 0, ^uint64(0)
		for i := range set {
			v := set[i].Load()
			if v != 0 && v>>tatBits == tag {
				slot, old = i, v
				break
			}
			if v&tatMask < victimOld&tatMask || victimOld == ^uint64(0) {
				victim, victimOld = i, v
			}
		}
		tat := uint64(0)
		if slot >= 0 {
			tat = old & tatMask
		} else {
			slot, old = victim, victimOld
		}
		t0 := max(tat, now)
		allowed = t0+interval-now <= burst
		next := min(t0+interval, now+window)
		if set[slot].CompareAndSwap(old, tag<<tatBits|next&tatMask) {
			return allowed
		}
	}
	return allowed
}

// classify returns the class of resp, the rate that applies to it, and the
// hash of what the class is keyed on, started from seed. An answer or NODATA
// that wildcard synthesised is keyed on the wildcard's parent.
func classify(rl *zones.RateLimit, resp []byte, wildcard string, seed uint64) (class byte, rate uint64, h uint64) {
	h = seed
	rcode := resp[3] & 0xF
	aa := resp[2]&0x04 != 0
	qd := binary.BigEndian.Uint16(resp[4:])
	an := binary.BigEndian.Uint16(resp[6:])
	ns := binary.BigEndian.Uint16(resp[8:])
	switch {
	case rcode == 0 && an > 0:
		class, rate = rrlAnswer, uint64(rl.ResponsesPerSecond)
	case rcode == 0 && !aa && ns > 0:
		class, rate = rrlReferral, uint64(rl.ResponsesPerSecond)
	case rcode == 0:
		class, rate = rrlNoData, uint64(rl.ResponsesPerSecond)
	case rcode == 3:
		class, rate = rrlNXDomain, uint64(rl.NXDomainsPerSecond)
	default:
		return rrlError, uint64(rl.ErrorsPerSecond), h
	}
	if qd != 1 {
		return class, rate, h
	}
	off, hq, ok := hashName(h, resp, headerLen)
	if !ok || off+4 > len(resp) {
		return class, rate, hq
	}
	if parent, wild := strings.CutPrefix(wildcard, "*."); wild && (class == rrlAnswer || class == rrlNoData) {
		h = hashText(h, parent)
	} else {
		h = hq
	}
	switch class {
	case rrlAnswer:
		h = mix(h ^ uint64(binary.BigEndian.Uint16(resp[off:])))
		return class, rate, h
	case rrlNoData:
		return class, rate, h
	}
	// NXDOMAIN and referrals: the owner of the first authority record, the
	// zone apex (SOA) or the delegation (NS); the query name when absent.
	off += 4
	for i := 0; i < int(an); i++ {
		if off = skipRR(resp, off); off < 0 {
			return class, rate, h
		}
	}
	if ns == 0 {
		return class, rate, h
	}
	if _, hz, ok := hashName(seed, resp, off); ok {
		h = hz
	}
	return class, rate, h
}

// hashName hashes the (possibly compressed) name at off in msg, case
// folded, into h. end is where the name ends in place (after its pointer if
// it has one).
func hashName(h uint64, msg []byte, off int) (end int, _ uint64, ok bool) {
	end = -1
	for hops := 0; hops < 64; hops++ {
		if off >= len(msg) {
			return 0, h, false
		}
		n := int(msg[off])
		switch {
		case n == 0:
			if end < 0 {
				end = off + 1
			}
			return end, mix(h), true
		case n&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return 0, h, false
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
		case n&0xC0 != 0:
			return 0, h, false
		default:
			if off+1+n > len(msg) {
				return 0, h, false
			}
			h = (h ^ uint64(n)) * fnvPrime
			for _, c := range msg[off+1 : off+1+n] {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				h = (h ^ uint64(c)) * fnvPrime
			}
			off += 1 + n
		}
	}
	return 0, h, false
}

// hashText hashes name, lower case and in presentation form without
// escapes (as a snapshot's node names are), into h as hashName hashes the
// same name on the wire, so that both key one bucket.
func hashText(h uint64, name string) uint64 {
	for name != "" && name != "." {
		label, rest, _ := strings.Cut(name, ".")
		h = (h ^ uint64(len(label))) * fnvPrime
		for i := 0; i < len(label); i++ {
			h = (h ^ uint64(label[i])) * fnvPrime
		}
		name = rest
	}
	return mix(h)
}

// skipRR returns the offset after the resource record at off, or -1.
func skipRR(msg []byte, off int) int {
	for {
		if off >= len(msg) {
			return -1
		}
		n := int(msg[off])
		if n == 0 {
			off++
			break
		}
		if n&0xC0 == 0xC0 {
			off += 2
			break
		}
		off += 1 + n
	}
	if off+10 > len(msg) {
		return -1
	}
	off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	if off > len(msg) {
		return -1
	}
	return off
}

// hashAddr hashes the network of a (masked to the configured prefix) into h.
func hashAddr(h uint64, a netip.Addr, rl *zones.RateLimit) uint64 {
	bits := rl.IPv6Prefix
	if a.Is4() {
		bits = rl.IPv4Prefix
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return h
	}
	b := p.Addr().As16()
	h = mix(h ^ binary.BigEndian.Uint64(b[:8]))
	h = mix(h ^ binary.BigEndian.Uint64(b[8:]))
	if a.Is4() {
		h = mix(h ^ 4)
	}
	return h
}

const fnvPrime = 1099511628211

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// truncateReply rewrites resp in place as the slip reply: the header with
// TC=1 and no records, and the question. The RCODE is kept; the OPT goes
// with the additional section (the client retries over TCP anyway).
func truncateReply(resp []byte) []byte {
	end := headerLen
	if binary.BigEndian.Uint16(resp[4:]) == 1 {
		if e, _, ok := hashName(0, resp, headerLen); ok && e+4 <= len(resp) {
			end = e + 4
		}
	}
	if end == headerLen {
		resp[4], resp[5] = 0, 0
	}
	resp[2] |= 0x02 // TC
	clear(resp[6:headerLen])
	return resp[:end]
}
