package server

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Header flag bits (RFC 1035 §4.1.1) in the second 16-bit word.
const (
	flagQR = 1 << 15
	flagRD = 1 << 8
	flagCD = 1 << 4
)

const (
	headerLen = 12
	typeOPT   = 41
	optionECS = 8 // EDNS Client Subnet, RFC 7871
)

var errFormat = errors.New("malformed message")

// wireQuery is what a raw walk over a query found. The walk checks the
// structure miekg/dns is lenient about (section counts that overrun the
// message, OPT placement and count, option framing) and keeps the raw ECS
// option, whose exact length miekg/dns does not preserve.
type wireQuery struct {
	id      uint16
	bits    uint16 // header flags, opcode and rcode
	qdcount uint16
	// qEnd is where the first question ends (0 when there is none or it is
	// malformed).
	qEnd int
	opt  wireOPT
}

// wireOPT describes the OPT record of a query.
type wireOPT struct {
	present bool
	udpSize uint16
	version uint8
	do      bool
	// rdlenOff is the offset of the OPT's RDLENGTH; rdata its options.
	rdlenOff int
	rdata    []byte
	// ecs is the data of the ECS option (nil when absent); ecsCount counts
	// ECS options (more than one is malformed).
	ecs      []byte
	ecsCount int
}

// scanQuery walks the whole of msg (at least headerLen bytes). Bytes after
// the last record are ignored, as miekg/dns does. On error the fields found
// before the error are set: id and bits always, qEnd and opt when complete.
func scanQuery(msg []byte) (w wireQuery, err error) {
	w.id = binary.BigEndian.Uint16(msg)
	w.bits = binary.BigEndian.Uint16(msg[2:])
	w.qdcount = binary.BigEndian.Uint16(msg[4:])
	an := int(binary.BigEndian.Uint16(msg[6:]))
	ns := int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	off := headerLen
	for i := 0; i < int(w.qdcount); i++ {
		if off, err = skipName(msg, off); err != nil {
			return w, err
		}
		if off += 4; off > len(msg) {
			return w, errFormat
		}
		if i == 0 {
			w.qEnd = off
		}
	}
	for i := 0; i < an+ns+ar; i++ {
		start := off
		if off, err = skipName(msg, off); err != nil {
			return w, err
		}
		if off+10 > len(msg) {
			return w, errFormat
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		class := binary.BigEndian.Uint16(msg[off+2:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		rdlenOff := off + 8
		off += 10
		if off+rdlen > len(msg) {
			return w, errFormat
		}
		rdata := msg[off : off+rdlen]
		off += rdlen
		if typ != typeOPT {
			continue
		}
		// RFC 6891 §6.1.1: one OPT, in the additional section, owned by
		// the root.
		if i < an+ns || w.opt.present || msg[start] != 0 {
			return w, errFormat
		}
		o := wireOPT{
			udpSize:  class,
			version:  uint8(ttl >> 16),
			do:       ttl&(1<<15) != 0,
			rdlenOff: rdlenOff,
			rdata:    rdata,
		}
		for p := 0; p < len(rdata); {
			if p+4 > len(rdata) {
				return w, errFormat
			}
			code := binary.BigEndian.Uint16(rdata[p:])
			l := int(binary.BigEndian.Uint16(rdata[p+2:]))
			p += 4
			if p+l > len(rdata) {
				return w, errFormat
			}
			if code == optionECS {
				o.ecs = rdata[p : p+l]
				o.ecsCount++
			}
			p += l
		}
		o.present = true
		w.opt = o
	}
	return w, nil
}

// skipName returns the offset after the domain name at off. A compression
// pointer ends the name; it is not followed.
func skipName(msg []byte, off int) (int, error) {
	n := 0 // wire length so far
	for {
		if off >= len(msg) {
			return 0, errFormat
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			if n += c + 1; n > 255 {
				return 0, errFormat
			}
			off += c + 1
		case 0xC0:
			if off+2 > len(msg) {
				return 0, errFormat
			}
			return off + 2, nil
		default: // 0x40 and 0x80: extended label types, obsolete (RFC 6891 §5)
			return 0, errFormat
		}
	}
}

// withoutOPTData returns a copy of msg whose OPT record carries no options,
// for miekg/dns to unpack when it rejects an option we do not use.
func withoutOPTData(msg []byte, o *wireOPT) []byte {
	end := o.rdlenOff + 2 + len(o.rdata)
	out := make([]byte, 0, len(msg)-len(o.rdata))
	out = append(out, msg[:o.rdlenOff]...)
	out = append(out, 0, 0)
	return append(out, msg[end:]...)
}

// questionOnly returns a copy of the header and first question of msg with
// the counts set to one question and nothing else, so that the question of
// an otherwise unparsable message can still be echoed.
func questionOnly(msg []byte, qEnd int) []byte {
	out := append([]byte(nil), msg[:qEnd]...)
	binary.BigEndian.PutUint16(out[4:], 1)
	clear(out[6:headerLen])
	return out
}

// ecsOption is a parsed EDNS Client Subnet option of a query.
type ecsOption struct {
	// client is the address the option names, its bits beyond source zero.
	client netip.Addr
	source uint8
	// raw is the option data as received, echoed with the SCOPE byte set.
	raw []byte
}

// parseECS validates an ECS option (RFC 7871 §6): FAMILY 1 or 2 (or 0
// with SOURCE 0 and no address, as dig sends for +subnet=0), SOURCE
// PREFIX-LENGTH within the family, SCOPE 0, exactly ceil(SOURCE/8)
// address bytes, and no bit set beyond SOURCE.
func parseECS(d []byte) (e ecsOption, ok bool) {
	if len(d) < 4 || d[3] != 0 {
		return e, false
	}
	fam := binary.BigEndian.Uint16(d)
	src := d[2]
	addr := d[4:]
	max := 0
	switch fam {
	case 0:
		if src != 0 || len(addr) != 0 {
			return e, false
		}
		return ecsOption{client: netip.IPv4Unspecified(), raw: d}, true
	case 1:
		max = 32
	case 2:
		max = 128
	default:
		return e, false
	}
	if int(src) > max || len(addr) != (int(src)+7)/8 {
		return e, false
	}
	if r := src % 8; r != 0 && addr[len(addr)-1]&(0xFF>>r) != 0 {
		return e, false
	}
	var b [16]byte
	copy(b[:], addr)
	if fam == 1 {
		e.client = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		e.client = netip.AddrFrom16(b)
	}
	e.source = src
	e.raw = d
	return e, true
}
