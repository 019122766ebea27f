//go:build !linux

package server

import "net"

// udpReadLoop is the read loop of readUDP: one datagram per system call.
func (s *Server) udpReadLoop(c *net.UDPConn, st stats) bool { return s.udpLoop(c, st) }

// readUDPBlocking serves c in blocking mode where the platform has it; here
// it does not, and readUDP falls back to udpReadLoop.
func (s *Server) readUDPBlocking(*net.UDPConn, stats) bool { return false }

// DefaultUDPIO is the UDPIO of a zero Config on this platform.
const DefaultUDPIO = UDPIONetpoll
