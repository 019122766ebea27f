package main

import (
	"fmt"
	"net"
	"os"

	"go.uber.org/zap"
)

// sdNotify tells the service manager about a change of state when sitedns
// runs as a systemd service with Type=notify (NOTIFY_SOCKET is set), and
// does nothing otherwise. state is one or more newline-separated
// assignments: "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...". The
// error is only worth logging: a failed notification must not stop the
// server.
//
// The calls that make Type=notify right: "READY=1" once the DNS sockets are
// bound and the first snapshot serves; "RELOADING=1" when a reload starts
// and "READY=1" when it ends, whatever its outcome; "STOPPING=1" when
// shutdown begins, before the lameduck wait.
func sdNotify(state string) error {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	// A path, or "@name" for an abstract socket (net maps the @ itself).
	if socket[0] != '/' && socket[0] != '@' {
		return fmt.Errorf("sd_notify: NOTIFY_SOCKET %q: only unix sockets are supported", socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// notify sends state with sdNotify and logs a failure, which changes nothing
// else: the service manager only loses a state change.
func notify(log *zap.Logger, state string) {
	if err := sdNotify(state); err != nil {
		log.Warn("service manager notification failed", zap.Error(err))
	}
}
