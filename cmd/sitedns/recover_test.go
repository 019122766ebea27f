package main

import (
	"context"
	"testing"

	"go.uber.org/zap"
)

// TestSupervise: a goroutine under supervise survives its panics and ends
// when its function returns.
func TestSupervise(t *testing.T) {
	calls := 0
	supervise(context.Background(), zap.NewNop(), "test", func() {
		if calls++; calls < 3 {
			panic("injected")
		}
	})
	if calls != 3 {
		t.Errorf("fn ran %d times, want 3 (two panics, then a return)", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	supervise(ctx, zap.NewNop(), "test", func() {
		n++
		cancel()
		panic("after cancel")
	})
	if n != 1 {
		t.Errorf("fn ran %d times after the context ended, want 1", n)
	}
}
