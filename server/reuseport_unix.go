//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// haveReusePort says whether several UDP sockets can share a port, so that
// each reader goroutine has a socket of its own.
const haveReusePort = true

// reusePort sets SO_REUSEPORT on a socket before it is bound
// (net.ListenConfig.Control).
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
