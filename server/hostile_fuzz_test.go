package server

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/sitedns/sitedns/zones"
)

// FuzzECS: parseECS never panics, and what it accepts is exactly a valid
// option (RFC 7871 §6): FAMILY 0 (SOURCE 0, no address), 1 or 2; SCOPE 0;
// ceil(SOURCE/8) address bytes with no bit beyond SOURCE; the client it
// returns encodes back to the same bytes.
func FuzzECS(f *testing.F) {
	f.Add([]byte{0, 1, 24, 0, 127, 2, 1})
	f.Add([]byte{0, 2, 56, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 1, 25, 0, 127, 2, 1, 0x80})
	f.Add([]byte{0, 1, 33, 0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, d []byte) {
		e, ok := parseECS(d)
		if !ok {
			return
		}
		fam := binary.BigEndian.Uint16(d)
		src := int(d[2])
		if d[3] != 0 || fam > 2 || !bytes.Equal(e.raw, d) || int(e.source) != src {
			t.Fatalf("accepted %x: %+v", d, e)
		}
		if fam == 0 {
			if src != 0 || len(d) != 4 {
				t.Fatalf("family 0 accepted with %x", d)
			}
			return
		}
		bits := 32
		if fam == 2 {
			bits = 128
		}
		if src > bits || e.client.BitLen() != bits {
			t.Fatalf("accepted %x: client %v", d, e.client)
		}
		p, err := e.client.Prefix(src)
		if err != nil || p.Addr() != e.client {
			t.Fatalf("accepted %x: client %v has bits beyond /%d", d, e.client, src)
		}
		raw := e.client.AsSlice()[:(src+7)/8]
		if !bytes.Equal(raw, d[4:]) {
			t.Fatalf("accepted %x: client %v encodes to %x", d, e.client, raw)
		}
	})
}

// FuzzRateLimit: the limiter reads responses it did not build as safely as
// its own: classify, check and truncateReply never panic or read out of
// bounds, and a slip reply is a header with TC=1 and no records, no longer
// than the response.
func FuzzRateLimit(f *testing.F) {
	s := New(Config{}, labSnapshot(f, "lab.toml"))
	for _, q := range seedQueries() {
		if out := s.ServePacket(nil, mustPack(f, q), addrPort(f, chicagoClient), 0); out != nil {
			f.Add(out)
		}
	}
	f.Add([]byte{0, 1, 0x84, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0xC0, 0x0C})
	rl := &zones.RateLimit{ResponsesPerSecond: 1, NXDomainsPerSecond: 1, ErrorsPerSecond: 1, Window: time.Second, Slip: 1, IPv4Prefix: 24, IPv6Prefix: 56}
	var l rateLimiter
	src := netip.MustParseAddr("127.2.1.77")
	f.Fuzz(func(t *testing.T, resp []byte) {
		if len(resp) < headerLen {
			return
		}
		l.check(rl, resp, src, "", time.Now())
		in := bytes.Clone(resp)
		out := truncateReply(in)
		if len(out) > len(resp) || len(out) < headerLen || out[2]&0x02 == 0 ||
			binary.BigEndian.Uint16(out[6:]) != 0 || binary.BigEndian.Uint16(out[8:]) != 0 || binary.BigEndian.Uint16(out[10:]) != 0 {
			t.Fatalf("slip reply of %x: %x", resp, out)
		}
	})
}
