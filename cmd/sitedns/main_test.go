package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitedns/sitedns/zones"
)

// runArgs runs a subcommand in process and returns its exit code and output.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCheck: exit 0 and one summary line for a good config; exit 1 and
// every error, each with file and line, for a bad one.
func TestCheck(t *testing.T) {
	code, out, _ := runArgs(t, "check", "-config", "../../testdata/config/good/contoso.toml")
	// contoso's "big" holds 60 addresses on purpose, to show TC=1: a
	// warning, not an error.
	if code != 0 || !strings.Contains(out, "ok: 1 zone(s)") || strings.Count(out, "\n") != 2 ||
		!strings.Contains(out, "\nwarning: ../../testdata/config/good/contoso.toml:109: \"big.contoso.lab.\": 60 A records take 993 octets") {
		t.Errorf("good config: exit %d, %q", code, out)
	}
	code, _, errs := runArgs(t, "check", "-config", "../../testdata/config/invalid-bad-record.toml")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], "invalid-bad-record.toml:6:") {
		t.Errorf("bad config: exit %d, %q", code, errs)
	}
	if code, _, _ := runArgs(t, "check"); code != 2 {
		t.Errorf("no -config: exit %d, want 2", code)
	}
}

// TestCheckInvalid: check exits 1 on every invalid-*.toml and prints, one
// per line, the exact errors its "# want:" lines name.
func TestCheckInvalid(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/config/invalid-*.toml")
	if len(files) < 10 {
		t.Fatalf("only %d invalid configs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code, out, errs := runArgs(t, "check", "-config", f)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			for _, l := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok && !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

// TestCheckSynthesisedSOA: check says when a zone's SOA is synthesised.
func TestCheckSynthesisedSOA(t *testing.T) {
	p := filepath.Join(t.TempDir(), "min.toml")
	if err := os.WriteFile(p, []byte("[[zone]]\norigin = \"example.lab\"\nrecords = [\"www 300 IN A 192.0.2.1\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runArgs(t, "check", "-config", p)
	if code != 0 || !strings.Contains(out, "zone example.lab. has no SOA; serving example.lab.\t3600\tIN\tSOA\tns.example.lab.") {
		t.Errorf("exit %d, %q", code, out)
	}
}

// TestDemo: "sitedns demo" prints a config that loads as the demo does.
func TestDemo(t *testing.T) {
	code, out, _ := runArgs(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := zones.Parse("demo.toml", "", []byte(out), nil); err != nil {
		t.Errorf("printed demo config does not load: %v", err)
	}
}

// TestServeNotifies: serve tells a service manager READY=1 once it answers
// and STOPPING=1 when it shuts down (Type=notify in the systemd unit).
func TestServeNotifies(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "-listen", "127.0.0.1:0", "-metrics-listen", "", "-lameduck", "0"}, &bytes.Buffer{}, &errb)
	}()
	read := func() string {
		t.Helper()
		buf := make([]byte, 512)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\n%s", err, errb.String())
		}
		return string(buf[:n])
	}
	if got := read(); !strings.HasPrefix(got, "READY=1") {
		t.Errorf("first notification %q, want READY=1", got)
	}
	// A reload (SIGHUP; serve has caught it since before READY=1) is
	// bracketed by RELOADING=1 with the monotonic time, and READY=1.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if got := read(); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=\d+$`).MatchString(got) {
		t.Errorf("notification at reload %q, want RELOADING=1 and MONOTONIC_USEC", got)
	}
	if got := read(); got != "READY=1" {
		t.Errorf("notification after reload %q, want READY=1", got)
	}
	cancel()
	if got := read(); got != "STOPPING=1" {
		t.Errorf("notification at shutdown %q, want STOPPING=1", got)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d\n%s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestReadme keeps README.md true: every TOML example loads, every config
// file a command names exists and passes check, and every subcommand a
// command line uses exists.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(text, -1)
	if len(blocks) < 2 {
		t.Fatalf("%d TOML examples in README.md", len(blocks))
	}
	for i, m := range blocks {
		if _, err := zones.Parse("README.md example", "", []byte(m[1]), nil); err != nil {
			t.Errorf("README TOML example %d does not load:\n%v\n%s", i+1, err, m[1])
		}
	}
	configs := regexp.MustCompile(`-config (\S+)`).FindAllStringSubmatch(text, -1)
	checked := 0
	for _, m := range configs {
		p := m[1]
		if strings.ToUpper(p) == p || filepath.IsAbs(p) { // a placeholder such as FILE, or a file an example writes
			continue
		}
		if code, _, errs := runArgs(t, "check", "-config", filepath.Join("..", "..", p)); code != 0 {
			t.Errorf("README names %s: check exit %d\n%s", p, code, errs)
		}
		checked++
	}
	if checked == 0 {
		t.Error("README names no config file")
	}
	// Command lines: "sitedns X" at the start of a line or after a pipe
	// or "go run ./cmd/" (e2e/docs_test.go runs the sh blocks themselves).
	var sh strings.Builder
	for _, m := range regexp.MustCompile("(?s)```sh[^\n]*\n(.*?)```").FindAllStringSubmatch(text, -1) {
		sh.WriteString(m[1])
	}
	cmds := regexp.MustCompile(`(?m)(?:^|go run \./cmd/|[|;&]\s*)sitedns ([a-z-]+)`).FindAllStringSubmatch(sh.String(), -1)
	if len(cmds) < 5 {
		t.Fatalf("%d command lines in README.md", len(cmds))
	}
	for _, m := range cmds {
		if _, _, errs := runArgs(t, m[1], "-h"); strings.Contains(errs, "unknown command") {
			t.Errorf("README uses unknown subcommand %q", m[1])
		}
	}
}
