package secondary

import (
	"context"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/zones"
)

// Publisher compiles the serving config again with the secondary zones'
// data from xfr and, when it compiles, swaps the new snapshot in exactly as a
// reload does. It returns what kept the snapshot out (the old one then keeps
// serving). reason says why, for its log line.
type Publisher func(xfr zones.Transfers, reason string) error

// Manager keeps the secondary zones of the serving config: one refresh loop
// per zone, the data of each zone's last good transfer, and the zone's
// metrics. It is the zones.Transfers of every compile of the config. Safe
// for concurrent use.
type Manager struct {
	ctx     context.Context
	log     *zap.Logger
	publish Publisher
	// Timeout bounds one SOA query and one transfer's dial and reads.
	timeout time.Duration

	// pubMu makes publishes one at a time, so that a compile sees one
	// candidate transfer at most beside the good data of every other zone.
	pubMu sync.Mutex

	// mu guards zones and every zone's state fields.
	mu    sync.Mutex
	zones map[string]*zone
}

var _ zones.Transfers = (*Manager)(nil)

// zone is one secondary zone.
type zone struct {
	origin string
	kick   chan struct{} // a NOTIFY: refresh now; capacity 1
	stats  *zoneStats

	// Guarded by Manager.mu.
	cfg       *zones.Secondary
	data      *zones.Transferred // the last good data; nil: none yet
	rrs       []dns.RR           // data's records, the SOA first
	refreshed time.Time          // the last refresh that found data current
	expired   bool
	stop      context.CancelFunc // nil while no loop runs
	done      chan struct{}      // closed when the loop has returned
}

// New returns a manager whose refresh loops run until ctx ends, publishing
// new data through publish.
func New(ctx context.Context, log *zap.Logger, publish Publisher) *Manager {
	if log == nil {
		log = zap.NewNop()
	}
	return &Manager{ctx: ctx, log: log, publish: publish, timeout: 5 * time.Second, zones: map[string]*zone{}}
}

// Transferred implements zones.Transfers: the zone's last good data. The
// first time a zone is asked for, its stored copy (sec.Store), if there is a
// readable one, is that data; a broken stored copy is logged and ignored,
// and the zone waits for a transfer.
func (m *Manager) Transferred(origin string, sec *zones.Secondary) (zones.Transferred, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	z := m.zoneLocked(origin, sec)
	if z.data == nil {
		return zones.Transferred{}, false
	}
	t := *z.data
	t.Expired = z.expired
	return t, true
}

// zoneLocked returns the zone of origin, made (and its stored copy read)
// the first time.
func (m *Manager) zoneLocked(origin string, sec *zones.Secondary) *zone {
	z := m.zones[origin]
	if z != nil {
		return z
	}
	z = &zone{origin: origin, kick: make(chan struct{}, 1), cfg: sec, stats: newZoneStats()}
	m.zones[origin] = z
	if sec.Store == "" {
		return z
	}
	rrs, text, mtime, err := readStore(sec.Store, origin)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		m.log.Warn("stored copy of a secondary zone unusable; waiting for a transfer",
			zap.String("zone", origin), zap.String("store", sec.Store), zap.Error(err))
	default:
		z.data = &zones.Transferred{Source: sec.Store, Text: text}
		z.rrs = rrs
		z.refreshed = mtime
		z.expired = mtime.Add(timers(rrs[0].(*dns.SOA)).expire).Before(time.Now())
		z.stats.expired.Store(z.expired)
		z.stats.refreshed.Store(mtime.Unix())
		m.log.Info("serving the stored copy of a secondary zone",
			zap.String("zone", origin), zap.String("store", sec.Store),
			zap.Uint32("serial", rrs[0].(*dns.SOA).Serial), zap.Int("records", len(rrs)),
			zap.Time("refreshed", mtime), zap.Bool("expired", z.expired))
	}
	return z
}

// Sync makes the refresh loops match snap, the snapshot now serving: a loop
// starts for each new secondary zone (its first SOA check at once), a
// zone's settings follow the config, and the loops of zones that left it
// stop; a zone whose settings changed is refreshed at once. Call it after
// every swap.
func (m *Manager) Sync(snap *zones.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[string]bool{}
	for _, zn := range snap.Zones {
		if zn.Secondary == nil {
			continue
		}
		live[zn.Origin] = true
		z := m.zoneLocked(zn.Origin, zn.Secondary)
		if !reflect.DeepEqual(z.cfg, zn.Secondary) {
			// New primaries or a new key: check them now.
			select {
			case z.kick <- struct{}{}:
			default:
			}
		}
		z.cfg = zn.Secondary
		if z.stop == nil {
			ctx, cancel := context.WithCancel(m.ctx)
			z.stop, z.done = cancel, make(chan struct{})
			go m.run(ctx, z, z.done)
		}
	}
	for origin, z := range m.zones {
		if live[origin] {
			continue
		}
		if z.stop != nil {
			z.stop()
		}
		delete(m.zones, origin)
	}
}

// Notify asks for a refresh of the secondary zone origin now (a NOTIFY was
// accepted for it, RFC 1996 §3.11); a refresh already under way is followed
// by one more. It reports whether origin is a secondary zone here. It never
// blocks.
func (m *Manager) Notify(origin string) bool {
	m.mu.Lock()
	z := m.zones[strings.ToLower(origin)]
	m.mu.Unlock()
	if z == nil {
		return false
	}
	select {
	case z.kick <- struct{}{}:
	default:
	}
	return true
}

// Wait blocks until every refresh loop has returned (after the context
// given to New has ended).
func (m *Manager) Wait() {
	m.mu.Lock()
	var done []chan struct{}
	for _, z := range m.zones {
		if z.done != nil {
			done = append(done, z.done)
		}
	}
	m.mu.Unlock()
	for _, d := range done {
		<-d
	}
}

// candidate is the data of every zone as the manager holds it, but for one
// zone's new transfer: what a publish compiles.
type candidate struct {
	m      *Manager
	origin string
	data   *zones.Transferred
}

func (c candidate) Transferred(origin string, sec *zones.Secondary) (zones.Transferred, bool) {
	if origin == c.origin {
		return *c.data, true
	}
	return c.m.Transferred(origin, sec)
}

// publishData compiles the config with data as zone z's and swaps it in.
func (m *Manager) publishData(z *zone, data *zones.Transferred, reason string) error {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	return m.publish(candidate{m: m, origin: z.origin, data: data}, reason)
}

// publishState compiles the config with the data the manager holds (after a
// zone expired or came back) and swaps it in.
func (m *Manager) publishState(reason string) error {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	return m.publish(m, reason)
}
