package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/metrics"
	"github.com/sitedns/sitedns/zones"
)

const (
	xfrKey    = "xfr-key."
	xfrSecret = "c2l0ZWRucy10ZXN0LXNlY3JldC0zMmJ5dGVzLWxvbmc="
)

// tsigConfig is a zone of hosts records whose transfers need xfr-key,
// and a second key that signs nothing of it.
func tsigConfig(hosts int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[server]
axfr_allow = ["127.0.0.0/8"]

[[tsig]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = %q

[[tsig]]
name = "other-key"
algorithm = "hmac-sha256"
secret = "b3RoZXItc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM="

[[zone]]
origin = "contoso.lab"
transfer_tsig = "xfr-key"
records = [
  "@ 3600 IN SOA ns1 hostmaster 7 3600 600 86400 300",
  "@ 3600 IN NS ns1",
  "ns1 300 IN A 127.0.0.53",
`, xfrSecret)
	for i := range 28 { // big: 28 A records, 470 bytes of answer
		fmt.Fprintf(&b, "  \"big 300 IN A 10.9.0.%d\",\n", i)
	}
	for i := range hosts {
		fmt.Fprintf(&b, "  \"host%d 300 IN A 10.%d.%d.%d\",\n", i, i/65536%256, i/256%256, i%256)
	}
	b.WriteString("]\n")
	return b.String()
}

func tsigServer(t testing.TB, hosts int) *Server {
	t.Helper()
	snap, err := zones.Parse("tsig.toml", "", []byte(tsigConfig(hosts)), zones.NewCounters())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{}, snap)
}

// signed packs m signed with key and secret at time at; it returns the
// message and its MAC.
func signed(t testing.TB, m *dns.Msg, key, secret string, at time.Time) ([]byte, string) {
	t.Helper()
	m.SetTsig(key, dns.HmacSHA256, 300, at.Unix())
	b, mac, err := dns.TsigGenerate(m, secret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return b, mac
}

// TestTSIGQueries: a query signed with a key of the config gets its answer
// signed with that key; one signed with a key not ours NOTAUTH/BADKEY and
// one with a wrong MAC NOTAUTH/BADSIG, both with an unsigned TSIG; one
// signed too long ago NOTAUTH/BADTIME, signed, with the server's time
// (RFC 8945 §5.2, §5.3). An unsigned query is answered unsigned.
func TestTSIGQueries(t *testing.T) {
	s := tsigServer(t, 0)
	src := netip.MustParseAddrPort("127.0.0.9:5353")
	ask := func(req []byte) (*dns.Msg, []byte) {
		out := s.ServePacket(nil, req, src, metrics.UDP)
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		return r, out
	}
	soa := func() *dns.Msg { return newQuery("contoso.lab", dns.TypeSOA) }

	r, _ := ask(mustPack(t, soa()))
	if r.Rcode != dns.RcodeSuccess || r.IsTsig() != nil || len(r.Answer) != 1 {
		t.Errorf("unsigned query: %v", r)
	}

	for _, key := range []string{xfrKey, "other-key."} {
		secret := xfrSecret
		if key != xfrKey {
			secret = "b3RoZXItc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM="
		}
		q := soa()
		if key == xfrKey {
			q.SetEdns0(1232, false) // an OPT before the TSIG: two additional records
		}
		req, mac := signed(t, q, key, secret, time.Now())
		r, out := ask(req)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.IsTsig() == nil {
			t.Fatalf("query signed with %s: %v", key, r)
		}
		if err := dns.TsigVerify(out, secret, mac, false); err != nil {
			t.Errorf("answer to a query signed with %s: %v", key, err)
		}
	}

	// A 512-byte answer without TSIG does not fit with it: truncated.
	if r, _ := ask(mustPack(t, newQuery("big.contoso.lab", dns.TypeA))); r.Truncated || len(r.Answer) != 28 {
		t.Errorf("unsigned query for big: TC=%v, %d records", r.Truncated, len(r.Answer))
	}
	req, mac := signed(t, newQuery("big.contoso.lab", dns.TypeA), xfrKey, xfrSecret, time.Now())
	if r, out := ask(req); !r.Truncated || len(out) > 512 || dns.TsigVerify(out, xfrSecret, mac, false) != nil {
		t.Errorf("signed query for big: TC=%v, %d bytes, want TC=1 within 512, signed", r.Truncated, len(out))
	}

	for _, tc := range []struct {
		what        string
		key, secret string
		at          time.Time
		err         uint16
		macked      bool
	}{
		{"a key not ours", "nobody-key.", xfrSecret, time.Now(), dns.RcodeBadKey, false},
		{"a wrong MAC", xfrKey, "d3Jvbmctc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM=", time.Now(), dns.RcodeBadSig, false},
		{"a time past the fudge", xfrKey, xfrSecret, time.Now().Add(-time.Hour), dns.RcodeBadTime, true},
	} {
		req, mac := signed(t, soa(), tc.key, tc.secret, tc.at)
		r, out := ask(req)
		sig := r.IsTsig()
		if r.Rcode != dns.RcodeNotAuth || len(r.Answer) != 0 || sig == nil || sig.Error != tc.err {
			t.Errorf("%s: %v", tc.what, r)
			continue
		}
		if (sig.MAC != "") != tc.macked {
			t.Errorf("%s: MAC %q, want one: %v", tc.what, sig.MAC, tc.macked)
		}
		if tc.macked {
			if !notAuthMACValid(t, out, tc.secret, mac) {
				t.Errorf("%s: the answer's MAC does not verify", tc.what)
			}
			if notAuthMACValid(t, out, "d3Jvbmctc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM=", mac) {
				t.Errorf("%s: the answer's MAC verifies with the wrong secret", tc.what)
			}
			if sig.OtherLen != 6 {
				t.Errorf("%s: other data %q, want the server's time", tc.what, sig.OtherData)
			}
		}
	}
}

// notAuthMACValid checks the MAC of out, a NOTAUTH answer signed with
// secret (which miekg/dns's TsigVerify refuses to look at), covering the
// query's MAC as RFC 8945 §4.3 lays the digest out.
func notAuthMACValid(t *testing.T, out []byte, secret, requestMAC string) bool {
	t.Helper()
	var m dns.Msg
	if err := m.Unpack(out); err != nil {
		t.Fatal(err)
	}
	sig := m.IsTsig()
	m.Extra = m.Extra[:len(m.Extra)-1]
	body, err := m.Pack() // as the server packed it before appending the TSIG
	if err != nil {
		t.Fatal(err)
	}
	reqMAC, _ := hex.DecodeString(requestMAC)
	var buf []byte
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(reqMAC)))
	buf = append(append(buf, reqMAC...), body...)
	name := make([]byte, 255)
	n, _ := dns.PackDomainName(strings.ToLower(sig.Hdr.Name), name, 0, nil, false)
	buf = append(buf, name[:n]...)
	buf = binary.BigEndian.AppendUint16(buf, dns.ClassANY)
	buf = binary.BigEndian.AppendUint32(buf, 0)
	n, _ = dns.PackDomainName(strings.ToLower(sig.Algorithm), name, 0, nil, false)
	buf = append(buf, name[:n]...)
	buf = append(buf, byte(sig.TimeSigned>>40), byte(sig.TimeSigned>>32))
	buf = binary.BigEndian.AppendUint32(buf, uint32(sig.TimeSigned))
	buf = binary.BigEndian.AppendUint16(buf, sig.Fudge)
	buf = binary.BigEndian.AppendUint16(buf, sig.Error)
	other, _ := hex.DecodeString(sig.OtherData)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(other)))
	buf = append(buf, other...)
	raw, _ := base64.StdEncoding.DecodeString(secret)
	h := hmac.New(sha256.New, raw)
	h.Write(buf)
	got, _ := hex.DecodeString(sig.MAC)
	return hmac.Equal(got, h.Sum(nil))
}

// TestTSIGTransfer: a zone with transfer_tsig refuses a transfer without
// its key, signed with another key too, and streams one signed with it
// with every message signed, each covering the one before (miekg/dns's
// transfer client checks the chain).
func TestTSIGTransfer(t *testing.T) {
	s := tsigServer(t, 3000) // several messages
	srv := startServer(t, Config{}, s.Snapshot())
	addr := srv.Addrs()[0]

	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{"other-key.": "b3RoZXItc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM="}}
	axfr := new(dns.Msg)
	axfr.SetAxfr("contoso.lab.")
	if r, _, err := c.Exchange(axfr, addr); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("unsigned AXFR: %v %v, want REFUSED", r, err)
	}
	axfr.SetTsig("other-key.", dns.HmacSHA256, 300, time.Now().Unix())
	if r, _, err := c.Exchange(axfr, addr); err != nil || r.Rcode != dns.RcodeRefused || r.IsTsig() == nil {
		t.Errorf("AXFR signed with another key: %v %v, want REFUSED, signed", r, err)
	}

	tr := &dns.Transfer{TsigSecret: map[string]string{xfrKey: xfrSecret}}
	axfr = new(dns.Msg)
	axfr.SetAxfr("contoso.lab.")
	axfr.SetTsig(xfrKey, dns.HmacSHA256, 300, time.Now().Unix())
	env, err := tr.In(axfr, addr)
	if err != nil {
		t.Fatal(err)
	}
	msgs, records := 0, 0
	for e := range env {
		if e.Error != nil {
			t.Fatalf("message %d: %v", msgs+1, e.Error)
		}
		msgs++
		records += len(e.RR)
	}
	if msgs < 2 || records != 3000+28+4 {
		t.Errorf("%d messages, %d records; want several, %d", msgs, records, 3000+28+4)
	}
}

// TestTSIGMisplaced: a TSIG that is not the last record of the message, or
// one of two, gets FORMERR (RFC 8945 §5.1); so does one without RDATA,
// which names no algorithm to answer with (§5.2).
func TestTSIGMisplaced(t *testing.T) {
	s := tsigServer(t, 0)
	src := netip.MustParseAddrPort("127.0.0.9:5353")
	stub := func() *dns.TSIG {
		return &dns.TSIG{Hdr: dns.RR_Header{Name: xfrKey, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
			Algorithm: dns.HmacSHA256, Fudge: 300, TimeSigned: uint64(time.Now().Unix()), MACSize: 2, MAC: "abcd"}
	}
	for name, edit := range map[string]func(m *dns.Msg){
		"before the OPT": func(m *dns.Msg) {
			m.Extra = append(m.Extra, stub())
			m.SetEdns0(1232, false)
		},
		"in the answer section": func(m *dns.Msg) { m.Answer = append(m.Answer, stub()) },
		"two of them":           func(m *dns.Msg) { m.Extra = append(m.Extra, stub(), stub()) },
	} {
		m := newQuery("contoso.lab", dns.TypeSOA)
		edit(m)
		out := s.ServePacket(nil, mustPack(t, m), src, metrics.UDP)
		var r dns.Msg
		if err := r.Unpack(out); err != nil || r.Rcode != dns.RcodeFormatError {
			t.Errorf("a TSIG %s: %v %v, want FORMERR", name, err, r.Rcode)
		}
	}

	p := mustPack(t, newQuery("contoso.lab", dns.TypeSOA))
	p[11]++                                                                          // ARCOUNT
	p = append(p, 0, 0, byte(dns.TypeTSIG), 0, byte(dns.ClassANY), 0, 0, 0, 0, 0, 0) // root owner, TTL 0, RDLENGTH 0
	var r dns.Msg
	if err := r.Unpack(s.ServePacket(nil, p, src, metrics.UDP)); err != nil || r.Rcode != dns.RcodeFormatError || r.IsTsig() != nil {
		t.Errorf("a TSIG without RDATA: %v %v, want FORMERR unsigned", err, r.Rcode)
	}
}

// FuzzTSIG: whatever a signed query turns into, the server leaves it as it
// was, answers with a message that parses, within the UDP limit, and an
// answer whose TSIG says no error verifies with the key it names, covering
// the query's MAC.
func FuzzTSIG(f *testing.F) {
	s := tsigServer(f, 0)
	secrets := map[string]string{xfrKey: xfrSecret, "other-key.": "b3RoZXItc2VjcmV0LW9mLXNpeHRlZW4tYnl0ZXM="}
	for _, q := range []struct {
		name  string
		qtype uint16
		key   string
	}{
		{"contoso.lab", dns.TypeSOA, xfrKey},
		{"big.contoso.lab", dns.TypeA, xfrKey},
		{"contoso.lab", dns.TypeAXFR, xfrKey},
		{"contoso.lab", dns.TypeAXFR, "other-key."},
		{"ns1.contoso.lab", dns.TypeA, "unknown-key."},
	} {
		req, _ := signed(f, newQuery(q.name, q.qtype), q.key, xfrSecret, time.Now())
		f.Add(req, false)
		f.Add(req, true)
	}
	src := netip.MustParseAddrPort("127.0.0.9:5353")
	f.Fuzz(func(t *testing.T, p []byte, tcp bool) {
		tr := metrics.UDP
		if tcp {
			tr = metrics.TCP
		}
		in := string(p)
		out := s.ServePacket(nil, p, src, tr)
		if in != string(p) {
			t.Fatal("ServePacket changed its input") // the tap logs it afterwards
		}
		checkReply(t, p, out)
		if tr == metrics.UDP && len(out) > maxUDPSize {
			t.Fatalf("UDP reply of %d bytes", len(out))
		}
		var r, q dns.Msg
		if out == nil || r.Unpack(out) != nil || r.IsTsig() == nil || r.IsTsig().Error != 0 {
			return
		}
		if err := q.Unpack(p); err != nil || q.IsTsig() == nil {
			t.Fatalf("a signed answer to a query without TSIG (%v)", err)
		}
		if err := dns.TsigVerify(out, secrets[strings.ToLower(r.IsTsig().Hdr.Name)], q.IsTsig().MAC, false); err != nil {
			t.Fatalf("the answer's TSIG does not verify: %v", err)
		}
	})
}
