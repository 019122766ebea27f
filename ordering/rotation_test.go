package ordering

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestRotationShards: each shard rotates a set exactly (every record first
// once in n answers of that shard), whatever the other shards do; rows do
// not share a cache line; Resume carries every shard's position over.
func TestRotationShards(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("10.1.1.10"), netip.MustParseAddr("10.2.1.10"), netip.MustParseAddr("10.3.1.10")}
	var r Rotation
	var sets []*Set
	for range 3 {
		s, err := NewSet(DefaultPolicy(), addrs, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Add(s)
		sets = append(sets, s)
	}
	fixed, _ := NewSet(DefaultPolicy(), addrs[:1], true, nil) // one record: never rotates, no slot
	r.Add(fixed)
	r.Freeze(3)
	if r.Slots() != 3 || r.Shards() != 3 || fixed.slot != 0 {
		t.Fatalf("slots %d shards %d, single-record slot %d", r.Slots(), r.Shards(), fixed.slot)
	}
	for i := 1; i < r.Shards(); i++ {
		gap := uintptr(unsafe.Pointer(&r.rows[i][0])) - uintptr(unsafe.Pointer(&r.rows[i-1][len(r.rows[i-1])-1]))
		if gap < 64 {
			t.Errorf("rows %d and %d are %d bytes apart", i-1, i, gap)
		}
	}
	client := netip.MustParseAddr("192.0.2.1") // local to no record: the whole set rotates
	dst := make([]int, 3)
	firsts := make([][3]int, r.Shards())
	// Uneven traffic: shard k answers 3*(k+1) times, interleaved with the others.
	for round := range 9 {
		for k := range r.Shards() {
			if round < 3*(k+1) {
				sets[1].OrderIn(dst, client, r.Row(k))
				firsts[k][dst[0]]++
			}
		}
	}
	for k, f := range firsts {
		if f[0] != f[1] || f[1] != f[2] {
			t.Errorf("shard %d: firsts %v, want equal", k, f)
		}
	}
	// Shard 0's next answer starts at its own record 3 mod 3 = 0.
	if sets[1].OrderIn(dst, client, r.Row(0)); dst[0] != 0 {
		t.Errorf("shard 0 after 3 answers starts with %d", dst[0])
	}

	var next Rotation
	s2, _ := NewSet(DefaultPolicy(), addrs, true, nil)
	next.Add(s2)
	next.Freeze(3)
	next.Resume(s2, &r, sets[1])
	for k := range 3 {
		if got, want := next.Row(k)[s2.slot-1].Load(), r.Row(k)[sets[1].slot-1].Load(); got != want {
			t.Errorf("shard %d: resumed at %d, want %d", k, got, want)
		}
	}
	var none *Rotation
	if none.Row(1) != nil || none.Shards() != 0 {
		t.Error("a nil Rotation has rows")
	}
	if _, scope := sets[0].OrderIn(dst, client, nil); scope != 1 {
		t.Errorf("OrderIn without a row: scope %d", scope)
	}
}
