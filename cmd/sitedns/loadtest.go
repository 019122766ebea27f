package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sitedns/sitedns/loadtest"
	"github.com/sitedns/sitedns/zones"
)

const loadtestUsage = `usage: sitedns loadtest -name NAME [-name NAME...] [-server IP:PORT]
       [-config FILE | -demo] [-clients LIST] [flags]

Sends a bounded stream of queries from many simulated clients (real loopback
source addresses, and/or EDNS Client Subnet) and reports, per client site and
name, how the first answers spread over the targets (chi-square test against
the expected shares), netmask ordering hits, answers outside the site's scope,
errors, qps and latency. Works against any DNS server.

Several -server flags spread the queries over several servers in turn (query
i to server i mod n), as a load balancer over replicas would; the report adds
their answers up.

Clients: -clients 127.2.1.0/24=US-Chicago:US,127.9.0.5,... (a prefix stands for
its host .77), or with -config/-demo and no -clients, clients generated in
every site's subnets. -config takes a sitedns config or a file of [[site]]
and [[expect]] tables.

Exit status: 0 when the run completed and passed; 1 when it could not run;
2 on bad flags; 3 when more queries than -max-failures (default 0) timed out
or failed, or, with -fail-unfair, a group was unfair or had answers outside
its scope. The report is written in full either way.

Examples:
  sitedns loadtest -server 127.0.0.1:5300 -demo -name affinityus.contoso.lab -queries 3000
  sitedns loadtest -demo -ecs -clients 10.2.1.0/24,10.2.9.0/24,10.11.1.0/24 \
      -name autodiscover.contoso.lab -json -html report.html

Flags:
`

// Exit codes of the loadtest subcommand.
const (
	exitGate = 3 // the run completed but failed its gate (-max-failures, -fail-unfair)
)

// runLoadtest is the loadtest subcommand: exit 0 when the run completed and
// passed its gate, 1 when it could not run or write its output, 2 on bad
// flags, 3 (exitGate) when it ran but queries failed beyond -max-failures
// or, with -fail-unfair, a group was unfair or had affinity violations.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, loadtestUsage)
		fs.PrintDefaults()
	}
	var (
		servers, names, types repeatedFlag
		clientLists           repeatedFlag
		cfg                   loadtest.Config
		configFile            string
		demo, jsonOut, quiet  bool
		htmlFile              string
		udpSize               uint
		gate                  loadtest.Gate
	)
	fs.Var(&servers, "server", "DNS server to test, IP:port; repeatable: the queries go to each in turn (default "+defaultListen+")")
	fs.Var(&names, "name", "query name; repeatable (required)")
	fs.Var(&types, "type", "query type; repeatable (default A)")
	fs.IntVar(&cfg.Queries, "queries", 3000, "query count cap over all clients, names and types (0: until -duration)")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "time cap (0: until -queries)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "queries per second cap over all workers (0: no cap)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "workers, each with one query in flight")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "wait for one answer")
	fs.StringVar(&configFile, "config", "", "site map: a sitedns config, or [[site]] and [[expect]] tables")
	fs.BoolVar(&demo, "demo", false, "site map: the embedded contoso demo lab config")
	fs.Var(&clientLists, "clients", "clients, ADDR[/BITS][=SITE[:SCOPE]],...; repeatable")
	fs.BoolVar(&cfg.ECS, "ecs", false, "send an EDNS Client Subnet option for each client")
	bind := fs.Bool("bind", true, "send from each client's own address (default: on, off with -ecs)")
	fs.UintVar(&udpSize, "udp-size", 0, "EDNS0 UDP payload size to advertise (0: no OPT, or 1232 with -ecs)")
	fs.BoolVar(&cfg.NetmaskOrdering, "netmask-ordering", true, "expect a client's own /24 records first (Windows LocalNetPriority)")
	fs.Float64Var(&cfg.Alpha, "alpha", 0.01, "significance level of the chi-square test")
	fs.BoolVar(&jsonOut, "json", false, "write the report as JSON instead of tables")
	fs.StringVar(&htmlFile, "html", "", "also write the report as a self-contained HTML page to this file")
	fs.BoolVar(&quiet, "q", false, "no progress line")
	fs.IntVar(&gate.MaxFailures, "max-failures", 0, "exit 3 when more queries than this time out or fail with an error")
	fs.BoolVar(&gate.Fairness, "fail-unfair", false, "exit 3 when any group is unfair or has affinity violations")
	down := fs.String("down", "", "targets known to be down, ADDR or HOST,...: each group reports the answers that held one")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sitedns loadtest: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if len(names) == 0 {
		return bad("need at least one -name")
	}
	if configFile != "" && demo {
		return bad("-config and -demo both give the site map; use one")
	}
	if gate.MaxFailures < 0 {
		return bad("-max-failures %d: want 0 or more", gate.MaxFailures)
	}
	if udpSize > 65535 {
		return bad("-udp-size %d: at most 65535", udpSize)
	}
	cfg.UDPSize = uint16(udpSize)
	cfg.Servers = servers
	if len(cfg.Servers) == 0 {
		cfg.Servers = []string{defaultListen}
	}
	cfg.Names, cfg.Types = names, types
	if *down != "" {
		cfg.Down = strings.Split(*down, ",")
	}
	cfg.Bind = *bind
	bindSet := false
	fs.Visit(func(f *flag.Flag) { bindSet = bindSet || f.Name == "bind" })
	if cfg.ECS && !bindSet {
		cfg.Bind = false
	}

	if err := loadtestClients(&cfg, configFile, demo, clientLists); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	var progress func(loadtest.Progress)
	if !quiet && writerIsTerminal(stderr) {
		progress = func(p loadtest.Progress) {
			fmt.Fprintf(stderr, "\r\033[K%s", progressLine(p))
		}
	}
	report, err := loadtest.Run(ctx, cfg, progress)
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "sitedns loadtest: interrupted; the report covers the queries answered so far")
	}
	report.Command = commandLine(append([]string{"sitedns", "loadtest"}, args...))
	if err := writeReport(stdout, report, jsonOut, htmlFile); err != nil {
		fmt.Fprintln(stderr, "sitedns loadtest:", err)
		return 1
	}
	if why := gate.Check(report); len(why) > 0 {
		for _, w := range why {
			fmt.Fprintln(stderr, "sitedns loadtest: failed:", w)
		}
		return exitGate
	}
	return 0
}

