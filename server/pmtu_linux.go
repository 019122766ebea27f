package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// udpControl prepares a UDP socket before it is bound: SO_REUSEPORT, and
// path MTU discovery off (IP_PMTUDISC_OMIT, IPV6_PMTUDISC_OMIT). A DNS
// answer over UDP is never resent smaller, so PMTU discovery cannot help it;
// it can only hurt: a forged ICMP "fragmentation needed" would lower the
// path MTU the kernel keeps for a resolver and make it fragment every larger
// answer, the opening for fragment-based cache poisoning. OMIT sends with DF
// clear and ignores learnt path MTUs, as Knot, NSD and Unbound do.
func udpControl(network, address string, c syscall.RawConn) error {
	if err := reusePort(network, address, c); err != nil {
		return err
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		switch network {
		case "udp4":
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_OMIT)
		case "udp6":
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_OMIT)
			// A dual-stack socket sends IPv4 too; an IPv6-only one
			// refuses the IPv4 option, which is fine.
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_OMIT)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
