package main

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fixedServer starts a UDP DNS server on 127.0.0.1 that answers every query
// with one A record, addr, and returns its address.
func fixedServer(t *testing.T, addr string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		rr, _ := dns.NewRR(req.Question[0].Name + " 300 IN A " + addr)
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	var wg sync.WaitGroup
	wg.Go(func() { srv.ActivateAndServe() })
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("test server did not start")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// TestLoadtestServers: -server is repeatable and the queries go to each
// server in turn. Each server has its own single answer, so the first-answer
// counts show the split.
func TestLoadtestServers(t *testing.T) {
	a, b := fixedServer(t, "10.0.0.1"), fixedServer(t, "10.0.0.2")
	code, out, errs := runArgs(t, "loadtest", "-server", a, "-server", b, "-clients", "127.9.0.5=Elsewhere",
		"-name", "a.test", "-queries", "100", "-json", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Server  string   `json:"server"`
		Servers []string `json:"servers"`
		Groups  []struct {
			Targets []struct {
				Target string `json:"target"`
				First  int    `json:"first"`
			} `json:"targets"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Server != a+","+b || len(r.Servers) != 2 || len(r.Groups) != 1 {
		t.Fatalf("server %q, servers %q, %d groups; want both servers, one group", r.Server, r.Servers, len(r.Groups))
	}
	got := map[string]int{}
	for _, tg := range r.Groups[0].Targets {
		got[tg.Target] = tg.First
	}
	if got["10.0.0.1"] != 50 || got["10.0.0.2"] != 50 || len(got) != 2 {
		t.Errorf("first answers %v, want 50 from each server", got)
	}

	code, _, errs = runArgs(t, "loadtest", "-server", a, "-server", "localhost:53", "-clients", "127.9.0.5", "-name", "a.test")
	if code != 2 || !strings.Contains(errs, `server "localhost:53": want IP:port`) {
		t.Errorf("bad second server: exit %d, %q; want 2 and the address named", code, errs)
	}
}

// TestLoadtestExitGate: queries that time out fail the run (exit 3) unless
// -max-failures allows them, and the report is written either way.
func TestLoadtestExitGate(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	args := []string{"loadtest", "-server", pc.LocalAddr().String(), "-clients", "127.9.0.5",
		"-name", "a.test", "-queries", "4", "-concurrency", "4", "-timeout", "100ms", "-q"}
	code, out, errs := runArgs(t, args...)
	if code != exitGate || !strings.Contains(errs, "failed: 4 of 4 queries failed (4 timeouts, 0 errors); at most 0 may") {
		t.Errorf("4 timeouts: exit %d, stderr %q; want %d and the count", code, errs, exitGate)
	}
	if !strings.Contains(out, "4 timeouts") {
		t.Errorf("the report is not written when the gate fails:\n%s", out)
	}
	code, _, errs = runArgs(t, append(args, "-max-failures", "4")...)
	if code != 0 {
		t.Errorf("4 timeouts with -max-failures 4: exit %d (%s), want 0", code, errs)
	}
}

// TestLoadtestFailUnfair: a server that always puts one target first is
// unfair for a client that expects three in turn; -fail-unfair makes that
// exit 3, without it the run passes.
func TestLoadtestFailUnfair(t *testing.T) {
	srv := fixedServer(t, "10.0.0.1")
	dir := t.TempDir()
	cfg := dir + "/expect.toml"
	if err := os.WriteFile(cfg, []byte(`[[expect]]
name = "a.test"
targets = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"loadtest", "-server", srv, "-config", cfg, "-clients", "127.9.0.5", "-name", "a.test", "-queries", "60", "-q"}
	if code, _, errs := runArgs(t, args...); code != 0 {
		t.Fatalf("without -fail-unfair: exit %d (%s), want 0", code, errs)
	}
	code, _, errs := runArgs(t, append(args, "-fail-unfair")...)
	if code != exitGate || !strings.Contains(errs, "failed: site 127.9.0.5/32, a.test. A: unfair") {
		t.Errorf("-fail-unfair: exit %d, stderr %q; want %d and the group named", code, errs, exitGate)
	}
}
