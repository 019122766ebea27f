package main

import (
	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/server"
)

// taps is several server.Taps, told in order.
type taps []server.Tap

func (ts taps) Tap(e *server.TapEvent) {
	for _, t := range ts {
		t.Tap(e)
	}
}

// decisionLog logs, at debug level, what was decided for each answered
// query: the client, its site, the answer set's scope and the ECS used. It
// is installed only when the logger logs debug messages, as it costs a log
// line per query.
type decisionLog struct{ log *zap.Logger }

func (d decisionLog) Tap(e *server.TapEvent) {
	fields := []zap.Field{
		zap.Stringer("client", e.Client),
		zap.String("transport", e.Transport.String()),
		zap.String("name", e.Name),
		zap.String("qtype", dns.Type(e.Qtype).String()),
		zap.String("site", e.Site),
		zap.String("scope", e.Scope),
	}
	if e.ECS.IsValid() {
		fields = append(fields, zap.Stringer("ecs", e.ECS))
	}
	if e.ECSScope >= 0 {
		fields = append(fields, zap.Int("ecs_scope", e.ECSScope))
	}
	if len(e.Response) >= 4 {
		fields = append(fields, zap.String("rcode", dns.RcodeToString[int(e.Response[3]&0x0f)]))
	}
	d.log.Debug("answered", fields...)
}
