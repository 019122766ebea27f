package zones

import (
	"strconv"
	"sync"
	"testing"
)

// TestTallySumsShards: a counter's value is the sum of what every shard
// counted, readers counting at once included; the zero Counter, and a
// counter in a block the registry made after the Tally, count nothing and
// read 0.
func TestTallySumsShards(t *testing.T) {
	const shards, perShard = 4, 1000
	c := newCounters(shards)
	ids := make([]Counter, 3*blockSize-1) // three blocks full: ids 1 to 3*blockSize-1
	for i := range ids {
		ids[i] = c.Get("m", strconv.Itoa(i))
	}
	tally := c.Tally()
	later := c.Get("m", "later")

	var wg sync.WaitGroup
	for sh := range shards + 2 { // two more callers than shards: rows are shared modulo
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := tally.Row(sh)
			for range perShard {
				for _, id := range ids {
					row.Add(id)
				}
				row.Add(0)
				row.Add(later)
			}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if got := tally.Load(id); got != (shards+2)*perShard {
			t.Fatalf("counter %d (id %d): %d, want %d", i, id, got, (shards+2)*perShard)
		}
	}
	if got := tally.Load(later); got != 0 {
		t.Errorf("a counter newer than the tally: %d", got)
	}
	if got := tally.Load(0); got != 0 {
		t.Errorf("the zero counter: %d", got)
	}
	var none *Tally
	none.Row(3).Add(ids[0])
	if none.Load(ids[0]) != 0 {
		t.Error("a nil tally reads a count")
	}
}

// TestTallyCarriesOver: a later Tally of the same registry (the next
// snapshot) reads what the earlier one counted, and both count into the
// same slots; a label set asked for again gets the same Counter.
func TestTallyCarriesOver(t *testing.T) {
	c := newCounters(3)
	a := c.Get("answers_first", "contoso.lab.", "10.1.1.10")
	old := c.Tally()
	old.Row(1).Add(a)
	old.Row(2).Add(a)
	if again := c.Get("answers_first", "contoso.lab.", "10.1.1.10"); again != a {
		t.Fatalf("the same labels: counter %d, then %d", a, again)
	}
	for i := range blockSize { // the registry grows a block while the old tally counts on
		c.Get("netmask_matches", strconv.Itoa(i))
	}
	next := c.Tally()
	next.Row(0).Add(a)
	old.Row(1).Add(a) // a query still answered from the old snapshot
	if old.Load(a) != 4 || next.Load(a) != 4 {
		t.Errorf("old tally reads %d, new %d; want 4 and 4", old.Load(a), next.Load(a))
	}
}

// TestTallyAddAllocs: counting never allocates.
func TestTallyAddAllocs(t *testing.T) {
	c := newCounters(2)
	id := c.Get("m")
	row := c.Tally().Row(1)
	if n := testing.AllocsPerRun(1000, func() { row.Add(id) }); n != 0 {
		t.Errorf("%v allocs per Add", n)
	}
}

// BenchmarkTallyAddParallel: each goroutine counts the same counter in a
// shard of its own; with -cpu 1,2 the time per add should halve.
func BenchmarkTallyAddParallel(b *testing.B) {
	c := newCounters(RotationShards())
	id := c.Get("m")
	tally := c.Tally()
	var next sync.Mutex
	shard := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		shard++
		row := tally.Row(shard)
		next.Unlock()
		for pb.Next() {
			row.Add(id)
		}
	})
}