// usableClients keeps the generated clients the run can play: with source
// binding only, those with a loopback address (the others cannot be sources
// on this machine).
func usableClients(cs []loadtest.Client, cfg loadtest.Config) []loadtest.Client {
	if cfg.ECS {
		return cs
	}
	var out []loadtest.Client
	for _, c := range cs {
		if c.Addr.IsLoopback() {
			out = append(out, c)
		}
	}
	return out
}

func writeHTMLFile(name string, r *loadtest.Report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := loadtest.WriteHTML(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progressLine is the one-line state of a run.
func progressLine(p loadtest.Progress) string {
	secs := p.Elapsed.Seconds()
	qps := 0.0
	if secs > 0 {
		qps = float64(p.Done) / secs
	}
	limit := fmt.Sprintf("%d", p.Queries)
	if p.Queries >= loadtest.MaxQueries {
		limit = "-"
	}
	s := fmt.Sprintf("%d/%s queries, %d timeouts, %d errors, %.0f qps, %.1fs", p.Done, limit, p.Timeouts, p.Errors, qps, secs)
	if p.Duration > 0 {
		s += fmt.Sprintf(" of %s", p.Duration)
	}
	return s
}

// writerIsTerminal reports whether w is a character device (a terminal).
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// repeatedFlag collects the values of a repeatable flag.
type repeatedFlag []string

func (l *repeatedFlag) String() string     { return strings.Join(*l, ",") }
func (l *repeatedFlag) Set(s string) error { *l = append(*l, s); return nil }

// commandLine is args as a shell command, each argument quoted when it
// holds anything but letters, digits and -_./:,=@+%.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@+%", r))
		}) >= 0 {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// loadtestClients sets cfg's clients and expectations: from -clients, or
// from the sites of -config or -demo, keeping the clients this machine can
// send from.
func loadtestClients(cfg *loadtest.Config, configFile string, demo bool, clientLists []string) error {
	var sites []loadtest.Site
	var err error
	switch {
	case configFile != "":
		sites, cfg.Expect, err = loadtest.LoadFile(configFile)
	case demo:
		sites, cfg.Expect, err = loadtest.ParseFile("demo:contoso.toml", string(zones.DemoConfig()))
	}
	if err != nil {
		return err
	}
	if len(clientLists) > 0 {
		if cfg.Clients, err = loadtest.ParseClients(strings.Join(clientLists, ","), sites); err != nil {
			return err
		}
	} else if len(sites) > 0 {
		cfg.Clients = usableClients(loadtest.ClientsForSites(sites, cfg.Expect), *cfg)
	}
	if len(cfg.Clients) == 0 {
		return errors.New("sitedns loadtest: no clients: give -clients, or -config/-demo with sites the clients can use (with source binding, loopback subnets)")
	}
	return nil
}

// writeReport writes the report as text or JSON to w and, with htmlFile,
// as an HTML page too.
func writeReport(w io.Writer, report *loadtest.Report, jsonOut bool, htmlFile string) error {
	var err error
	if jsonOut {
		err = loadtest.WriteJSON(w, report)
	} else {
		err = loadtest.WriteText(w, report)
	}
	if err == nil && htmlFile != "" {
		err = writeHTMLFile(htmlFile, report)
	}
	return err
}
