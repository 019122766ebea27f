package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDocs runs every ```sh block of README.md and docs/*.md, in order, in
// one bash per file started in the repository's root, and compares each
// block's output with the ```text block that follows it. Blocks tagged
// ```sh skip, and blocks in other languages, are reported as skipped
// subtests. The convention, and what the test rewrites before it runs a
// block (ports, /tmp/, default addresses), is in docs/README.md.
//
// One file is one subtest and its blocks are subtests of that, run in the
// file's order, since a block may use what an earlier one started: run a
// whole file with go test ./e2e -run 'TestDocs/README.md'.
func TestDocs(t *testing.T) {
	need(t, "bash")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			runDoc(t, root, rel)
		})
	}
}

// docTools are the programs a doc's commands may call that the test
// environment may lack: their absence skips the file (fails it under
// CI=true, whose .ci/run installs them).
var docTools = []string{"dig", "curl", "jq", "promtool"}

func runDoc(t *testing.T, root, rel string) {
	text, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	blocks, problems := parseDoc(rel, string(text))
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		return
	}
	var runnable strings.Builder
	for _, b := range blocks {
		if b.run() {
			runnable.WriteString(b.body)
		}
	}
	for _, tool := range docTools {
		if regexp.MustCompile(`(^|[\s|;&(])` + tool + `\s`).MatchString(runnable.String()) {
			need(t, tool)
		}
	}
	sub := docSubst{ports: map[string]string{}, tmp: t.TempDir()}
	for _, p := range docPorts(blocks) {
		sub.ports[p] = strconv.Itoa(freePort(t))
	}
	if len(sub.ports) > 0 {
		t.Logf("%s: ports %s; /tmp/ is %s/", rel, portList(sub.ports), sub.tmp)
	}
	sh := startShell(t, root, sub.tmp)
	ran, skipped := 0, 0
	for _, b := range blocks {
		name := fmt.Sprintf("L%d_%s", b.line, b.lang)
		if b.lang == "text" {
			continue // compared with the sh block before it
		}
		if !b.run() {
			skipped++
			t.Run(name, func(t *testing.T) {
				t.Skipf("%s:%d: not run (```%s): %s", rel, b.line, strings.Join(append([]string{b.lang}, b.tags...), " "), b.firstLine())
			})
			continue
		}
		ran++
		if !t.Run(name, func(t *testing.T) { runBlock(t, sh, sub, rel, b) }) {
			t.Errorf("%s: the blocks after line %d were not run: they may depend on it", rel, b.line)
			return
		}
	}
	t.Logf("%s: %d sh blocks run, %d blocks not run", rel, ran, skipped)
}

// runBlock runs one sh block and checks it: every command succeeds, every
// server it starts comes up on a port that was free, no background command
// has failed, and the output holds the documented output.
func runBlock(t *testing.T, sh *docShell, sub docSubst, rel string, b *docBlock) {
	script := sub.script(b)
	servers := servedAddrs(script)
	if l := afterBackgroundServer(script); l != "" {
		t.Fatalf("%s:%d: %q runs right after a server started in the background, before it listens: start the server in one block and use it in the next (the test waits for it in between)",
			rel, b.line, l)
	}
	for _, a := range servers {
		if err := portFree(a.addr); err != nil {
			t.Fatalf("%s:%d: %s is in use before this block starts a server on it (%v): stop the server an earlier block started there first (kill %%1), or give this one another port\nblock as run:\n%s",
				rel, b.line, a.addr, err, script)
		}
	}
	res, err := sh.run(script, 3*time.Minute)
	if err != nil {
		t.Fatalf("%s:%d: %v\nblock as run:\n%s\noutput:\n%s", rel, b.line, err, script, res.out)
	}
	for _, a := range servers {
		if !a.background {
			continue
		}
		if err := waitListening(a.addr, time.Minute); err != nil {
			t.Fatalf("%s:%d: the server started in the background never listened on %s: %v\nblock as run:\n%s\noutput:\n%s",
				rel, b.line, a.addr, err, script, sh.output())
		}
	}
	if res.failed != "" {
		t.Fatalf("%s:%d: %s\nblock as run:\n%s\noutput:\n%s", rel, b.line, res.failed, script, res.out)
	}
	for _, j := range res.jobs {
		if strings.Contains(j, "Exit ") {
			t.Fatalf("%s:%d: a background command failed: %s\nblock as run:\n%s\noutput:\n%s", rel, b.line, j, script, res.out)
		}
	}
	if b.expect == nil {
		return
	}
	want := sub.apply(b.expect.body)
	if missing, ok := matchOutput(want, res.out, b.expect.has("measured")); !ok {
		how := "exactly, white space aside"
		if b.expect.has("measured") {
			how = "with numbers free (```text measured)"
		}
		t.Errorf("%s:%d: the output differs from the one documented at %s:%d: this line, compared %s, is not in the output (in order):\n\t%s\nblock as run:\n%s\noutput:\n%s",
			rel, b.line, rel, b.expect.line, how, missing, script, res.out)
	}
}

// afterBackgroundServer returns the first command line that follows a
// background sitedns serve in the same script, other than another one.
func afterBackgroundServer(script string) string {
	started := false
	for _, l := range strings.Split(script, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case serveRE.MatchString(t) && strings.HasSuffix(t, "&") && !strings.HasSuffix(t, "&&"):
			started = true
		case started:
			return t
		}
	}
	return ""
}

