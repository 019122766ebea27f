package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// daemon is a peer server a test runs in the foreground (BIND's named,
// Knot's knotd), its stderr kept as its log. start may follow stop, to
// restart it with the same arguments. The cleanup newDaemon registers
// stops it and, when the test failed, logs what it logged (unless a
// failure of its own already showed that).
type daemon struct {
	t    *testing.T
	kind string // how messages name it: "named", "bind secondary", ...
	argv []string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited; nil when stopped
	logMu  sync.Mutex
	log    bytes.Buffer
	shown  bool // a failure message carried the log
}

func newDaemon(t *testing.T, kind string, argv ...string) *daemon {
	d := &daemon{t: t, kind: kind, argv: argv}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() && !d.shown {
			t.Logf("%s:\n%s", d.kind, d.Log())
		}
	})
	return d
}

// start runs the process, its stderr read into the log as it comes.
func (d *daemon) start() {
	t := d.t
	t.Helper()
	cmd := exec.Command(d.argv[0], d.argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	d.cmd, d.exited = cmd, exited
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.logMu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.logMu.Unlock()
		}
		_ = cmd.Wait()
		close(exited)
	}()
}

// waitAnswer sends q to addr every 50ms, each try bounded by perTry, until
// ok accepts an answer. It fails the test, showing the log, when the
// process exits first or limit passes.
func (d *daemon) waitAnswer(addr string, q *dns.Msg, ok func(*dns.Msg) bool, perTry, limit time.Duration) {
	t := d.t
	t.Helper()
	c := &dns.Client{Timeout: perTry}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		if r, _, err := c.ExchangeContext(ctx, q, addr); err == nil && ok(r) {
			return
		}
		select {
		case <-d.exited:
			d.shown = true
			t.Fatalf("%s exited:\n%s", d.kind, d.Log())
		case <-ctx.Done():
			d.shown = true
			t.Fatalf("%s did not answer within %v:\n%s", d.kind, limit, d.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// authoritative accepts a NOERROR answer with AA set.
func authoritative(r *dns.Msg) bool { return r.Rcode == dns.RcodeSuccess && r.Authoritative }

// Log returns what the process logged so far.
func (d *daemon) Log() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

// stop ends the process (SIGTERM, then SIGKILL after 10s); it does nothing
// when the process is not running.
func (d *daemon) stop() {
	if d.exited == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.exited = nil
}

// namedConf is a test's named.conf: what every test's named shares (its
// directory, pid and session key files in it, listening on ip:port only,
// no IPv6) and what the test adds.
type namedConf struct {
	ip       string
	port     int
	options  []string // further option statements, each ending in ';'
	controls string   // the controls statement's body; "" for none
	rest     string   // key, server and zone statements
}

// text is the named.conf of a named run in dir.
func (c namedConf) text(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "options {\n\tdirectory %q;\n\tpid-file %q;\n\tsession-keyfile %q;\n", dir,
		filepath.Join(dir, "named.pid"), filepath.Join(dir, "session.key"))
	fmt.Fprintf(&b, "\tlisten-on port %d { %s; };\n\tlisten-on-v6 { none; };\n", c.port, c.ip)
	for _, o := range c.options {
		fmt.Fprintf(&b, "\t%s\n", o)
	}
	b.WriteString("};\n")
	if c.controls == "" {
		b.WriteString("controls { };\n")
	} else {
		fmt.Fprintf(&b, "controls { %s };\n", c.controls)
	}
	b.WriteString(c.rest)
	return b.String()
}

// newNamed writes files (name to text) and conf's named.conf into dir,
// checks them with named-checkconf -z, and returns named -g (flags before
// -c) ready to start, named kind in messages. It runs as the current user;
// root keeps root (-u would need a user who can read dir).
func newNamed(t *testing.T, kind, dir string, conf namedConf, files map[string]string, flags ...string) *daemon {
	t.Helper()
	named := namedBinary(t)
	confPath, confText := filepath.Join(dir, "named.conf"), conf.text(dir)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(confPath, []byte(confText), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(need(t, "named-checkconf"), "-z", confPath).CombinedOutput(); err != nil {
		t.Fatalf("named-checkconf: %v\n%s\nnamed.conf:\n%s", err, out, confText)
	}
	argv := append(append([]string{named, "-g"}, flags...), "-c", confPath)
	return newDaemon(t, kind, argv...)
}

// namedBinary returns BIND's named: /usr/sbin/named, which a user's PATH
// may lack, else named on PATH (need: skipped when missing, failed under
// CI=true).
func namedBinary(t *testing.T) string {
	t.Helper()
	named := "/usr/sbin/named"
	if _, err := os.Stat(named); err != nil {
		named = need(t, "named")
	}
	return named
}
