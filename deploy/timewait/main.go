// Command timewait fills the loopback interface with TCP sockets in
// TIME-WAIT, the state a busy machine (or a test suite that opens and closes
// many connections) leaves behind, so that tests which pick free ports can be
// run against it:
//
//	go run ./deploy/timewait -n 10000 -hold 3m &
//	go test -count=20 ./loadtest/
//
// It listens on 127.0.0.1, opens n connections to itself and closes each
// from the client side first, which leaves the client's ephemeral port in
// TIME-WAIT for the kernel's fixed 60 s. While -hold lasts it opens a fresh
// batch before the previous one expires, and it prints how many TIME-WAIT
// sockets /proc/net/tcp lists after each batch.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 10000, "sockets to put in TIME-WAIT per batch")
	hold := flag.Duration("hold", 0, "keep at least n sockets in TIME-WAIT this long (0: one batch, then exit)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *hold, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "timewait:", err)
		os.Exit(1)
	}
}

// refresh is how often a batch is repeated under -hold: inside the 60 s a
// TIME-WAIT socket lives, so the count never drops below n.
const refresh = 45 * time.Second

func run(ctx context.Context, n int, hold time.Duration, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go accept(ln)
	deadline := time.Now().Add(hold)
	for {
		if err := batch(ln.Addr().String(), n); err != nil {
			return err
		}
		fmt.Fprintf(out, "timewait: %d sockets in TIME-WAIT on this host\n", countTimeWait())
		if hold <= 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(refresh, time.Until(deadline))):
		}
		if time.Now().After(deadline) {
			return nil
		}
	}
}

// accept takes connections and waits for the client to close each, so the
// client side closes first and its port goes to TIME-WAIT, not ours.
func accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

// batch opens n connections to addr and closes them from the client side.
// A few at a time stay open so the ephemeral range is never exhausted by
// sockets of our own.
func batch(addr string, n int) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	for i := range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d of %d: %w", i+1, n, err)
		}
		c.Close()
	}
	return nil
}

// countTimeWait counts the sockets in state 06 (TIME_WAIT) in
// /proc/net/tcp and /proc/net/tcp6; -1 when neither can be read.
func countTimeWait() int {
	total, read := 0, false
	for _, p := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		read = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && fields[3] == "06" {
				total++
			}
		}
		f.Close()
	}
	if !read {
		return -1
	}
	return total
}
