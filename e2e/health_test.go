package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/loadtest"
)

// The checks of TestHealth: probes every 200ms, up after 2 successes,
// down after 3 failures, each probe bounded by 150ms.
const (
	hInterval = 200 * time.Millisecond
	hTimeout  = 150 * time.Millisecond
	hRise     = 2
	hFall     = 3
	// hSlack is what the time checks allow beyond interval × fall +
	// timeout and interval × rise. The measured times are printed, and
	// are well within the bounds on an idle machine (about 0.5s of the
	// 0.75s, 0.3s of the 0.4s); on a shared 2-core machine under others'
	// load the probe and health goroutines can wait a second to be
	// scheduled, so the time checks only catch an address that leaves or
	// returns seconds late. What the bounds follow from is checked
	// exactly instead: the address leaves after fall failed probes and
	// not before, and returns after rise successful ones and not before.
	hSlack = 2 * time.Second
)

var testCAS = []string{"127.1.1.10", "127.2.1.10", "127.3.1.10"}

// backend is a server played by the test on one address and port: an
// Exchange CAS (HTTPS, /autodiscover/healthcheck.htm) or an OCS pool (TCP,
// accept and close). It can be stopped (the port then refuses connections)
// and started again.
type backend struct {
	t    *testing.T
	addr string
	cert *tls.Certificate // nil: plain TCP

	// flap, when set, makes every other health request fail (503).
	flap atomic.Bool
	hits atomic.Int64 // requests or connections served

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// listen starts b on its address, retrying for a while: a port just
// closed may take a moment to bind again.
func (b *backend) listen() error {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ln, b.done = ln, make(chan struct{})
	if b.cert == nil {
		go func(ln net.Listener, done chan struct{}) {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				b.hits.Add(1)
				c.Close()
			}
		}(ln, b.done)
		return nil
	}
	var n atomic.Int64
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			if r.URL.Path != "/autodiscover/healthcheck.htm" {
				http.NotFound(w, r)
				return
			}
			if b.flap.Load() && n.Add(1)%2 == 0 {
				http.Error(w, "flapping", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "200 OK")
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{*b.cert}},
		// A probe cut off when the test stops the CAS is expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func(srv *http.Server, ln net.Listener, done chan struct{}) {
		defer close(done)
		_ = srv.ServeTLS(ln, "", "")
	}(b.srv, ln, b.done)
	return nil
}

func (b *backend) start() {
	b.t.Helper()
	if err := b.listen(); err != nil {
		b.t.Fatalf("backend %s: %v", b.addr, err)
	}
}

// stop closes the listener and every connection, and waits.
func (b *backend) stop() {
	b.mu.Lock()
	ln, srv, done := b.ln, b.srv, b.done
	b.ln, b.srv = nil, nil
	b.mu.Unlock()
	if ln == nil {
		return
	}
	if srv != nil {
		srv.Close()
	} else {
		ln.Close()
	}
	<-done
}

// backends starts one backend per address on one port free on all of
// them (the check has one port).
func backends(t *testing.T, addrs []string, cert *tls.Certificate) ([]*backend, int) {
	t.Helper()
	for range 20 {
		first, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		first.Close()
		var bs []*backend
		ok := true
		for _, a := range addrs {
			b := &backend{t: t, addr: net.JoinHostPort(a, strconv.Itoa(port)), cert: cert}
			if err := b.listen(); err != nil {
				ok = false
				break
			}
			bs = append(bs, b)
		}
		if ok {
			for _, b := range bs {
				t.Cleanup(b.stop)
			}
			return bs, port
		}
		for _, b := range bs {
			b.stop()
		}
	}
	t.Fatalf("no port free on all of %v", addrs)
	return nil, 0
}

