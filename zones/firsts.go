package zones

import (
	"strconv"
	"strings"
)

// noRow is the FirstRow entry of a site whose clients never get the set.
const noRow = ^uint16(0)

// siteRowTable is what siteRows returns: the FirstRow table and, in row
// order, the sites that have a row.
type siteRowTable struct {
	row   []uint16
	sites []int
}

// siteRows returns the rows of the first-answer counters of a set, shared by
// every set that the same sites get. scope >= 0: the set of scope j, got by
// the sites of that scope. scope < 0: a default set, got by the sites in no
// scope, in no site (unknown), and in the scopes j for which own[j] is false
// (own nil: every site, the set of a name that is not site-aware).
func (c *compiler) siteRows(scope int, own []bool) siteRowTable {
	var key strings.Builder
	if scope >= 0 {
		key.WriteString("s" + strconv.Itoa(scope))
	} else {
		key.WriteString("d")
		for j, o := range own {
			if o {
				key.WriteString("," + strconv.Itoa(j))
			}
		}
	}
	if t, ok := c.rowTables[key.String()]; ok {
		return t
	}
	t := siteRowTable{row: make([]uint16, len(c.siteScope))}
	for site, j := range c.siteScope {
		got := j == scope
		if scope < 0 {
			got = j < 0 || j >= len(own) || !own[j]
		}
		t.row[site] = noRow
		if got && len(t.sites) < int(noRow) {
			t.row[site] = uint16(len(t.sites))
			t.sites = append(t.sites, site)
		}
	}
	if c.rowTables == nil {
		c.rowTables = map[string]siteRowTable{}
	}
	c.rowTables[key.String()] = t
	return t
}

// firstCounters gives a its first-answer counters, one per record and site
// that gets the set (sitedns_answers_first_total), and lists each record's
// expected first-answer share (sitedns_answer_first_share_expected).
func (c *compiler) firstCounters(a *Answer, origin, owner, scope string, rows siteRowTable) {
	n := len(a.RRs)
	a.FirstRow = rows.row
	a.First = make([]Counter, n*len(rows.sites))
	for r, site := range rows.sites {
		for i, rr := range a.RRs {
			a.First[r*n+i] = c.labeledCounter(&c.labeled.AnswersFirst, "answers_first",
				origin, owner, scope, target(rr), c.siteNames[site])
		}
	}
	shares := make([]float64, n)
	if a.Order != nil {
		a.Order.FirstShares(shares)
	} else {
		shares[0] = 1 // one record: first every time
	}
	for i, rr := range a.RRs {
		labels := []string{origin, owner, scope, target(rr)}
		key := strings.Join(labels, "\xff")
		if c.sharesSeen[key] {
			continue // two records with one target label: counted as one
		}
		if c.sharesSeen == nil {
			c.sharesSeen = map[string]bool{}
		}
		c.sharesSeen[key] = true
		c.labeled.FirstShares = append(c.labeled.FirstShares, LabeledValue{Labels: labels, V: shares[i]})
	}
}

// FirstCounter returns the counter of RRs[i] handed out first to a client
// of site, or the zero Counter when the set has none (a set whose first
// record picks nothing, or a site whose clients never get the set). It
// never allocates.
func (a *Answer) FirstCounter(site, i int) Counter {
	if uint(site) >= uint(len(a.FirstRow)) || uint(i) >= uint(len(a.RRs)) {
		return 0
	}
	if k := int(a.FirstRow[site])*len(a.RRs) + i; k < len(a.First) {
		return a.First[k]
	}
	return 0
}