// servedAddr is the DNS or metrics address of a sitedns serve in a block.
type servedAddr struct {
	addr       string
	background bool
}

var flagAddrRE = regexp.MustCompile(`-(?:metrics-)?listen[ =]"?([0-9.]+:\d+)`)

// servedAddrs returns the -listen and -metrics-listen addresses of the
// sitedns serve commands in a script, and whether each runs in the
// background (its command line ends in &).
func servedAddrs(script string) []servedAddr {
	var out []servedAddr
	for _, l := range strings.Split(script, "\n") {
		loc := serveRE.FindStringIndex(l)
		if loc == nil {
			continue
		}
		cmd := l[loc[1]:]
		bg := false
		if e := cmdEndRE.FindStringIndex(cmd); e != nil {
			bg = cmd[e[0]] == '&' && !strings.HasPrefix(cmd[e[0]:], "&&")
			cmd = cmd[:e[0]]
		}
		for _, m := range flagAddrRE.FindAllStringSubmatch(cmd, -1) {
			out = append(out, servedAddr{addr: m[1], background: bg})
		}
	}
	return out
}

func portList(m map[string]string) string {
	var s []string
	for k, v := range m {
		s = append(s, k+"->"+v)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// portFree reports whether nothing listens on addr, over TCP or UDP.
func portFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return pc.Close()
}

// waitListening waits until addr accepts TCP connections, polling every
// 50 ms, for at most limit.
func waitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// docShell is one bash reading the blocks of a doc from its stdin, so that
// background jobs, the working directory and variables carry from block to
// block as in a user's terminal. Its stdout and stderr go to one buffer.
type docShell struct {
	cmd   *exec.Cmd
	stdin *os.File
	n     int

	mu   sync.Mutex // mu guards buf and eof
	buf  bytes.Buffer
	eof  bool
	more chan struct{} // a token after each read
}

// blockResult is what a block did.
type blockResult struct {
	out    string   // stdout and stderr
	failed string   // the first command that failed, or ""
	jobs   []string // bash's jobs listing after the block
}

func startShell(t *testing.T, dir, tmp string) *docShell {
	t.Helper()
	gobin := filepath.Join(tmp, "bin")
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		t.Fatal(err)
	}
	// The sitedns of this tree, for the docs that use the command without
	// installing it first; go install in a doc replaces it.
	if err := os.Symlink(sitednsBin, filepath.Join(gobin, "sitedns")); err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "PATH="+gobin+":"+os.Getenv("PATH")+":/usr/sbin:/sbin", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	sh := &docShell{cmd: cmd, stdin: inW, more: make(chan struct{}, 1)}
	go sh.read(outR)
	t.Cleanup(sh.stop)
	_, _ = inW.WriteString("set -E -o pipefail\n")
	return sh
}

func (sh *docShell) read(r *os.File) {
	b := make([]byte, 32<<10)
	for {
		n, err := r.Read(b)
		sh.mu.Lock()
		sh.buf.Write(b[:n])
		if err != nil {
			sh.eof = true
		}
		sh.mu.Unlock()
		select {
		case sh.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

func (sh *docShell) output() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.buf.String()
}

// run sends a script, followed by its end marker, and waits for the marker
// for at most limit. A command that fails (an ERR trap) is reported in
// failed; the script goes on, as a user would read on.
func (sh *docShell) run(script string, limit time.Duration) (blockResult, error) {
	sh.n++
	mark := fmt.Sprintf("__sitedns_docs_%d_%d__", sh.cmd.Process.Pid, sh.n)
	sh.mu.Lock()
	start := sh.buf.Len()
	sh.mu.Unlock()
	full := "__docs_failed=\ntrap '__docs_failed=\"${__docs_failed:-command failed (exit $?): $BASH_COMMAND}\"' ERR\n" +
		script + "\ntrap - ERR\necho; echo " + mark + "jobs\njobs\necho " + mark + "end \"$__docs_failed\"\n"
	if _, err := sh.stdin.WriteString(full); err != nil {
		return blockResult{}, fmt.Errorf("the shell is gone: %w", err)
	}
	deadline := time.After(limit)
	endRE := regexp.MustCompile(`(?m)^` + mark + `end (.*)\n`)
	for {
		sh.mu.Lock()
		out, eof := sh.buf.String()[start:], sh.eof
		sh.mu.Unlock()
		if m := endRE.FindStringSubmatchIndex(out); m != nil {
			jobsAt := strings.Index(out, mark+"jobs\n")
			res := blockResult{out: strings.TrimSuffix(out[:jobsAt], "\n"), failed: out[m[2]:m[3]]}
			for _, j := range strings.Split(out[jobsAt+len(mark)+5:m[0]], "\n") {
				if strings.TrimSpace(j) != "" {
					res.jobs = append(res.jobs, j)
				}
			}
			return res, nil
		}
		if eof {
			return blockResult{out: out}, fmt.Errorf("the shell exited before the block ended (a syntax error, or exit)")
		}
		select {
		case <-sh.more:
		case <-deadline:
			return blockResult{out: out}, fmt.Errorf("the block did not finish within %s (a command waiting for input, or a server run in the foreground: end its line with &)", limit)
		}
	}
}

// stop ends the shell and everything it started (one process group): a
// SIGTERM, then after 10 s a SIGKILL.
func (sh *docShell) stop() {
	sh.stdin.Close()
	pgid := sh.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = sh.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// Background jobs that outlived the shell share its process group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
