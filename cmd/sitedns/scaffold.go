package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sitedns/sitedns/scaffold"
)

// runScaffold writes a sitedns config for an OCS 2007 R2 + Exchange lab,
// and its certificate and port plan, from an answers file, from flags, or
// from questions asked on a terminal.
func runScaffold(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scaffold", flag.ContinueOnError)
	fs.SetOutput(stderr)
	answers := fs.String("answers", "", "answers `file` (TOML) describing the lab")
	out := fs.String("o", "", "write the config to `file` instead of stdout")
	plan := fs.Bool("plan", false, "print the certificate and port plan (Markdown) to stdout instead of the config")
	planMD := fs.String("plan-md", "", "also write the plan as Markdown to `file`")
	planCSV := fs.String("plan-csv", "", "also write the plan as CSV to `file`")
	runbook := fs.String("runbook", "", "also write the Exchange and OCS runbook (Markdown with PowerShell blocks) to `file`")
	var lf scaffold.Flags
	lf.Register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: sitedns scaffold -answers FILE [-certificates single] [-o FILE] [-plan] [-plan-md FILE] [-plan-csv FILE] [-runbook FILE]\n"+
			"       sitedns scaffold -domain D -site NAME=SUBNET -pool FQDN=IP [-cas IP] [-edge-sip IP] ...\n"+
			"       sitedns scaffold            (on a terminal: asks)\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sitedns scaffold: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	var lab *scaffold.Lab
	var err error
	switch {
	case *answers != "" && lf.Given(fs):
		fmt.Fprintln(stderr, "sitedns scaffold: give either -answers or the lab flags, not both")
		return 2
	case *answers != "":
		lab, err = scaffold.LoadAnswersWith(*answers, lf.Options())
	case lf.Given(fs):
		lab, err = lf.Lab()
	case isTerminal(stdin):
		lab, err = scaffold.Ask(stdin, stderr)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		var list scaffold.Errors
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stderr, "sitedns scaffold:", e)
			}
		} else {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
		}
		return 1
	}

	p := scaffold.NewPlan(lab)
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{*planMD, p.WriteMarkdown}, {*planCSV, p.WriteCSV}, {*runbook, func(w io.Writer) error { return scaffold.WriteRunbook(w, lab) }}} {
		if f.path == "" {
			continue
		}
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
			return 1
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
			return 1
		}
	}
	config := scaffold.Config(lab)
	if *out != "" {
		if err := os.WriteFile(*out, config, 0o644); err != nil {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
			return 1
		}
	}
	switch {
	case *plan:
		if err := p.WriteMarkdown(stdout); err != nil {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
			return 1
		}
	case *out == "":
		if _, err := stdout.Write(config); err != nil {
			fmt.Fprintln(stderr, "sitedns scaffold:", err)
			return 1
		}
	}
	return 0
}

// isTerminal reports whether r is an interactive terminal: a character
// device other than the null device (a heuristic that needs no ioctl).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
