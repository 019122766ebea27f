package server

import (
	"errors"
	"io/fs"
	"slices"

	"github.com/sitedns/sitedns/internal/serial"
	"github.com/sitedns/sitedns/journal"
	"github.com/sitedns/sitedns/zones"
)

// ResumeDeltas gives each zone of cur, the first snapshot a process serves,
// the differences its journal in cur.JournalDir kept (see CarryDeltas): the
// journal's own when the zone is still at the journal's serial; those and
// the difference from the journal's version to cur's when cur's serial is
// newer; none when it went back. It returns the problems with the journals
// found, each naming its file; such a zone starts without differences, and
// an IXFR of it gets the whole zone. Call it before cur serves: it writes
// cur's zones.
func ResumeDeltas(cur *zones.Snapshot) error {
	if cur == nil || cur.JournalDir == "" || len(cur.AXFRAllow) == 0 {
		return nil
	}
	var errs []error
	for _, z := range cur.Zones {
		if z.Expired || z.SOA == nil {
			continue
		}
		e, err := journal.Load(journal.Path(cur.JournalDir, z.Origin), z.Origin)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			z.Deltas = resumed(e, z)
		}
	}
	return errors.Join(errs...)
}

// resumed is the differences of z given its journal e.
func resumed(e *journal.Entry, z *zones.Zone) []*zones.Delta {
	was := e.SOA()
	switch {
	case was.Serial == z.SOA.Serial:
		return e.Deltas[max(0, len(e.Deltas)-maxDeltas):]
	case !serial.Newer(z.SOA.Serial, was.Serial):
		return nil
	}
	keep := e.Deltas[max(0, len(e.Deltas)-(maxDeltas-1)):]
	now := zoneRecords(z)
	return append(slices.Clone(keep), diff(was, z.SOA, e.Records[1:], now[1:len(now)-1]))
}

// SaveJournal writes to cur.JournalDir the journal of each zone of cur
// whose serial is not old's (each zone when old is nil, or kept no journal
// there): the zone's records and its differences. Call it once cur serves. It returns the problems,
// each naming its file.
func SaveJournal(old, cur *zones.Snapshot) error {
	if cur == nil || cur.JournalDir == "" || len(cur.AXFRAllow) == 0 {
		return nil
	}
	kept := old != nil && old.JournalDir == cur.JournalDir && len(old.AXFRAllow) > 0
	var errs []error
	for _, z := range cur.Zones {
		if z.Expired || z.SOA == nil || (kept && sameSerial(old, z)) {
			continue
		}
		rrs := zoneRecords(z)
		e := &journal.Entry{Records: rrs[:len(rrs)-1], Deltas: z.Deltas}
		if err := journal.Save(journal.Path(cur.JournalDir, z.Origin), e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sameSerial reports whether snap serves z's zone at z's serial.
func sameSerial(snap *zones.Snapshot, z *zones.Zone) bool {
	o := zoneAt(snap, z.Origin)
	return o != nil && !o.Expired && o.SOA != nil && o.SOA.Serial == z.SOA.Serial
}
