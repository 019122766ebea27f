package zones

import "strings"

// A view is what the clients of one scope see of a zone; view -1 is the
// default view, of clients whose site has no scope (or who are in no site).
// A site-aware name whose sets give a view no records does not exist in
// that view, unless a name below it does (RFC 8020: a name with descendants
// exists): Lookup then answers as if the name were not in the zone, so the
// client gets NXDOMAIN, or the answer of a wildcard that covers the name
// (RFC 4592), as a separate zone per view (a BIND view, a Windows zone
// scope) would give. Empty non-terminals, names with any plain record,
// delegations and the apex exist in every view. Lookup without a view sees
// every name; AXFR sends the default view, as it did before.

// viewAll asks Lookup to ignore views: every name exists.
const viewAll = -2

// viewSet is a set of views: bit v+1 stands for view v (bit 0 for the
// default view, -1).
type viewSet []uint64

func newViewSet(views int) viewSet { return make(viewSet, (views+1+63)/64) }

func (s viewSet) add(v int) { s[(v+1)/64] |= 1 << ((v + 1) % 64) }

func (s viewSet) has(v int) bool {
	b := v + 1
	return b/64 < len(s) && s[b/64]&(1<<(b%64)) != 0
}

func (s viewSet) or(t viewSet) {
	for i := range s {
		s[i] |= t[i]
	}
}

// hiddenIn reports whether n does not exist in view v of z (viewAll: never).
func (n *Node) hiddenIn(z *Zone, v int) bool {
	if n.hidden == 0 || v == viewAll {
		return false
	}
	return z.hidden[n.hidden-1].has(v)
}

// staticFor is RRset.For without health: the set the view's clients get
// by the config.
func (r *RRset) staticFor(v int) *Answer {
	if v >= 0 && v < len(r.ByScope) && r.ByScope[v] != nil {
		return r.ByScope[v]
	}
	return r.Default
}

// ownViews returns the views in which n has records of its own, or nil when
// it has them in every view (a plain set, or site-aware sets that leave no
// view empty).
func ownViews(n *Node, scopes int) viewSet {
	for _, s := range n.Sets {
		if !s.SiteAware() && s.Default != nil && len(s.Default.RRs) > 0 {
			return nil
		}
	}
	vs := newViewSet(scopes)
	all := true
	for v := -1; v < scopes; v++ {
		for _, s := range n.Sets {
			if a := s.staticFor(v); a != nil && len(a.RRs) > 0 {
				vs.add(v)
				break
			}
		}
		all = all && vs.has(v)
	}
	if all {
		return nil
	}
	return vs
}

// views marks the names of z that some view does not have (see the top of
// this file). It runs after entsAndWildcards, and before a signed zone is
// signed: each view's NSEC/NSEC3 chain leaves out the names the view does
// not have, so that its NXDOMAIN can be proven (signing.go). A zone
// without site-aware names costs one pass over its nodes.
func (c *compiler) views(z *Zone) {
	scopes := len(c.scopeNames)
	type candidate struct {
		n         *Node
		own, desc viewSet
	}
	var cands map[string]*candidate
	for name, n := range z.Nodes {
		if len(n.Sets) == 0 || n.Cut || name == z.Origin {
			continue
		}
		if own := ownViews(n, scopes); own != nil {
			if cands == nil {
				cands = map[string]*candidate{}
			}
			cands[name] = &candidate{n: n, own: own, desc: newViewSet(scopes)}
		}
	}
	if len(cands) == 0 {
		return
	}
	// What exists below each candidate, in which views.
	every := newViewSet(scopes)
	for v := -1; v < scopes; v++ {
		every.add(v)
	}
	for name, n := range z.Nodes {
		if len(n.Sets) == 0 {
			continue
		}
		vis := every
		if cd := cands[name]; cd != nil {
			vis = cd.own
		}
		for up := name; up != z.Origin; {
			i := strings.IndexByte(up, '.')
			if i < 0 || i == len(up)-1 {
				break
			}
			up = up[i+1:]
			if cd := cands[up]; cd != nil {
				cd.desc.or(vis)
			}
		}
	}
	for name, cd := range cands {
		hidden := newViewSet(scopes)
		missing := false
		for v := -1; v < scopes; v++ {
			if !cd.own.has(v) && !cd.desc.has(v) {
				hidden.add(v)
				missing = true
			}
		}
		if !missing {
			continue
		}
		if len(z.hidden) == 1<<16-1 {
			c.warns = append(c.warns, &Error{File: c.file, Field: "zone " + z.Origin, Value: name,
				Msg: "more than 65535 site-aware names are missing from some view; this one and the rest answer NODATA there"})
			return
		}
		z.hidden = append(z.hidden, hidden)
		cd.n.hidden = uint16(len(z.hidden))
	}
}