// selfSigned makes a certificate for mail.contoso.lab and the CAS
// addresses, and writes it as PEM to path, for the check's ca_file.
func selfSigned(t *testing.T, path string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail.contoso.lab"},
		DNSNames:              []string{"mail.contoso.lab"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, a := range testCAS {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(a))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// healthClient asks sitedns from one source address over one UDP socket
// and counts what it could not get.
type healthClient struct {
	t    *testing.T
	c    *dns.Client
	conn *dns.Conn
	sent int
	lost int
}

func newHealthClient(t *testing.T, server, src string) *healthClient {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
	conn, err := c.Dial(server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &healthClient{t: t, c: c, conn: conn}
}

// ask sends one query; a lost query is counted, and the answer is nil.
func (h *healthClient) ask(name string, qtype uint16) *dns.Msg {
	h.sent++
	r, _, err := h.c.ExchangeWithConn(newQuery(name, qtype), h.conn)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		h.lost++
		h.t.Errorf("query %d for %s lost: %v %v", h.sent, name, err, r)
		return nil
	}
	return r
}

// until asks for name until done holds for an answer, within limit, and
// returns how long that took from since.
func (h *healthClient) until(name string, qtype uint16, since time.Time, limit time.Duration, what string, done func(*dns.Msg) bool) time.Duration {
	h.t.Helper()
	// One query a millisecond: the resolution of the figure, and a load
	// that leaves the machine's two cores to the server and its probes.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(limit)
	for n := 0; n < 1_000_000; n++ {
		if r := h.ask(name, qtype); r != nil && done(r) {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	h.t.Fatalf("%s: not within %v", what, limit)
	return 0
}

// srvTargets lists the targets of the SRV records of r.
func srvTargets(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, s.Target)
		}
	}
	return out
}

// TestHealth plays three Exchange CAS with real HTTPS listeners (a
// self-signed certificate, verified through ca_file) and two OCS pools
// with TCP listeners on loopback, and checks what clients of the real
// binary get as they die, come back, flap and all die.
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	cert := selfSigned(t, filepath.Join(dir, "ca.pem"))
	cas, casPort := backends(t, testCAS, cert)
	pools, poolPort := backends(t, []string{"127.1.1.20", "127.2.1.20"}, nil)
	check := fmt.Sprintf("interval = %q\ntimeout = %q\nrise = %d\nfall = %d\nsource = \"127.0.0.1\"\n", hInterval, hTimeout, hRise, hFall)
	cfg := `
[[check]]
name = "cas-https"
type = "https"
port = ` + strconv.Itoa(casPort) + `
path = "/autodiscover/healthcheck.htm"
expect_status = [200]
tls_server_name = "mail.contoso.lab"
ca_file = "ca.pem"
` + check + `
[[check]]
name = "pool-tcp"
type = "tcp"
port = ` + strconv.Itoa(poolPort) + `
` + check + `
[[zone]]
origin = "contoso.lab"
records = [
  "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300",
  "@ 3600 IN NS ns1",
  "ns1 300 IN A 127.0.0.53",
  "pool01 300 IN A 127.1.1.20",
  "pool02 300 IN A 127.2.1.20",
]

[[zone.name]]
name = "autodiscover"
check = "cas-https"
records = ["300 IN A 127.1.1.10", "300 IN A 127.2.1.10", "300 IN A 127.3.1.10"]

[[zone.name]]
name = "_sipinternaltls._tcp"
check = "pool-tcp"
records = ["300 IN SRV 0 0 5061 pool01.contoso.lab.", "300 IN SRV 0 0 5061 pool02.contoso.lab."]
`
	path := filepath.Join(dir, "health.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", path, "-enable-http-reload")
	cl := newHealthClient(t, in.DNS, "127.9.0.5") // a client in no site: plain round robin
	const ad = "autodiscover.contoso.lab"
	upSeries := func(check, target string) string {
		return fmt.Sprintf(`sitedns_target_up{check=%q,target=%q}`, check, target)
	}
	failOpen := `sitedns_answers_failopen_total{name="autodiscover.contoso.lab.",scope="default",zone="contoso.lab."}`

	// Every target up (rise probes each), from the log.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(in.Log(), `"state":"up"`) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("targets not up within 10s:\n%s", in.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := metricValue(t, in, failOpen); v != 0 {
		t.Fatalf("fail-open counter %v before any failure", v)
	}

	// firsts asks n times and counts the first addresses; it fails on an
	// answer holding a down address.
	firsts := func(n int, down ...string) map[string]int {
		c := map[string]int{}
		for range n {
			r := cl.ask(ad, dns.TypeA)
			if r == nil {
				continue
			}
			got := addrs(r)
			for _, d := range down {
				if slices.Contains(got, d) {
					t.Fatalf("%s is down and was answered: %v", d, got)
				}
			}
			if len(got) != 3-len(down) {
				t.Fatalf("answer %v with %v down", got, down)
			}
			c[got[0]]++
		}
		return c
	}
	evenly := func(c map[string]int, targets []string) {
		t.Helper()
		var obs, exp []float64
		total := 0
		for _, a := range targets {
			total += c[a]
		}
		for _, a := range targets {
			obs = append(obs, float64(c[a]))
			exp = append(exp, float64(total)/float64(len(targets)))
		}
		chi2, df := loadtest.ChiSquare(obs, exp)
		p := loadtest.ChiSquarePValue(chi2, df)
		t.Logf("first answers %v: chi2 %.2f, df %d, p %.4f", c, chi2, df, p)
		if p < 0.01 {
			t.Errorf("first answers not even over %v: %v (p %.4f)", targets, c, p)
		}
	}
	evenly(firsts(3000), testCAS)

	// One CAS dies: it leaves every answer within interval × fall + timeout.
	leaveBound := hInterval*hFall + hTimeout
	cas[1].stop()
	stopped := time.Now()
	took := cl.until(ad, dns.TypeA, stopped, leaveBound+hSlack+5*time.Second, "127.2.1.10 leaving", func(r *dns.Msg) bool {
		return !slices.Contains(addrs(r), "127.2.1.10")
	})
	if v := metricValue(t, in, `sitedns_check_failures_total{check="cas-https",reason="refused",target="127.2.1.10"}`); v < hFall {
		t.Errorf("127.2.1.10 left after %v refused probes, want %d", v, hFall)
	}
	t.Logf("CAS 127.2.1.10 stopped: left every answer after %v (interval × fall + timeout = %v)", took.Round(time.Millisecond), leaveBound)
	if took > leaveBound+hSlack {
		t.Errorf("127.2.1.10 left after %v, later than %v (+%v for a loaded machine)", took, leaveBound, hSlack)
	}
	evenly(firsts(3000, "127.2.1.10"), []string{"127.1.1.10", "127.3.1.10"})
	if answers, down := loadtestDown(t, in, "127.2.1.10"); answers == 0 || down != 0 {
		t.Errorf("sitedns loadtest -down 127.2.1.10 with it down: %d of %d answers held it", down, answers)
	}
	// A reload keeps what the probes found: the new snapshot serves with
	// 127.2.1.10 down from its first answer.
	if code := in.reload(t); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	for range 100 {
		if r := cl.ask(ad, dns.TypeA); r != nil && slices.Contains(addrs(r), "127.2.1.10") {
			t.Fatalf("127.2.1.10 answered after a reload: %v", addrs(r))
		}
	}
	if v := metricValue(t, in, upSeries("cas-https", "127.2.1.10")); v != 0 {
		t.Errorf("%s = %v, want 0", upSeries("cas-https", "127.2.1.10"), v)
	}
	if v := metricValue(t, in, `sitedns_check_failures_total{check="cas-https",reason="refused",target="127.2.1.10"}`); v < hFall {
		t.Errorf("refused probes of 127.2.1.10: %v, want at least %d", v, hFall)
	}

	// It comes back within interval × rise, after rise successful probes.
	riseBound := hInterval * hRise
	hits0 := cas[1].hits.Load()
	cas[1].start()
	restarted := time.Now()
	took = cl.until(ad, dns.TypeA, restarted, riseBound+hSlack+5*time.Second, "127.2.1.10 back", func(r *dns.Msg) bool {
		return slices.Contains(addrs(r), "127.2.1.10")
	})
	if n := cas[1].hits.Load() - hits0; n < hRise {
		t.Errorf("127.2.1.10 back after %d successful probes, want %d", n, hRise)
	}
	t.Logf("CAS 127.2.1.10 started again: back in answers after %v (interval × rise = %v)", took.Round(time.Millisecond), riseBound)
	if took > riseBound+hSlack {
		t.Errorf("127.2.1.10 came back after %v, later than %v (+%v for a loaded machine)", took, riseBound, hSlack)
		_, body := in.get(t, "/metrics")
		t.Logf("%s", grepLines(body, "127.2.1.10"))
	}
	evenly(firsts(3000), testCAS)
	// The same measure, told of a CAS that is up, sees it in every answer.
	if answers, down := loadtestDown(t, in, "127.2.1.10"); answers == 0 || down != answers {
		t.Errorf("sitedns loadtest -down 127.2.1.10 with it up: %d of %d answers held it", down, answers)
	}

	// A CAS that fails every other probe never reaches fall failures in a
	// row: it stays in every answer, its state never changes.
	changes := strings.Count(in.Log(), "health check changed state")
	cas[2].flap.Store(true)
	h0 := cas[2].hits.Load()
	flapEnd := time.Now().Add(20 * time.Second)
	flapTick := time.NewTicker(time.Millisecond) // sampling, as until does
	defer flapTick.Stop()
	for ; cas[2].hits.Load() < h0+4*hFall; <-flapTick.C {
		if r := cl.ask(ad, dns.TypeA); r != nil && !slices.Contains(addrs(r), "127.3.1.10") {
			t.Fatalf("flapping 127.3.1.10 left an answer: %v", addrs(r))
		}
		if time.Now().After(flapEnd) {
			t.Fatalf("only %d probes of the flapping CAS in 20s", cas[2].hits.Load()-h0)
		}
	}
	if n := strings.Count(in.Log(), "health check changed state"); n != changes {
		t.Errorf("%d state changes while 127.3.1.10 answered every other probe, want none", n-changes)
	}
	t.Logf("flapping CAS: %d probes, alternately failing; no state change, in every answer", cas[2].hits.Load()-h0)
	cas[2].flap.Store(false)

	// A pool wholly down: its SRV record leaves, with its address.
	pools[1].stop()
	took = cl.until("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV, time.Now(), leaveBound+hSlack+5*time.Second, "pool02 leaving", func(r *dns.Msg) bool {
		return slices.Equal(srvTargets(r), []string{"pool01.contoso.lab."})
	})
	t.Logf("pool02 stopped: its SRV record left after %v", took.Round(time.Millisecond))
	for range 100 {
		r := cl.ask("_sipinternaltls._tcp.contoso.lab", dns.TypeSRV)
		if r == nil {
			continue
		}
		if got := srvTargets(r); !slices.Equal(got, []string{"pool01.contoso.lab."}) {
			t.Fatalf("SRV with pool02 down: %v", got)
		}
		for _, rr := range r.Extra {
			if a, ok := rr.(*dns.A); ok && a.A.String() != "127.1.1.20" {
				t.Fatalf("additional address %s with pool02 down", a.A)
			}
		}
	}

	// Every CAS dies: all three are answered (fail-open) and counted.
	for _, b := range cas {
		b.stop()
	}
	allDown := time.Now()
	before := metricValue(t, in, failOpen)
	took = cl.until(ad, dns.TypeA, allDown, leaveBound+hSlack+5*time.Second, "fail-open", func(*dns.Msg) bool {
		return metricValue(t, in, failOpen) > before
	})
	t.Logf("all three CAS stopped: fail-open after %v", took.Round(time.Millisecond))
	for range 300 {
		if r := cl.ask(ad, dns.TypeA); r != nil && len(addrs(r)) != 3 {
			t.Fatalf("all down: %v, want all three", addrs(r))
		}
	}
	fo := metricValue(t, in, failOpen)
	if fo < before+300 {
		t.Errorf("fail-open counter %v after 300 answers, from %v", fo, before)
	}
	for _, a := range testCAS {
		if v := metricValue(t, in, upSeries("cas-https", a)); v != 0 {
			t.Errorf("%s = %v with every CAS down", upSeries("cas-https", a), v)
		}
	}
	if cl.lost > 0 {
		t.Errorf("%d of %d queries lost", cl.lost, cl.sent)
	}
	t.Logf("%d queries, %d lost; fail-open counter %v", cl.sent, cl.lost, fo)
}

// loadtestDown runs sitedns loadtest against in, told that down is down,
// and returns the answers and those holding down, over every group.
func loadtestDown(t *testing.T, in *instance, down string) (answers, withDown int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sitednsBin, "loadtest", "-server", in.DNS, "-name", "autodiscover.contoso.lab",
		"-clients", "127.9.0.0/24,127.8.0.0/24", "-queries", "600", "-json", "-q", "-down", down)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sitedns loadtest: %v\n%s", err, out)
	}
	var r struct {
		Down   []string `json:"down"`
		Groups []struct {
			Answers     int `json:"answers"`
			DownAnswers int `json:"down_answers"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("loadtest JSON: %v\n%s", err, out)
	}
	if len(r.Down) != 1 || r.Down[0] != down {
		t.Errorf("report's down list %v", r.Down)
	}
	for _, g := range r.Groups {
		answers += g.Answers
		withDown += g.DownAnswers
	}
	t.Logf("sitedns loadtest -down %s: %d of %d answers held it", down, withDown, answers)
	return answers, withDown
}
