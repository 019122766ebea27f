package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The TSIG key the primaries and sitedns share in these tests (not a secret).
const (
	xfrKeyName   = "xfr-key"
	xfrKeySecret = "c2l0ZWRucyB0ZXN0IGtleSwgbm90IGEgc2VjcmV0IQ=="
	badKeySecret = "YW5vdGhlciBrZXksIG5vdCB0aGUgcHJpbWFyeSdzIQ=="
)

// primary is a real primary server (BIND's named or Knot's knotd) run by a
// test on a loopback address: it serves one zone from a file, lets holders
// of xfrKeyName transfer it (AXFR and IXFR from the differences between
// reloads), and sends NOTIFY to notifyTo from its own address.
type primary struct {
	t        *testing.T
	kind     string // "bind" or "knot"
	ip       string
	port     int
	Addr     string // ip:port
	origin   string
	dir      string
	zonePath string
	argv     []string
	ctlPort  int // named's control channel, for rndc

	cmd    *exec.Cmd
	exited chan struct{}
	logMu  sync.Mutex
	log    bytes.Buffer
}

// startBINDPrimary runs named -g on ip at a free port (ip must be an address
// of an interface, 127.0.0.1: named listens on those only) with
// ixfr-from-differences, allow-transfer by key only, and also-notify to
// notifyTo (host:port), signing its NOTIFY messages with the key.
func startBINDPrimary(t *testing.T, ip, origin, zone, notifyTo string) *primary {
	t.Helper()
	named := "/usr/sbin/named"
	if _, err := os.Stat(named); err != nil {
		named = need(t, "named")
	}
	p := newPrimary(t, "bind", ip, origin, zone)
	p.ctlPort = freePortOn(t, ip)
	rndcConf := fmt.Sprintf("key \"rndc-key\" { algorithm hmac-sha256; secret %q; };\noptions { default-key \"rndc-key\"; default-server %s; default-port %d; };\n",
		xfrKeySecret, ip, p.ctlPort)
	if err := os.WriteFile(filepath.Join(p.dir, "rndc.conf"), []byte(rndcConf), 0o644); err != nil {
		t.Fatal(err)
	}
	nh, np, _ := net.SplitHostPort(notifyTo)
	conf := fmt.Sprintf(`options {
	directory %[1]q;
	pid-file %[2]q;
	session-keyfile %[3]q;
	listen-on port %[4]d { %[5]s; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	minimal-responses yes;
	notify explicit;
	notify-source %[5]s;
	notify-delay 0;
	ixfr-from-differences yes;
};
controls { inet %[5]s port %[12]d allow { %[5]s; } keys { "rndc-key"; }; };
key "rndc-key" {
	algorithm hmac-sha256;
	secret %[7]q;
};
key %[6]q {
	algorithm hmac-sha256;
	secret %[7]q;
};
# Everything to the secondary is signed, the NOTIFY messages too.
server %[10]s {
	keys { %[6]s; };
};
zone %[8]q {
	type primary;
	file %[9]q;
	allow-transfer { key %[6]s; };
	also-notify { %[10]s port %[11]s; };
};
`, p.dir, filepath.Join(p.dir, "named.pid"), filepath.Join(p.dir, "session.key"), p.port, ip,
		xfrKeyName, xfrKeySecret, origin, p.zonePath, nh, np, p.ctlPort)
	confPath := filepath.Join(p.dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(need(t, "named-checkconf"), "-z", confPath).CombinedOutput(); err != nil {
		t.Fatalf("named-checkconf: %v\n%s", err, out)
	}
	p.argv = []string{named, "-g", "-c", confPath}
	p.start()
	return p
}

// startBINDSecondary runs named -g on 127.0.0.1 at port as a
// secondary of origin from primaryAddr (host:port), and returns once it has
// the zone.
func startBINDSecondary(t *testing.T, origin, primaryAddr string, port int) *primary {
	t.Helper()
	named := "/usr/sbin/named"
	if _, err := os.Stat(named); err != nil {
		named = need(t, "named")
	}
	p := newPrimary(t, "bind secondary", "127.0.0.1", origin, "")
	p.port, p.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ph, pp, _ := net.SplitHostPort(primaryAddr)
	conf := fmt.Sprintf(`options {
	directory %[1]q;
	pid-file %[2]q;
	session-keyfile %[3]q;
	listen-on port %[4]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	minimal-responses yes;
	notify no;
};
controls { };
zone %[5]q {
	type secondary;
	file %[6]q;
	primaries { %[7]s port %[8]s; };
};
`, p.dir, filepath.Join(p.dir, "named.pid"), filepath.Join(p.dir, "session.key"), p.port, origin,
		filepath.Join(p.dir, "secondary.db"), ph, pp)
	confPath := filepath.Join(p.dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.argv = []string{named, "-g", "-c", confPath}
	p.start()
	return p
}

// startKnotPrimary runs knotd on ip at a free port, loading the zone file's
// differences into its journal on each reload (so that it answers IXFR),
// transfers for holders of the key only, and NOTIFY to notifyTo.
func startKnotPrimary(t *testing.T, ip, origin, zone, notifyTo string) *primary {
	t.Helper()
	knotd := "/usr/sbin/knotd"
	if _, err := os.Stat(knotd); err != nil {
		knotd = need(t, "knotd")
	}
	p := newPrimary(t, "knot", ip, origin, zone)
	nh, np, _ := net.SplitHostPort(notifyTo)
	conf := fmt.Sprintf(`server:
    rundir: %[1]q
    listen: %[2]s@%[3]d
log:
  - target: stderr
    any: info
database:
    storage: %[1]q
key:
  - id: %[4]s
    algorithm: hmac-sha256
    secret: %[5]s
remote:
  - id: secondary
    address: %[6]s@%[7]s
    via: %[2]s
acl:
  - id: transfer
    key: %[4]s
    action: transfer
zone:
  - domain: %[8]s
    file: %[9]q
    storage: %[1]q
    notify: secondary
    acl: transfer
    zonefile-load: difference
    zonefile-sync: -1
    journal-content: changes
`, p.dir, ip, p.port, xfrKeyName, xfrKeySecret, nh, np, origin, p.zonePath)
	confPath := filepath.Join(p.dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.argv = []string{knotd, "-c", confPath}
	p.start()
	return p
}

func newPrimary(t *testing.T, kind, ip, origin, zone string) *primary {
	dir := t.TempDir()
	port := freePortOn(t, ip)
	p := &primary{t: t, kind: kind, ip: ip, port: port, Addr: net.JoinHostPort(ip, strconv.Itoa(port)),
		origin: dns.Fqdn(origin), dir: dir, zonePath: filepath.Join(dir, "zone.db")}
	if err := os.WriteFile(p.zonePath, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// start runs the server and waits (at most 15s) until it answers the zone's
// SOA with AA.
func (p *primary) start() {
	t := p.t
	t.Helper()
	p.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	p.cmd.Stdout = nil
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	cmd, exited := p.cmd, p.exited
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logMu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.logMu.Unlock()
		}
		_ = cmd.Wait()
		close(exited)
	}()
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		r, _, err := c.ExchangeContext(ctx, newQuery(p.origin, dns.TypeSOA), p.Addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", p.kind, p.Log())
		case <-ctx.Done():
			t.Fatalf("%s did not answer within 15s:\n%s", p.kind, p.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log returns what the server logged.
func (p *primary) Log() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.String()
}

// update replaces the zone file and has the server reload it (rndc or
// knotc): it
// then serves the new serial, keeps the difference for IXFR and sends
// NOTIFY. update returns once the server answers the new serial (at most
// 15s).
func (p *primary) update(zone string, serial uint32) {
	t := p.t
	t.Helper()
	if err := os.WriteFile(p.zonePath, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	if p.kind == "knot" {
		knotc := "/usr/sbin/knotc"
		if out, err := exec.Command(knotc, "-c", p.argv[2], "zone-reload", p.origin).CombinedOutput(); err != nil {
			t.Fatalf("knotc zone-reload: %v\n%s", err, out)
		}
	} else {
		// rndc reload of the one zone: repeated SIGHUPs (a reload of the
		// whole configuration each) have been seen to wedge named 9.18.
		rndc := "/usr/sbin/rndc"
		if out, err := exec.Command(rndc, "-c", filepath.Join(p.dir, "rndc.conf"), "reload", strings.TrimSuffix(p.origin, ".")).CombinedOutput(); err != nil {
			t.Fatalf("rndc reload: %v\n%s\n%s", err, out, p.Log())
		}
	}
	if _, err := serialWithin(p.Addr, p.origin, serial, 15*time.Second); err != nil {
		t.Fatalf("%s %s: %v\n%s", p.kind, p.Addr, err, p.Log())
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 10s).
func (p *primary) stop() {
	if p.cmd == nil || p.exited == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.exited = nil
}

// freePortOn returns a port on ip free for UDP and TCP a moment ago.
func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatalf("no free port on %s for UDP and TCP", ip)
	return 0
}

// soaSerial asks addr for origin's SOA over UDP and returns its serial and
// rcode (serial 0 without an SOA).
func soaSerial(addr, origin string) (uint32, int, error) {
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(newQuery(origin, dns.TypeSOA), addr)
	if err != nil {
		return 0, 0, err
	}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SOA); ok {
			return s.Serial, r.Rcode, nil
		}
	}
	return 0, r.Rcode, nil
}

// waitSerial waits until addr answers origin's SOA with serial, polling
// every 10ms, and returns how long that took; it fails the test after limit.
func waitSerial(t *testing.T, who, addr, origin string, serial uint32, limit time.Duration) time.Duration {
	t.Helper()
	d, err := serialWithin(addr, origin, serial, limit)
	if err != nil {
		t.Fatalf("%s %s: %v", who, addr, err)
	}
	return d
}

// serialWithin is waitSerial returning an error.
func serialWithin(addr, origin string, serial uint32, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	var last uint32
	var lastErr error
	for time.Since(start) < limit {
		s, _, err := soaSerial(addr, origin)
		if err == nil && s == serial {
			return time.Since(start), nil
		}
		last, lastErr = s, err
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("serial %d (err %v) after %v, want %d", last, lastErr, limit, serial)
}

// waitRcode waits until addr answers name/A with rcode (at most limit) and
// returns how long that took.
func waitRcode(t *testing.T, addr, name string, rcode int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c := &dns.Client{Timeout: time.Second}
	last := -1
	for time.Since(start) < limit {
		r, _, err := c.Exchange(newQuery(name, dns.TypeA), addr)
		if err == nil {
			if r.Rcode == rcode {
				return time.Since(start)
			}
			last = r.Rcode
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s %s: rcode %s after %v, want %s", addr, name, dns.RcodeToString[last], limit, dns.RcodeToString[rcode])
	return 0
}
