//go:build !linux

package server

import "net"

// udpReadLoop is the read loop of readUDP: one datagram per system call.
func (s *Server) udpReadLoop(c *net.UDPConn, st stats) bool { return s.udpLoop(c, st) }
