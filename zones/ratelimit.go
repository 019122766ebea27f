package zones

import (
	"net/netip"
	"strconv"
	"time"
)

// RateLimit is the compiled [rrl] table: response rate limiting of UDP
// answers, in the spirit of BIND's and Knot's RRL. Immutable after
// construction.
//
// Each response is charged to a bucket keyed by the client's network (the
// source address masked to IPv4Prefix or IPv6Prefix bits), the class of the
// response (an answer or NODATA, NXDOMAIN, a referral, an error) and what
// the response is about (the query name and type for an answer, the zone for
// NXDOMAIN, the delegation for a referral, nothing for an error). A bucket
// earns its rate in responses per second, holds at most one second of them,
// and is charged for every response, limited ones included, down to a debt
// of Window seconds: a network that keeps flooding stays limited, and one
// that stops is answered again within Window.
type RateLimit struct {
	// ResponsesPerSecond is the rate of answers (and NODATA) and referrals
	// per bucket. Always > 0: a config without a rate has no RateLimit.
	ResponsesPerSecond int
	// NXDomainsPerSecond is the rate of NXDOMAIN answers per bucket.
	NXDomainsPerSecond int
	// ErrorsPerSecond is the rate of error responses (REFUSED, FORMERR,
	// SERVFAIL, NOTIMP…) per bucket.
	ErrorsPerSecond int
	// Window is how far a bucket may go into debt, as time: a flood must stop
	// for up to Window before its network is answered again.
	Window time.Duration
	// Slip: every Slip-th limited response goes out truncated (TC=1, no
	// records) instead of being dropped, so that a real client behind a
	// spoofed flood retries over TCP. 0 drops them all; 1 truncates them all.
	Slip int
	// IPv4Prefix and IPv6Prefix are the lengths a client address is masked to.
	IPv4Prefix, IPv6Prefix int
	// Exempt lists client prefixes never limited.
	Exempt []netip.Prefix
}

// Defaults of the [rrl] table.
const (
	DefaultRateLimitWindow     = 15 * time.Second
	DefaultRateLimitSlip       = 2
	DefaultRateLimitIPv4Prefix = 24
	DefaultRateLimitIPv6Prefix = 56
)

// maxRate bounds every *_per_second setting: past it the limiter's clock
// (microseconds) cannot tell two responses apart.
const maxRate = 1_000_000

// rateLimit compiles the [rrl] table into snap.RateLimit, which stays nil
// when the table is absent or sets no rate.
func (c *compiler) rateLimit(cfg *fileConfig, snap *Snapshot) {
	rc := cfg.RRL
	if rc == nil {
		return
	}
	blk := c.loc.table(c.loc.whole(), "rrl", 0)
	intIn := func(p *int, key string, lo, hi, def int) int {
		if p == nil {
			return def
		}
		if *p < lo || *p > hi {
			c.addf(c.loc.key(blk, key), "rrl: "+key, strconv.Itoa(*p), "want %d to %d", lo, hi)
			return def
		}
		return *p
	}
	rl := &RateLimit{
		ResponsesPerSecond: intIn(rc.ResponsesPerSecond, "responses_per_second", 0, maxRate, 0),
		Window:             time.Duration(intIn(rc.Window, "window", 1, 3600, int(DefaultRateLimitWindow/time.Second))) * time.Second,
		Slip:               intIn(rc.Slip, "slip", 0, 10, DefaultRateLimitSlip),
		IPv4Prefix:         intIn(rc.IPv4Prefix, "ipv4_prefix", 1, 32, DefaultRateLimitIPv4Prefix),
		IPv6Prefix:         intIn(rc.IPv6Prefix, "ipv6_prefix", 1, 128, DefaultRateLimitIPv6Prefix),
	}
	rl.NXDomainsPerSecond = intIn(rc.NXDomainsPerSecond, "nxdomains_per_second", 1, maxRate, rl.ResponsesPerSecond)
	rl.ErrorsPerSecond = intIn(rc.ErrorsPerSecond, "errors_per_second", 1, maxRate, rl.ResponsesPerSecond)
	for _, s := range rc.Exempt {
		p, err := parsePrefix(s)
		if err != nil {
			c.add(c.loc.value(blk, "exempt", s), "rrl: exempt", s, err.Error())
			continue
		}
		rl.Exempt = append(rl.Exempt, p)
	}
	if rl.ResponsesPerSecond == 0 {
		if rc.NXDomainsPerSecond != nil || rc.ErrorsPerSecond != nil {
			c.add(c.loc.key(blk, "responses_per_second"), "rrl: responses_per_second", "",
				"required (> 0) when nxdomains_per_second or errors_per_second is set")
		}
		return // off
	}
	snap.RateLimit = rl
}
