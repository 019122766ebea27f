package zones

import (
	"fmt"

	"github.com/miekg/dns"
)

// Wire-format limits a config must respect to be served at all (RFC 1035
// §2.3.4 and §4.2.2). BIND, Knot and NSD refuse a zone that breaks them at
// load; so does sitedns, with the record's file and line, rather than fail
// every zone transfer or answer of the name later.
const (
	maxNameOctets  = 255   // a name in wire form, root label included
	maxLabelOctets = 63    // one label
	maxMessage     = 65535 // a message over TCP
	plainUDP       = 512   // what a client without EDNS takes over UDP
)

// nameProblem returns what is wrong with the wire form of name, a name in
// presentation form (escapes allowed, fully qualified or not), or "" when it
// fits: no label over 63 octets, the whole at most 255 octets.
func nameProblem(name string) string {
	if len(name) < maxLabelOctets {
		return "" // no label, and not the whole, can be that long
	}
	wire, label := 1, 0 // the root label's length octet
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label > maxLabelOctets {
				return fmt.Sprintf("label of %d octets, over the %d one label holds", label, maxLabelOctets)
			}
			if label > 0 {
				wire += 1 + label
			}
			label = 0
			continue
		case c == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]):
			i += 3 // \DDD is one octet
		case c == '\\' && i+1 < len(name):
			i++ // \X is X
		}
		label++
	}
	if label > maxLabelOctets {
		return fmt.Sprintf("label of %d octets, over the %d one label holds", label, maxLabelOctets)
	}
	if label > 0 {
		wire += 1 + label
	}
	if wire > maxNameOctets {
		return fmt.Sprintf("name of %d octets, over the %d a domain name holds", wire, maxNameOctets)
	}
	return ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkNames reports, at r's file and line, an owner or a name in r's data
// that does not fit the wire format, and returns false for such a record.
func (c *compiler) checkNames(r record, field string) bool {
	h := r.rr.Header()
	if p := nameProblem(h.Name); p != "" {
		c.addAt(r, field, r.shown(), "owner %s", p)
		return false
	}
	var target string
	switch v := r.rr.(type) {
	case *dns.CNAME:
		target = v.Target
	case *dns.DNAME:
		target = v.Target
	case *dns.NS:
		target = v.Ns
	case *dns.PTR:
		target = v.Ptr
	case *dns.MX:
		target = v.Mx
	case *dns.SRV:
		target = v.Target
	case *dns.SOA:
		if p := nameProblem(v.Mbox); p != "" {
			c.addAt(r, field, r.shown(), "SOA mailbox %s", p)
			return false
		}
		target = v.Ns
	default:
		return true
	}
	if p := nameProblem(target); p != "" {
		c.addAt(r, field, r.shown(), "%s target %s", dns.TypeToString[h.Rrtype], p)
		return false
	}
	return true
}

// checkSize reports an answer set rrs of owner that cannot be sent: an
// error when a response holding it (header, question and the set, names
// compressed) exceeds the 65,535 octets of any message, a warning when it
// exceeds the 512 octets a client without EDNS takes over UDP (such a client
// gets TC=1 and must retry over TCP). rs[0] places the problem.
func (c *compiler) checkSize(owner string, rrs []dns.RR, rs []record) {
	// A bound from above without packing: most sets are far below 512.
	bound := headerOctets + len(owner) + 2 + 4
	for _, rr := range rrs {
		switch rr.Header().Rrtype {
		case dns.TypeA:
			bound += 2 + 10 + 4
		case dns.TypeAAAA:
			bound += 2 + 10 + 16
		default:
			bound += dns.Len(rr)
		}
		if bound > plainUDP {
			break
		}
	}
	if bound <= plainUDP {
		return
	}
	t := rrs[0].Header().Rrtype
	m := dns.Msg{Compress: true, Answer: rrs}
	m.Question = []dns.Question{{Name: owner, Qtype: t, Qclass: dns.ClassINET}}
	size := m.Len()
	what := fmt.Sprintf("%d %s records", len(rrs), dns.TypeToString[t])
	switch {
	case size > maxMessage:
		c.addAt(rs[0], "", owner, "%s take %d octets in an answer, over the %d any DNS message holds", what, size, maxMessage)
	case size > plainUDP:
		file, line := rs[0].where()
		c.warns = append(c.warns, &Error{File: file, Line: line, Value: owner,
			Msg: fmt.Sprintf("%s take %d octets in an answer, over the %d a client without EDNS takes over UDP: such clients get TC=1 and retry over TCP", what, size, plainUDP)})
	}
}

// headerOctets is the size of a DNS header.
const headerOctets = 12
