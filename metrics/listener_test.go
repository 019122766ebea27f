package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestListenerCap: at the cap a new connection is served and the one idle
// longest is closed; a connection in a request is never taken.
func TestListenerCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/block", func(w http.ResponseWriter, _ *http.Request) { <-block })
	srv, cl := NewServer(mux, ln, 2)
	go func() { _ = srv.Serve(cl) }()
	defer srv.Close()
	defer close(block)

	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	get := func(c net.Conn, path string) error {
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	}
	busy := dial()
	if _, err := io.WriteString(busy, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	capl := cl.(*capListener)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		capl.mu.Lock()
		active := len(capl.conns) == 1 && func() bool {
			for _, ci := range capl.conns {
				return ci.state == http.StateActive
			}
			return false
		}()
		capl.mu.Unlock()
		if active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blocking request never became active")
		}
	}
	idle := dial()
	if err := get(idle, "/ok"); err != nil {
		t.Fatal(err)
	}
	// The server marks a connection idle just after the response is read:
	// wait (bounded) until it has, or there is no idle one to reclaim yet.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		capl.mu.Lock()
		idles := 0
		for _, ci := range capl.conns {
			if ci.state == http.StateIdle {
				idles++
			}
		}
		capl.mu.Unlock()
		if idles == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle connection never became idle")
		}
	}
	// Two open, one busy, one idle: a third takes the idle one's place.
	if err := get(dial(), "/ok"); err != nil {
		t.Errorf("third connection at the cap: %v", err)
	}
	var b [1]byte
	if _, err := idle.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read %v, want EOF", err)
	}
	capl.mu.Lock()
	n := len(capl.conns)
	capl.mu.Unlock()
	if n > 2 {
		t.Errorf("%d connections held, cap 2", n)
	}
}
