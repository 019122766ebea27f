// Command sitedns is an authoritative DNS server that gives Exchange and
// OCS/Lync clients site-aware answers, ordered the way Windows DNS orders
// them. See README.md for usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sitedns/sitedns/zones"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: sitedns <command> [flags]

commands:
  serve     answer DNS queries (with no -config: the embedded contoso demo lab)
  check     validate a config file and print a summary or every error
  demo      print the embedded demo config, to copy and edit
  scaffold  write the config, certificate names and ports of an OCS + Exchange lab
  dnssec    dnssec ds: print the DS records of the signed zones, for the parent
  loadtest  measure how any DNS server spreads answers over targets and sites
  version   print the version
  help      print this text

Run "sitedns help <command>" (or "sitedns <command> -h") for the synopsis
and flags of a command.
`

// run is main without the process: it takes the arguments and streams and
// returns the exit code, so tests can drive every subcommand in process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "scaffold":
		return runScaffold(args[1:], os.Stdin, stdout, stderr)
	case "dnssec":
		return runDNSSEC(args[1:], stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, args[1:], stdout, stderr)
	case "demo":
		_, err := stdout.Write(zones.DemoConfig())
		if err != nil {
			return 1
		}
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			switch args[1] {
			case "help", "version", "demo":
				fmt.Fprint(stdout, usage)
				return 0
			}
			if !strings.Contains(usage, "\n  "+args[1]+" ") {
				fmt.Fprintf(stderr, "sitedns: unknown command %q\n\n%s", args[1], usage)
				return 2
			}
			// The command's own -h: its synopsis and flags, on stderr
			// as flag.FlagSet prints them.
			run(ctx, []string{args[1], "-h"}, stdout, stderr)
			return 0
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sitedns: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
