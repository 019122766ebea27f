package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sitedns/sitedns/zones"
)

// runCheck validates a config the way a reload would and prints either a
// one-line summary (exit 0) or every problem found, one per line (exit 1).
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "config file to check (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *config == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: sitedns check -config FILE")
		return 2
	}
	snap, err := zones.Load(*config, zones.NewCounters())
	if err != nil {
		var list zones.Errors
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	fmt.Fprintln(stdout, summary(*config, snap))
	for _, w := range snap.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	for _, z := range snap.Zones {
		if z.SOASynthesized {
			fmt.Fprintf(stdout, "%s: zone %s has no SOA; serving %s\n", *config, z.Origin, z.SOA)
		}
	}
	return 0
}

// summary is the one line that says what a snapshot holds.
func summary(name string, s *zones.Snapshot) string {
	records := 0
	for _, z := range s.Zones {
		records += z.Records
	}
	return fmt.Sprintf("%s: ok: %d zone(s), %d record(s), %d site(s), %d scope(s)",
		name, len(s.Zones), records, len(s.SiteNames)-1, len(s.ScopeNames))
}
