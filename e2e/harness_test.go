package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// sitednsBin is the sitedns binary built once for the package.
var sitednsBin string

// buildFlags are the go build flags of sitednsBin: -race when the tests
// themselves run with -race (race_test.go).
var buildFlags []string

// raceBuild is true when sitednsBin is built with -race, whose shadow
// memory and slower goroutines loosen the resource bounds a test can hold
// it to; .ci/run runs those tests without -race too, at the strict bounds.
var raceBuild bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sitedns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sitednsBin = filepath.Join(dir, "sitedns")
	build := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", sitednsBin, "../cmd/sitedns")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building sitedns:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need returns the path of tool, skipping the test when it is missing, or
// failing it under CI=true.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true: .ci/run must install it)", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}

// instance is one running sitedns process.
type instance struct {
	t       *testing.T
	cmd     *exec.Cmd
	DNS     string // host:port, UDP and TCP
	Metrics string // host:port of the HTTP listener
	logMu   sync.Mutex
	log     bytes.Buffer
	done    chan struct{}
}

// start runs sitedns serve with args plus loopback listeners on free ports,
// and waits until it logs that it is serving.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	return startUnder(t, nil, args...)
}

// startUnder is start with the command run by wrapper (e.g. taskset -c 0),
// if any.
func startUnder(t *testing.T, wrapper []string, args ...string) *instance {
	t.Helper()
	full := append([]string{"serve", "-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0", "-log-format", "json"}, args...)
	full = append(append(wrapper[:len(wrapper):len(wrapper)], sitednsBin), full...)
	cmd := exec.Command(full[0], full[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, cmd: cmd, done: make(chan struct{})}
	ready := make(chan map[string]any, 1)
	go func() {
		defer close(in.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			in.logMu.Lock()
			in.log.Write(line)
			in.log.WriteByte('\n')
			in.logMu.Unlock()
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "serving" {
				select {
				case ready <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { in.stop() })
	select {
	case m := <-ready:
		dnsAddrs, _ := m["dns"].([]any)
		if len(dnsAddrs) == 0 {
			t.Fatalf("serving line without dns addresses: %v", m)
		}
		in.DNS = dnsAddrs[0].(string)
		in.Metrics, _ = m["metrics"].(string)
	case <-in.done:
		t.Fatalf("sitedns exited before serving:\n%s", in.Log())
	case <-time.After(20 * time.Second):
		t.Fatalf("sitedns did not start within 20s:\n%s", in.Log())
	}
	return in
}

// Log returns what the process logged so far.
func (in *instance) Log() string {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	return in.log.String()
}

// stop sends SIGTERM and waits for the process to exit.
func (in *instance) stop() {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.done:
	case <-time.After(15 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
	_ = in.cmd.Wait()
	if strings.Contains(in.Log(), "WARNING: DATA RACE") {
		in.t.Errorf("sitedns (built with -race) reported a data race:\n%s", in.Log())
	}
}

// reload asks the instance to reload through POST /-/reload and returns the
// HTTP status; the reload has finished when it returns.
func (in *instance) reload(t *testing.T) int {
	t.Helper()
	resp, err := httpClient.Post("http://"+in.Metrics+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// httpClient bounds every request of the tests to the HTTP listener, so a
// server that stops answering fails the test instead of hanging it.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// get fetches a path from the HTTP listener.
func (in *instance) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get("http://" + in.Metrics + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// query sends m from the source address src ("" = any) over net ("udp" or
// "tcp") and returns the reply.
func (in *instance) query(t *testing.T, network, src string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, err := in.exchange(network, src, m)
	// Over UDP a stub resolver asks again when no answer comes: so does
	// query, twice, since on a loaded machine a datagram or the test's own
	// turn on a CPU can be late. Tests that count what is lost use
	// exchange, which never retries.
	for try := 1; err != nil && network == "udp" && try < 3; try++ {
		t.Logf("query %s from %s over udp: %v; asking again", m.Question[0].Name, src, err)
		r, err = in.exchange(network, src, m)
	}
	if err != nil {
		t.Fatalf("query %s from %s over %s: %v", m.Question[0].Name, src, network, err)
	}
	return r
}

func (in *instance) exchange(network, src string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	if src != "" {
		d := &net.Dialer{Timeout: 3 * time.Second}
		if network == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(src)}
		}
		c.Dialer = d
	}
	r, _, err := c.Exchange(m, in.DNS)
	return r, err
}

// newQuery builds a query with RD set, as stub resolvers send it.
func newQuery(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

// dig runs dig against the instance and returns its output.
func (in *instance) dig(t *testing.T, args ...string) string {
	t.Helper()
	digPath := need(t, "dig")
	host, port, _ := net.SplitHostPort(in.DNS)
	full := append([]string{"@" + host, "-p", port, "+time=3", "+tries=1"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, digPath, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// firstA returns the address of the first A record of the answer.
func firstA(t *testing.T, r *dns.Msg) string {
	t.Helper()
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	t.Fatalf("no A record in answer:\n%v", r)
	return ""
}

// addrs returns the A/AAAA addresses of the answer section in order.
func addrs(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}

// testdata returns the path of a file under the repository's testdata.
func testdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata"}, parts...)...)
}
