package secondary

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/sitedns/sitedns/internal/atomicfile"
	"github.com/sitedns/sitedns/internal/serial"
	"github.com/sitedns/sitedns/zones"
)

// soaTimers are the secondary's timers of a zone, from its SOA (RFC 1035
// §3.3.13), clamped to at least a second each.
type soaTimers struct {
	refresh, retry, expire time.Duration
}

func timers(soa *dns.SOA) soaTimers {
	d := func(s uint32) time.Duration { return max(time.Duration(s)*time.Second, time.Second) }
	return soaTimers{refresh: d(soa.Refresh), retry: d(soa.Retry), expire: d(soa.Expire)}
}

// noDataRetry is how long a zone without data waits between attempts when
// every primary failed: it has no SOA to take a retry interval from.
const noDataRetry = 10 * time.Second

// run is the refresh loop of z (RFC 1034 §4.3.5): an SOA check at once,
// then one each refresh interval after a success, each retry interval after
// a failure, and at once on a NOTIFY. It returns when ctx ends.
func (m *Manager) run(ctx context.Context, z *zone, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-z.kick:
		}
		next := m.refresh(ctx, z)
		if ctx.Err() != nil {
			return
		}
		t.Reset(next)
	}
}

// state is what a refresh starts from, read under Manager.mu.
type state struct {
	cfg     *zones.Secondary
	soa     *dns.SOA // nil: no data
	rrs     []dns.RR
	expired bool
}

func (m *Manager) state(z *zone) state {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := state{cfg: z.cfg, rrs: z.rrs, expired: z.expired}
	if len(z.rrs) > 0 {
		st.soa = z.rrs[0].(*dns.SOA)
	}
	return st
}

