package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sitedns/sitedns/secondary"
	"github.com/sitedns/sitedns/zones"
)

// runCheck validates a config the way a reload would and prints either a
// one-line summary (exit 0) or every problem found, one per line (exit 1).
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "config file to check (or give it as the argument)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: sitedns check FILE\n       sitedns check -config FILE\n\nValidates a config as a reload would: a summary and exit 0, or every problem\nwith file, line, field and value and exit 1.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *config == "" && fs.NArg() == 1 {
		*config = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sitedns check: unexpected argument %q: give the config once, as FILE or -config FILE\n", fs.Arg(0))
		return 2
	}
	if *config == "" {
		fs.Usage()
		return 2
	}
	// Secondary zones are checked with their stored copies, as serve
	// would start with them; none is transferred.
	stored := secondary.New(context.Background(), nil, nil)
	snap, err := zones.LoadWith(*config, zones.NewCounters(), stored)
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
		if z.Secondary != nil {
			fmt.Fprintln(stdout, secondaryLine(*config, z))
			continue
		}
		if z.SOASynthesized {
			fmt.Fprintf(stdout, "%s: zone %s has no SOA; serving %s\n", *config, z.Origin, z.SOA)
		}
		if z.DNSSEC != nil {
			fmt.Fprintln(stdout, signedLine(*config, z))
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
	line := fmt.Sprintf("%s: ok: %d zone(s), %d record(s), %d site(s), %d scope(s)",
		name, len(s.Zones), records, len(s.SiteNames)-1, len(s.ScopeNames))
	if len(s.Checks) > 0 {
		line += fmt.Sprintf(", %d check(s) probing %d address(es)", len(s.Checks), len(s.HealthTargets()))
	}
	return line
}

// secondaryLine says where a secondary zone's data comes from and what it
// starts with.
func secondaryLine(name string, z *zones.Zone) string {
	prim := make([]string, len(z.Secondary.Primaries))
	for i, p := range z.Secondary.Primaries {
		prim[i] = p.String()
	}
	key := ""
	if z.Secondary.TSIG != nil {
		key = " with key " + z.Secondary.TSIG.Name
	}
	start := "no stored copy: answers SERVFAIL until the first transfer"
	switch {
	case z.Secondary.Store != "" && !z.Expired:
		start = fmt.Sprintf("stored copy serial %d, %d record(s)", z.SOA.Serial, z.Records)
	case z.Secondary.Store != "" && !z.SOASynthesized:
		start = fmt.Sprintf("stored copy serial %d is past its expire: answers SERVFAIL until a refresh", z.SOA.Serial)
	}
	return fmt.Sprintf("%s: zone %s: secondary of %s%s; %s", name, z.Origin, strings.Join(prim, ", "), key, start)
}
