package main

import (
	"crypto/sha256"
	"testing"
	"time"
)

// TestSettler: a change is ready once the same content was seen on two
// consecutive polls at least quiet apart from its first sighting; any other
// content in between starts over.
func TestSettler(t *testing.T) {
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	steps := []struct {
		sum  [sha256.Size]byte
		at   time.Time
		want bool
	}{
		{a, ms(0), false},    // first sighting
		{a, ms(100), false},  // two polls, but not quiet long enough
		{b, ms(200), false},  // changed again: starts over
		{b, ms(1100), false}, // 900 ms quiet
		{b, ms(1200), true},  // 1 s quiet, two polls
		{b, ms(1300), false}, // loaded: a new sighting starts over
	}
	s := settler{quiet: time.Second}
	for i, st := range steps {
		if got := s.ready(st.sum, st.at); got != st.want {
			t.Errorf("step %d: ready = %v, want %v", i, got, st.want)
		}
	}
	s = settler{} // no quiet: two consecutive polls alone
	if s.ready(a, ms(0)) || !s.ready(a, ms(0)) {
		t.Error("without quiet: want ready on the second poll with the same content")
	}
}
