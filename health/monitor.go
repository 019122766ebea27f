package health

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// State is what the probes of a target have said.
type State int32

const (
	// Unknown: no rise or fall reached yet since the target was first
	// given to the Monitor. Answers treat it as up.
	Unknown State = iota
	// Up: rise probes in a row succeeded.
	Up
	// Down: fall probes in a row failed.
	Down
)

// String returns "unknown", "up" or "down".
func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// DefaultMaxProbes bounds the probes in flight at once.
const DefaultMaxProbes = 32

// Monitor probes targets and keeps their states. Safe for concurrent use.
type Monitor struct {
	log     *zap.Logger
	ctx     context.Context
	stop    context.CancelFunc
	sem     chan struct{} // one token per probe in flight
	changed chan struct{} // a state changed; capacity 1, so changes coalesce

	mu    sync.Mutex         // guards byKey and last
	byKey map[string]*target // every target being probed
	last  States

	dur *prometheus.HistogramVec // sitedns_check_duration_seconds{check}

	// probe is the probe of a target; tests replace it.
	probe func(ctx context.Context, t *target) (Reason, error)
}

// target is one Target being probed, with its state and counters. It lives
// as long as some Update lists it, so its state and counters carry over
// reloads that keep it.
type target struct {
	Target
	p      *prober
	state  atomic.Int32 // a State
	fails  [numReasons]atomic.Uint64
	cancel context.CancelFunc

	// Owned by the target's goroutine.
	okRun, failRun int
}

// NewMonitor returns a Monitor probing nothing yet, with at most maxProbes
// probes in flight (DefaultMaxProbes when maxProbes < 1). Close stops it.
func NewMonitor(log *zap.Logger, maxProbes int) *Monitor {
	if log == nil {
		log = zap.NewNop()
	}
	if maxProbes < 1 {
		maxProbes = DefaultMaxProbes
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Monitor{
		log:     log,
		ctx:     ctx,
		stop:    stop,
		sem:     make(chan struct{}, maxProbes),
		changed: make(chan struct{}, 1),
		byKey:   map[string]*target{},
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sitedns",
			Name:      "check_duration_seconds",
			Help:      "Time health probes took, successful or not, by check.",
			Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"check"}),
	}
	m.probe = func(ctx context.Context, t *target) (Reason, error) { return t.p.probe(ctx) }
	return m
}

// Close stops every probe. States already handed out keep their last values.
func (m *Monitor) Close() {
	m.stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, t := range m.byKey {
		t.cancel()
		delete(m.byKey, k)
	}
	m.last = States{}
}

// Changed is signalled after some target changed state. Several changes
// before the receiver reads may be one signal: read States afresh on each.
func (m *Monitor) Changed() <-chan struct{} { return m.changed }

// Update makes ts the targets probed: targets already probed with the same
// spec keep their state and schedule, new ones start Unknown and are probed
// at once, and targets no longer listed stop. The returned States reads
// target i of ts as entry i.
func (m *Monitor) Update(ts []Target) States {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := make([]*target, len(ts))
	keep := make(map[string]bool, len(ts))
	for i, tg := range ts {
		k := tg.key()
		t := m.byKey[k]
		if t == nil {
			t = &target{Target: tg, p: newProber(tg)}
			ctx, cancel := context.WithCancel(m.ctx)
			t.cancel = cancel
			m.byKey[k] = t
			go m.run(ctx, t)
		}
		keep[k] = true
		list[i] = t
	}
	for k, t := range m.byKey {
		if !keep[k] {
			t.cancel()
			delete(m.byKey, k)
		}
	}
	m.last = States{t: list}
	return m.last
}

// States returns the States of the last Update.
func (m *Monitor) States() States {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// run probes t every Interval, starting now, until ctx ends. The schedule
// is fixed-rate: a slow probe does not delay the next one beyond its tick,
// so a dead target is down within Interval × Fall + Timeout of dying.
func (m *Monitor) run(ctx context.Context, t *target) {
	tick := time.NewTicker(t.Spec.Interval)
	defer tick.Stop()
	for {
		if !m.once(ctx, t) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// once runs one probe of t and applies its result; false when ctx ended.
func (m *Monitor) once(ctx context.Context, t *target) bool {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	start := time.Now()
	reason, err := m.probe(ctx, t)
	took := time.Since(start)
	<-m.sem
	if ctx.Err() != nil {
		return false // stopped mid-probe: the result says nothing of the target
	}
	m.dur.WithLabelValues(t.Spec.Name).Observe(took.Seconds())
	if err != nil {
		t.fails[reason].Add(1)
	}
	if next, ok := t.result(err == nil); ok {
		f := []zap.Field{zap.Stringer("target", t.Target), zap.Stringer("state", next)}
		if err != nil {
			f = append(f, zap.Stringer("reason", reason), zap.Error(err))
		}
		m.log.Info("health check changed state", f...)
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
	return true
}

// result counts one probe result into t's runs and returns the new state
// when it changed. Rise successes in a row make a target up, fall failures
// in a row down; a target that is Unknown goes straight to whichever comes
// first.
func (t *target) result(ok bool) (State, bool) {
	if ok {
		t.okRun, t.failRun = t.okRun+1, 0
	} else {
		t.failRun, t.okRun = t.failRun+1, 0
	}
	cur := State(t.state.Load())
	next := cur
	switch {
	case ok && t.okRun >= t.Spec.Rise:
		next = Up
	case !ok && t.failRun >= t.Spec.Fall:
		next = Down
	}
	if next == cur {
		return cur, false
	}
	t.state.Store(int32(next))
	return next, true
}

// States is the state of each target of one Update, read without a lock.
// The zero States holds none. Safe for concurrent use.
type States struct {
	t []*target
}

// Len is the number of targets.
func (s States) Len() int { return len(s.t) }

// State returns the state of target i.
func (s States) State(i int) State { return State(s.t[i].state.Load()) }

// Up reports whether target i is to be answered: Up or Unknown.
func (s States) Up(i int) bool { return State(s.t[i].state.Load()) != Down }

// Target returns target i.
func (s States) Target(i int) Target { return s.t[i].Target }

// Len is the number of targets being probed.
func (m *Monitor) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}
