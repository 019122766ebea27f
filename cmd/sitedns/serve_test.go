package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sitedns/sitedns/server"
)

// TestServeFlagsUDPIO: -udp-io takes netpoll or blocking, defaults to
// defaultUDPIO of the process's GOMAXPROCS, and rejects anything else
// naming the flag.
func TestServeFlagsUDPIO(t *testing.T) {
	for _, c := range []struct {
		args    []string
		want    server.UDPIO
		wantErr string
	}{
		{args: nil, want: defaultUDPIO(runtime.GOMAXPROCS(0))},
		{args: []string{"-udp-io", "netpoll"}, want: server.UDPIONetpoll},
		{args: []string{"-udp-io", "blocking"}, want: server.UDPIOBlocking},
		{args: []string{"-udp-io", "epoll"}, wantErr: `serve: -udp-io "epoll": want netpoll or blocking`},
		{args: []string{"-udp-io", ""}, wantErr: `serve: -udp-io "": want netpoll or blocking`},
	} {
		f, err := parseServeFlags(c.args, io.Discard)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", c.args, err)
		case f.udpIO != c.want:
			t.Errorf("%q: udpIO %q, want %q", c.args, f.udpIO, c.want)
		}
	}
}

// TestDefaultUDPIO: netpoll with one CPU, the platform's default with more.
func TestDefaultUDPIO(t *testing.T) {
	for procs, want := range map[int]server.UDPIO{1: server.UDPIONetpoll, 2: server.DefaultUDPIO, 64: server.DefaultUDPIO} {
		if got := defaultUDPIO(procs); got != want {
			t.Errorf("defaultUDPIO(%d) = %s, want %s", procs, got, want)
		}
	}
}

// TestBlockingProcs: blocking UDP workers get one P more than there are
// of them, and an ample GOMAXPROCS is left alone.
func TestBlockingProcs(t *testing.T) {
	for _, c := range []struct{ cur, workers, want int }{
		{1, 1, 2},
		{2, 2, 3},
		{4, 2, 4},
		{3, 2, 3},
		{1, 4, 5},
	} {
		if got := blockingProcs(c.cur, c.workers); got != c.want {
			t.Errorf("blockingProcs(%d, %d) = %d, want %d", c.cur, c.workers, got, c.want)
		}
	}
}

// TestServeMissingConfig: a -config that does not exist (a container started
// without its config mounted) fails at once with a message naming the path
// and the directory to mount, not a bare "no such file".
func TestServeMissingConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "sitedns", "sitedns.toml")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "-config", path, "-listen", "127.0.0.1:0", "-metrics-listen", ""}, io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"no config file at " + path, "-v DIR:" + filepath.Dir(path) + ":ro", "ConfigMap sitedns-config"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
}
