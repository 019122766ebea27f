package main

import (
	"encoding/json"
	"net"
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
