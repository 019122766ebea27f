package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
// reloads), and sends NOTIFY to notifyTo from its own address. Its daemon
// says which ("bind", "knot", "bind secondary") and runs it.
type primary struct {
	t        *testing.T
	ip       string
	port     int
	Addr     string // ip:port
	origin   string
	dir      string
	zonePath string
	ctlPort  int // named's control channel, for rndc

	*daemon
}

// startBINDPrimary runs named -g on ip at a free port (ip must be an address
// of an interface, 127.0.0.1: named listens on those only) with
// ixfr-from-differences, allow-transfer by key only, and also-notify to
// notifyTo (host:port), signing its NOTIFY messages with the key.
func startBINDPrimary(t *testing.T, ip, origin, zone, notifyTo string) *primary {
	t.Helper()
	p := newPrimary(t, ip, origin, zone)
	p.ctlPort = freePortOn(t, ip)
	rndcConf := fmt.Sprintf("key \"rndc-key\" { algorithm hmac-sha256; secret %q; };\noptions { default-key \"rndc-key\"; default-server %s; default-port %d; };\n",
		xfrKeySecret, ip, p.ctlPort)
	nh, np, _ := net.SplitHostPort(notifyTo)
	conf := namedConf{ip: ip, port: p.port,
		options: []string{
			"recursion no;",
			"dnssec-validation no;",
			"minimal-responses yes;",
			"notify explicit;",
			"notify-source " + ip + ";",
			"notify-delay 0;",
			"ixfr-from-differences yes;",
		},
		controls: fmt.Sprintf(`inet %[1]s port %[2]d allow { %[1]s; } keys { "rndc-key"; };`, ip, p.ctlPort),
		rest: fmt.Sprintf(`key "rndc-key" {
	algorithm hmac-sha256;
	secret %[2]q;
};
key %[1]q {
	algorithm hmac-sha256;
	secret %[2]q;
};
# Everything to the secondary is signed, the NOTIFY messages too.
server %[5]s {
	keys { %[1]s; };
};
zone %[3]q {
	type primary;
	file %[4]q;
	allow-transfer { key %[1]s; };
	also-notify { %[5]s port %[6]s; };
};
`, xfrKeyName, xfrKeySecret, origin, p.zonePath, nh, np),
	}
	p.daemon = newNamed(t, "bind", p.dir, conf, map[string]string{"rndc.conf": rndcConf})
	p.start()
	return p
}

// startBINDSecondary runs named -g on 127.0.0.1 at port as a
// secondary of origin from primaryAddr (host:port), and returns once it has
// the zone. With signed, it signs its SOA queries and transfers with
// xfrKeyName and takes only answers and NOTIFYs signed with it.
func startBINDSecondary(t *testing.T, origin, primaryAddr string, port int, signed bool) *primary {
	t.Helper()
	p := newPrimary(t, "127.0.0.1", origin, "")
	p.port, p.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ph, pp, _ := net.SplitHostPort(primaryAddr)
	key, withKey := "", ""
	if signed {
		key = fmt.Sprintf("key %q {\n\talgorithm hmac-sha256;\n\tsecret %q;\n};\n", xfrKeyName, xfrKeySecret)
		withKey = fmt.Sprintf(" key %q", xfrKeyName)
	}
	conf := namedConf{ip: "127.0.0.1", port: p.port,
		options: []string{"recursion no;", "dnssec-validation no;", "minimal-responses yes;", "notify no;"},
		rest: key + fmt.Sprintf("zone %q {\n\ttype secondary;\n\tfile %q;\n\tprimaries { %s port %s%s; };\n};\n",
			origin, filepath.Join(p.dir, "secondary.db"), ph, pp, withKey),
	}
	p.daemon = newNamed(t, "bind secondary", p.dir, conf, nil)
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
	p := newPrimary(t, ip, origin, zone)
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
	p.daemon = newDaemon(t, "knot", knotd, "-c", confPath)
	p.start()
	return p
}

// newPrimary takes a directory and a free port on ip for a server of
// origin and writes its zone file; the caller sets its daemon.
func newPrimary(t *testing.T, ip, origin, zone string) *primary {
	dir := t.TempDir()
	port := freePortOn(t, ip)
	p := &primary{t: t, ip: ip, port: port, Addr: net.JoinHostPort(ip, strconv.Itoa(port)),
		origin: dns.Fqdn(origin), dir: dir, zonePath: filepath.Join(dir, "zone.db")}
	if err := os.WriteFile(p.zonePath, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs the server and waits (at most 15s) until it answers the zone's
// SOA with AA.
func (p *primary) start() {
	p.t.Helper()
	p.daemon.start()
	p.waitAnswer(p.Addr, newQuery(p.origin, dns.TypeSOA), authoritative, 200*time.Millisecond, 15*time.Second)
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

// transferred waits (at most limit) until BIND logs the completed transfer
// of serial, which it may log after it answers with the serial, and
// returns how many records it took.
func (p *primary) transferred(t *testing.T, serial uint32, limit time.Duration) int {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`Transfer completed: \d+ messages, (\d+) records, .*\(serial %d\)`, serial))
	var m []string
	if !pollUntil(limit, func() bool { m = re.FindStringSubmatch(p.Log()); return m != nil }) {
		t.Fatalf("no transfer of serial %d in the BIND log within %v:\n%s", serial, limit, grepLines(p.Log(), "ransfer"))
	}
	n, _ := strconv.Atoi(m[1])
	return n
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
