package zones

import (
	"bytes"
	"slices"
	"strings"
	"unsafe"

	"github.com/sitedns/sitedns/dnssec"
)

// Proof is the denial records an answer from a signed zone carries with
// DO=1, as the client's scope sees them, each once: Sets[:N], each an
// answer of one NSEC or NSEC3 record with its Sig. It is a value, filled
// without allocating.
type Proof struct {
	Sets [3]*Answer
	N    int
}

func (p *Proof) add(a *Answer) {
	if a == nil || slices.Contains(p.Sets[:p.N], a) || p.N == len(p.Sets) {
		return
	}
	p.Sets[p.N] = a
	p.N++
}

// NXDomain fills p with the proof that qname (lower case, fully qualified,
// in z, with no node) does not exist and that no wildcard could answer for
// it, for scope j (-1: none): for NSEC3, the records matching the closest
// encloser, covering the next closer name and covering the wildcard at the
// closest encloser (RFC 5155 §7.2.2); for NSEC, the records covering qname
// and that wildcard (RFC 4035 §3.1.3.2).
func (z *Zone) NXDomain(p *Proof, qname string, j int) {
	s := z.DNSSEC
	if s == nil {
		return
	}
	ce, nc := z.closestEncloser(qname, j)
	if ce == nil {
		return
	}
	if s.NSEC3 {
		p.add(ce.Denial.For(j))
		p.add(s.coverHash(nc, "", j))
		p.add(s.coverHash(ce.Name, "*", j))
		return
	}
	p.add(s.coverName(qname, "", j))
	p.add(s.coverName(ce.Name, "*", j))
}

// NoData fills p with the proof that n, the node qname was answered from,
// has no records of the type asked for scope j: n's own record (RFC 5155
// §7.2.3, RFC 4035 §3.1.3.1). For n a wildcard that matched qname, the
// proof also shows qname itself does not exist: the closest encloser's
// record and the one covering the next closer name (RFC 5155 §7.2.5), or
// the one covering qname (RFC 4035 §3.1.3.4). A delegation's record without DS is the proof of an insecure
// referral (RFC 5155 §7.2.7).
func (z *Zone) NoData(p *Proof, qname string, n *Node, wildcard bool, j int) {
	s := z.DNSSEC
	if s == nil || n == nil || n.Denial == nil {
		return
	}
	if wildcard {
		if s.NSEC3 {
			if ce := z.Nodes[strings.TrimPrefix(n.Name, "*.")]; ce != nil && ce.Denial != nil {
				p.add(ce.Denial.For(j))
			}
		}
		z.Wildcard(p, qname, n, j)
	}
	p.add(n.Denial.For(j))
}

// Wildcard fills p with the proof that qname, answered from the wildcard
// node w, does not exist itself: the record covering the next closer name
// (NSEC3, RFC 5155 §7.2.6; the closest encloser is w's parent, which the
// answer's RRSIG label count gives), or covering qname (NSEC).
func (z *Zone) Wildcard(p *Proof, qname string, w *Node, j int) {
	s := z.DNSSEC
	if s == nil || w == nil {
		return
	}
	ce := strings.TrimPrefix(w.Name, "*.")
	if s.NSEC3 {
		p.add(s.coverHash(nextCloser(qname, ce), "", j))
		return
	}
	p.add(s.coverName(qname, "", j))
}

// closestEncloser returns the deepest ancestor of qname in z that view j
// has, and the next closer name, its child on the way to qname.
func (z *Zone) closestEncloser(qname string, j int) (ce *Node, nc string) {
	prev := 0
	for i := 0; i < len(qname); i++ {
		if qname[i] != '.' || i == len(qname)-1 {
			continue
		}
		if n := z.Nodes[qname[i+1:]]; n != nil && !n.hiddenIn(z, j) {
			return n, qname[prev:]
		}
		prev = i + 1
	}
	if n := z.Nodes["."]; n != nil && z.Origin == "." {
		return n, qname[prev:]
	}
	return nil, ""
}

// nextCloser is the name below ce on the way to qname.
func nextCloser(qname, ce string) string {
	prev := 0
	for i := 0; i < len(qname); i++ {
		if qname[i] != '.' {
			continue
		}
		if qname[i+1:] == ce || (ce == "." && i == len(qname)-1) {
			return qname[prev:]
		}
		prev = i + 1
	}
	return qname
}

// coverHash is the NSEC3 record of scope j whose span holds the hash of
// name (of "<label>.name" when label is set): the last one hashed below it,
// or the last of the chain, whose span wraps round.
func (s *Signing) coverHash(name, label string, j int) *Answer {
	var h [dnssec.HashSize]byte
	var ok bool
	if label != "" {
		h, ok = dnssec.ChildHash(label, name)
	} else {
		h, ok = dnssec.Hash(name)
	}
	hashes, vc := s.hashes, s.view(j)
	if vc != nil {
		hashes = vc.hashes
	}
	if !ok || len(hashes) == 0 {
		return nil
	}
	i, _ := slices.BinarySearchFunc(hashes, h, func(a, b [dnssec.HashSize]byte) int { return bytes.Compare(a[:], b[:]) })
	i-- // the last below h
	if i < 0 {
		i = len(hashes) - 1
	}
	if vc != nil {
		i = int(vc.idx[i])
	}
	return s.chain[i].Denial.For(j)
}

// coverName is the NSEC record of scope j whose span holds name (or
// "<label>.name"): the last one in canonical order below it, or the last
// of the chain.
func (s *Signing) coverName(name, label string, j int) *Answer {
	var buf [512]byte
	k, ok := dnssec.CanonicalKey(buf[:0], name)
	keys, vc := s.keys, s.view(j)
	if vc != nil {
		keys = vc.keys
	}
	if !ok || len(keys) == 0 {
		return nil
	}
	if label != "" {
		k = append(append(k, 0), label...)
	}
	key := unsafe.String(unsafe.SliceData(k), len(k))
	i, _ := slices.BinarySearch(keys, key)
	i--
	if i < 0 {
		i = len(keys) - 1
	}
	if vc != nil {
		i = int(vc.idx[i])
	}
	return s.chain[i].Denial.For(j)
}

// view is the chain of view j when it lacks some name, else nil.
func (s *Signing) view(j int) *viewChain {
	if j+1 >= 0 && j+1 < len(s.views) {
		return s.views[j+1]
	}
	return nil
}
