package main

import (
	"net/netip"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/server"
)

// TestDecisionLog: one debug line per answered query, with the decision.
func TestDecisionLog(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var counted countTap
	tp := taps{decisionLog{zap.New(core)}, &counted}
	tp.Tap(&server.TapEvent{
		Response:  []byte{0, 1, 0x81, 0x83},
		Client:    netip.MustParseAddrPort("127.13.1.5:4000"),
		Transport: metrics.UDP,
		Name:      "autodiscover.contoso.lab.",
		Qtype:     1,
		Site:      "DE-Leipzig",
		Scope:     "DE",
		ECS:       netip.MustParsePrefix("127.13.1.0/24"),
		ECSScope:  24,
	})
	if counted != 1 {
		t.Errorf("the second tap was told %d times", counted)
	}
	all := logs.All()
	if len(all) != 1 || all[0].Message != "answered" || all[0].Level != zapcore.DebugLevel {
		t.Fatalf("logged %v", all)
	}
	want := map[string]any{
		"client": "127.13.1.5:4000", "transport": "udp", "name": "autodiscover.contoso.lab.", "qtype": "A",
		"site": "DE-Leipzig", "scope": "DE", "ecs": "127.13.1.0/24", "ecs_scope": int64(24), "rcode": "NXDOMAIN",
	}
	got := all[0].ContextMap()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}
}

type countTap int

func (c *countTap) Tap(*server.TapEvent) { *c++ }
