//go:build !linux

package server

import "syscall"

// udpControl sets SO_REUSEPORT where there is one; path MTU discovery is
// left as the system has it.
func udpControl(network, address string, c syscall.RawConn) error {
	return reusePort(network, address, c)
}
