package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sitedns/sitedns/dnssec"
	"github.com/sitedns/sitedns/zones"
)

const dnssecUsage = `usage: sitedns dnssec ds -config FILE

Prints the DS records (SHA-256) of the SEP keys (KSKs or CSKs) of every
signed zone of the config, one per line, to give the parent zone.
`

// runDNSSEC runs "sitedns dnssec <subcommand>".
func runDNSSEC(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "ds" {
		fmt.Fprint(stderr, dnssecUsage)
		return 2
	}
	fs := flag.NewFlagSet("dnssec ds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "config file whose signed zones to print (required)")
	ttl := fs.Uint("ttl", 3600, "TTL of the DS records printed")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *config == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, dnssecUsage)
		return 2
	}
	snap, err := zones.Load(*config, zones.NewCounters())
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	n := 0
	for _, z := range snap.Zones {
		if z.DNSSEC == nil {
			continue
		}
		for _, k := range z.DNSSEC.Keys {
			if k.SEP() {
				fmt.Fprintln(stdout, dnssec.DS(k, uint32(*ttl)))
				n++
			}
		}
	}
	if n == 0 {
		fmt.Fprintf(stderr, "%s: no signed zone ([zone.dnssec])\n", *config)
		return 1
	}
	return 0
}

// printErrors prints a config's problems one per line.
func printErrors(w io.Writer, err error) {
	if list, ok := err.(zones.Errors); ok {
		for _, e := range list {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

// signedLine says how a zone is signed: its keys, denial and when its
// signatures expire and are made again.
func signedLine(name string, z *zones.Zone) string {
	s := z.DNSSEC
	zsk := slices.ContainsFunc(s.Keys, func(k *dnssec.Key) bool { return !k.SEP() })
	keys := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		role := "CSK"
		switch {
		case zsk && k.SEP():
			role = "KSK"
		case !k.SEP():
			role = "ZSK"
		}
		keys[i] = k.String() + " (" + role + ")"
	}
	denial := "nsec"
	if s.NSEC3 {
		denial = "nsec3"
	}
	return fmt.Sprintf("%s: zone %s: signed with %s; denial %s; signatures valid until %s, re-signed from %s",
		name, z.Origin, strings.Join(keys, ", "), denial,
		s.Expiration.UTC().Format("2006-01-02 15:04 MST"), s.ResignAt.UTC().Format("2006-01-02 15:04 MST"))
}
