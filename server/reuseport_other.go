//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package server

import "syscall"

// haveReusePort is false: one UDP socket per listen address.
const haveReusePort = false

// reusePort does nothing where SO_REUSEPORT is not available.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
