package server

import (
	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/zones"
)

// With DO=1, an answer from a signed zone carries the RRSIGs the snapshot
// made when it compiled (zones.Answer.Sig), after each RRset of the answer
// and authority sections, and the denial records of the client's scope
// (zones.Proof): nothing is signed here. Additional-section records go
// without their RRSIGs, which no validator needs (RFC 4035 §3.1.1 makes
// them optional). DO=0 answers are those of an unsigned zone.

// addSig appends the RRSIGs sig of the RRset just added to sec, with the
// query name as owner for a wildcard answer (owner set).
func (dc *decider) addSig(sec section, sig *zones.Answer, owner string) {
	d := dc.d
	lo := len(d.order)
	n := len(sig.RRs)
	for i := range n {
		d.order = append(d.order, i)
	}
	d.parts = append(d.parts, part{sec: sec, ans: sig, lo: lo, hi: lo + n, owner: owner})
}

// signed reports whether res comes from a signed zone and the client asked
// for DNSSEC records.
func (dc *decider) signed(res zones.Result) bool {
	return dc.q.do && res.Zone != nil && res.Zone.DNSSEC != nil
}

// denialProof adds, after the SOA of a negative answer, its RRSIGs and the
// proof that lname does not exist (res.Kind KindNXDomain) or lacks the type
// at res.Node.
func (dc *decider) denialProof(res zones.Result, lname string) {
	if !dc.signed(res) {
		return
	}
	z := res.Zone
	if sig := z.DNSSEC.NegSOASig; sig != nil {
		dc.addSig(secAuthority, sig, "")
	}
	var p zones.Proof
	if res.Kind == zones.KindNXDomain {
		z.NXDomain(&p, lname, dc.scopeIdx)
	} else {
		z.NoData(&p, lname, res.Node, res.Wildcard, dc.scopeIdx)
	}
	dc.addProof(&p)
}

// wildcardProof adds the proof that a wildcard answer's name does not exist
// itself.
func (dc *decider) wildcardProof(res zones.Result, lname string) {
	if !dc.signed(res) {
		return
	}
	var p zones.Proof
	res.Zone.Wildcard(&p, lname, res.Node, dc.scopeIdx)
	dc.addProof(&p)
}

// referralProof adds the DS RRset of a delegation with its RRSIGs, or the
// proof that it has none (an insecure delegation).
func (dc *decider) referralProof(res zones.Result) {
	if !dc.signed(res) || res.Node == nil {
		return
	}
	if ds := res.Node.Set(dns.TypeDS); ds != nil {
		if a := ds.For(dc.scopeIdx); a != nil && len(a.RRs) > 0 {
			dc.add(secAuthority, a, false, "", false)
			return
		}
	}
	var p zones.Proof
	res.Zone.NoData(&p, res.Node.Name, res.Node, false, dc.scopeIdx)
	dc.addProof(&p)
}

// addProof adds the records of p, each with its RRSIGs, to the authority
// section.
func (dc *decider) addProof(p *zones.Proof) {
	for _, a := range p.Sets[:p.N] {
		dc.add(secAuthority, a, false, "", false)
	}
}

// sortSections puts d's parts in section order, keeping the order within
// each section: the writers write parts in order. An insertion sort over a
// handful of parts, without allocating.
func (d *decision) sortSections() {
	ps := d.parts
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].sec < ps[j-1].sec; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}