// refresh checks each primary's SOA in turn and transfers from the first
// that answers with a newer serial; it returns when to refresh next.
func (m *Manager) refresh(ctx context.Context, z *zone) time.Duration {
	st := m.state(z)
	var errs []error
	for _, p := range st.cfg.Primaries {
		if ctx.Err() != nil {
			return 0
		}
		theirs, err := m.soaSerial(ctx, z.origin, st.cfg, p)
		z.stats.check(err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if st.soa != nil && !serial.Newer(theirs, st.soa.Serial) {
			if serial.Newer(st.soa.Serial, theirs) {
				m.log.Warn("primary's serial is older than ours; keeping ours",
					zap.String("zone", z.origin), zap.Stringer("primary", p),
					zap.Uint32("theirs", theirs), zap.Uint32("ours", st.soa.Serial))
			}
			m.current(z, st)
			return timers(st.soa).refresh
		}
		if err := m.transfer(ctx, z, st, p, theirs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		return timers(m.state(z).soa).refresh
	}
	err := errors.Join(errs...)
	m.log.Warn("refresh of a secondary zone failed", zap.String("zone", z.origin), zap.Error(err))
	return m.failed(z, st)
}

// current records a refresh that found the data current: the expire timer
// starts again, an expired zone answers again, and the stored copy's time
// says so for the next start.
func (m *Manager) current(z *zone, st state) {
	now := time.Now()
	m.mu.Lock()
	z.refreshed = now
	wasExpired := z.expired
	z.expired = false
	m.mu.Unlock()
	z.stats.refreshed.Store(now.Unix())
	z.stats.expired.Store(false)
	if st.cfg.Store != "" {
		_ = touchStore(st.cfg.Store, now)
	}
	if wasExpired {
		if err := m.publishState("secondary zone refreshed after expiry"); err != nil {
			m.log.Error("zone refreshed but the config does not compile", zap.String("zone", z.origin), zap.Error(err))
			return
		}
		m.log.Info("secondary zone refreshed after expiry; answering again", zap.String("zone", z.origin))
	}
}

// failed handles a refresh that reached no primary: past the SOA expire
// since the last good refresh, the zone expires (and answers SERVFAIL). It
// returns when to try again.
func (m *Manager) failed(z *zone, st state) time.Duration {
	if st.soa == nil {
		return noDataRetry
	}
	tm := timers(st.soa)
	m.mu.Lock()
	left := time.Until(z.refreshed.Add(tm.expire))
	expire := left <= 0 && !z.expired
	if expire {
		z.expired = true
	}
	m.mu.Unlock()
	if expire {
		z.stats.expired.Store(true)
		z.stats.expirations.Add(1)
		m.log.Error("secondary zone expired: no refresh within the SOA expire; answering SERVFAIL",
			zap.String("zone", z.origin), zap.Duration("expire", tm.expire))
		if err := m.publishState("secondary zone expired"); err != nil {
			m.log.Error("zone expired but the config does not compile", zap.String("zone", z.origin), zap.Error(err))
		}
	}
	if left > 0 {
		return max(min(tm.retry, left), 10*time.Millisecond)
	}
	return tm.retry
}

// transfer fetches the zone from p (IXFR when there is data to start from,
// AXFR otherwise or when the IXFR cannot be applied), publishes it, and
// keeps it as the zone's good data when it compiled.
func (m *Manager) transfer(ctx context.Context, z *zone, st state, p netip.AddrPort, theirs uint32) error {
	start := time.Now()
	var (
		rrs  []dns.RR
		kind = kindAXFR
		err  error
	)
	if st.soa != nil {
		kind = kindIXFR
		var resp []dns.RR
		resp, err = m.fetch(ctx, z.origin, st.cfg, p, st.soa)
		if err == nil {
			var full bool
			rrs, full, err = applyIXFR(st.rrs, resp)
			if full {
				kind = kindAXFR // the primary sent the whole zone (RFC 1995 §4)
			}
		}
		if err != nil {
			z.stats.transfer(kindIXFR, resultError)
			m.log.Warn("IXFR failed; trying AXFR", zap.String("zone", z.origin), zap.Stringer("primary", p), zap.Error(err))
			kind, rrs = kindAXFR, nil
		}
	}
	if rrs == nil {
		var resp []dns.RR
		if resp, err = m.fetch(ctx, z.origin, st.cfg, p, nil); err == nil {
			rrs, err = axfrRecords(resp)
		}
		if err != nil {
			z.stats.transfer(kindAXFR, resultError)
			return fmt.Errorf("AXFR: %w", err)
		}
	}
	soa := rrs[0].(*dns.SOA)
	data := &zones.Transferred{
		Source: fmt.Sprintf("%s of %s serial %d from %s", kind, z.origin, soa.Serial, p),
		Text:   render(rrs),
	}
	fetched := time.Since(start)
	if err := m.publishData(z, data, "zone transfer"); err != nil {
		z.stats.transfer(kind, resultInvalid)
		m.log.Error("zone transfer rejected; still serving the previous data",
			zap.String("zone", z.origin), zap.String("kind", kind), zap.Uint32("serial", soa.Serial),
			zap.Stringer("primary", p), zap.Error(err))
		return fmt.Errorf("%s serial %d does not compile: %w", kind, soa.Serial, err)
	}
	now := time.Now()
	m.mu.Lock()
	z.data, z.rrs, z.refreshed, z.expired = data, rrs, now, false
	m.mu.Unlock()
	z.stats.transfer(kind, resultSuccess)
	z.stats.refreshed.Store(now.Unix())
	z.stats.expired.Store(false)
	if st.cfg.Store != "" {
		if err := atomicfile.Write(st.cfg.Store, data.Text); err != nil {
			m.log.Error("cannot keep the stored copy of a secondary zone", zap.String("zone", z.origin),
				zap.String("store", st.cfg.Store), zap.Error(err))
		}
	}
	m.log.Info("zone transferred", zap.String("zone", z.origin), zap.String("kind", kind),
		zap.Uint32("serial", soa.Serial), zap.Int("records", len(rrs)), zap.Stringer("primary", p),
		zap.Duration("transfer", fetched), zap.Duration("took", time.Since(start)))
	return nil
}

// tsigSecrets is the key table miekg/dns takes, or nil.
func tsigSecrets(k *zones.TSIGKey) map[string]string {
	if k == nil {
		return nil
	}
	return map[string]string{k.Name: k.Secret}
}

// soaSerial asks p for the zone's SOA (signed when the zone has a key, and
// then requiring a signed reply) and returns its serial.
func (m *Manager) soaSerial(ctx context.Context, origin string, cfg *zones.Secondary, p netip.AddrPort) (uint32, error) {
	q := new(dns.Msg)
	q.SetQuestion(origin, dns.TypeSOA)
	q.RecursionDesired = false
	if cfg.TSIG != nil {
		q.SetTsig(cfg.TSIG.Name, cfg.TSIG.Algorithm, 300, time.Now().Unix())
	}
	c := &dns.Client{Net: "udp", Timeout: m.timeout, TsigSecret: tsigSecrets(cfg.TSIG)}
	r, _, err := c.ExchangeContext(ctx, q, p.String())
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, q, p.String())
	}
	if err != nil {
		return 0, fmt.Errorf("SOA query: %w", err)
	}
	if cfg.TSIG != nil && r.IsTsig() == nil {
		return 0, fmt.Errorf("SOA query: reply not signed with key %s", cfg.TSIG.Name)
	}
	if r.Rcode != dns.RcodeSuccess {
		return 0, fmt.Errorf("SOA query: %s", dns.RcodeToString[r.Rcode])
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && equalName(soa.Hdr.Name, origin) {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("SOA query: no SOA for %s in the answer", origin)
}

// fetch transfers the zone from p: AXFR when since is nil, else IXFR from
// since. Every message must be signed when the zone has a key (miekg/dns
// verifies each one and fails on a missing signature).
func (m *Manager) fetch(ctx context.Context, origin string, cfg *zones.Secondary, p netip.AddrPort, since *dns.SOA) ([]dns.RR, error) {
	q := new(dns.Msg)
	if since == nil {
		q.SetAxfr(origin)
	} else {
		q.SetIxfr(origin, since.Serial, since.Ns, since.Mbox)
	}
	if cfg.TSIG != nil {
		q.SetTsig(cfg.TSIG.Name, cfg.TSIG.Algorithm, 300, time.Now().Unix())
	}
	t := &dns.Transfer{DialTimeout: m.timeout, ReadTimeout: m.timeout, WriteTimeout: m.timeout, TsigSecret: tsigSecrets(cfg.TSIG)}
	ch, err := t.In(q, p.String())
	if err != nil {
		return nil, err
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			err = env.Error
			continue // drain: In closes ch once its connection is closed
		}
		if ctx.Err() == nil {
			rrs = append(rrs, env.RR...)
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return rrs, err
}
