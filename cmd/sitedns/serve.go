package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sitedns/sitedns/dnstap"
	"github.com/sitedns/sitedns/metrics"
	dnsnotify "github.com/sitedns/sitedns/notify"
	"github.com/sitedns/sitedns/secondary"
	"github.com/sitedns/sitedns/server"
	"github.com/sitedns/sitedns/zones"
)

const (
	defaultListen        = "127.0.0.1:5300"
	defaultMetricsListen = "127.0.0.1:9153"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type serveFlags struct {
	config          string
	listen          listFlag
	metricsListen   string
	metricsSet      bool
	logFormat       string
	logLevel        zapcore.Level
	udpWorkers      int
	udpIO           server.UDPIO
	lameduck        time.Duration
	shutdownTimeout time.Duration
	watch           bool
	httpReload      bool
	watchInterval   time.Duration
	watchSettle     time.Duration
	tcpIdle         time.Duration
	tcpRead         time.Duration
	tcpMaxConns     int
	tcpMaxPerPrefix int
	dnstap          string
	dnstapQueue     int
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "config file (default: the embedded contoso demo lab)")
	fs.Var(&f.listen, "listen", "address to answer DNS on, UDP and TCP; repeatable (default [server] listen, else "+defaultListen+")")
	fs.StringVar(&f.metricsListen, "metrics-listen", defaultMetricsListen, "address for /metrics, /-/healthy, /-/ready and, with -enable-http-reload, POST /-/reload; empty: off")
	fs.StringVar(&f.logFormat, "log-format", "console", "log format: console or json (start-up errors too)")
	logLevel := fs.String("log-level", "info", "least level logged: debug, info, warn or error")
	fs.IntVar(&f.udpWorkers, "udp-workers", 0, "UDP sockets (SO_REUSEPORT) per listen address (default: one per CPU)")
	udpIO := fs.String("udp-io", string(defaultUDPIO(runtime.GOMAXPROCS(0))), "how UDP workers wait for datagrams: netpoll (Go's poller) or blocking (a thread per worker sleeping in recvmmsg; Linux only). Default: blocking on Linux with two CPUs or more, netpoll with one and elsewhere")
	fs.DurationVar(&f.lameduck, "lameduck", 0, "on SIGTERM, report not-ready for this long before draining")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "deadline for answering in-flight queries on shutdown")
	fs.BoolVar(&f.httpReload, "enable-http-reload", false, "accept POST /-/reload on the metrics listener (off: 403); whoever reaches the listener can then make the server reload")
	fs.BoolVar(&f.watch, "watch", false, "reload when a file the config loads changes: the config, its zone files and their $INCLUDEs (polls; follows ConfigMap symlink swaps)")
	fs.DurationVar(&f.watchInterval, "watch-interval", time.Second, "how often -watch looks at the files")
	fs.DurationVar(&f.watchSettle, "watch-settle", time.Second, "-watch loads a changed file once its content has stayed the same this long, and on two consecutive polls")
	fs.DurationVar(&f.tcpIdle, "tcp-idle-timeout", 10*time.Second, "close a TCP connection idle this long between queries")
	fs.DurationVar(&f.tcpRead, "tcp-read-timeout", 2*time.Second, "close a TCP connection that takes longer to send one message it started (slowloris)")
	fs.IntVar(&f.tcpMaxConns, "tcp-max-conns", 1000, "most TCP connections open at once; at the cap a new one takes the slot of the one idle longest")
	fs.StringVar(&f.dnstap, "dnstap", "", "log every answer as dnstap AUTH_QUERY and AUTH_RESPONSE to unix:PATH (a Frame Streams socket) or to a file PATH; empty: off")
	fs.IntVar(&f.dnstapQueue, "dnstap-queue", 4096, "answers waiting for the dnstap writer at most; past it they are dropped and counted")
	fs.IntVar(&f.tcpMaxPerPrefix, "tcp-max-conns-per-prefix", 250, "most TCP connections open at once from one /24 (IPv4) or /64 (IPv6); 0: no such cap")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected argument %q (flags come before it; the config is -config FILE)", fs.Arg(0))
	}
	if err := f.logLevel.Set(*logLevel); err != nil || *logLevel == "" {
		return nil, fmt.Errorf("serve: -log-level %q: want debug, info, warn or error", *logLevel)
	}
	for _, a := range f.listen {
		if err := checkHostPort("-listen", a); err != nil {
			return nil, err
		}
	}
	if f.metricsListen != "" {
		if err := checkHostPort("-metrics-listen", f.metricsListen); err != nil {
			return nil, err
		}
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "metrics-listen" {
			f.metricsSet = true
		}
	})
	m, err := server.ParseUDPIO(*udpIO)
	if err != nil {
		return nil, fmt.Errorf("serve: -udp-io %q: want netpoll or blocking", *udpIO)
	}
	f.udpIO = m
	if f.logFormat != "console" && f.logFormat != "json" {
		return nil, fmt.Errorf("serve: -log-format %q: want console or json", f.logFormat)
	}
	return f, nil
}

// defaultUDPIO is -udp-io's default in a process that starts with procs Ps
// (GOMAXPROCS: the CPUs it may use, within its cgroup's CPU limit):
// server.DefaultUDPIO, but netpoll with one, where blocking readers' tail
// latency while a large zone compiles was the worse of the two
// (docs/performance.md, "Blocking against netpoll").
func defaultUDPIO(procs int) server.UDPIO {
	if procs <= 1 {
		return server.UDPIONetpoll
	}
	return server.DefaultUDPIO
}

const serveUsage = `usage: sitedns serve [-config FILE] [-listen ADDR]... [-metrics-listen ADDR] [flags]

Answers DNS queries for the zones of the config (with no -config, the
embedded contoso demo lab) on each -listen address, UDP and TCP, with
/metrics, /-/healthy and /-/ready on -metrics-listen. SIGHUP reloads the
config; SIGTERM drains and stops. ADDR is HOST:PORT: 127.0.0.1:5300, :53.

Examples:
  sitedns serve                                   # the demo lab on 127.0.0.1:5300
  sitedns serve -config /etc/sitedns/sitedns.toml -listen :53 -log-format json -watch

Flags:
`

// checkHostPort says what is wrong with an address flag in the user's
// terms: a bare port ("5306") is the usual slip.
func checkHostPort(flagName, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return nil
	}
	if _, err := strconv.Atoi(addr); err == nil {
		return fmt.Errorf("serve: %s %q: want HOST:PORT, e.g. 127.0.0.1:%s (or :%s for every address)", flagName, addr, addr, addr)
	}
	return fmt.Errorf("serve: %s %q: want HOST:PORT, e.g. 127.0.0.1:5300", flagName, addr)
}

// wantsJSON reports whether args ask for -log-format json, for errors
// found before the flags are parsed whole.
func wantsJSON(args []string) bool {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "log-format=json" || a == "log-format" && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}

// startupError reports an error that stops serve before it serves: as
// plain lines, or with -log-format json as one JSON log line (with every
// config problem in "errors"), so that a log pipeline sees it.
func startupError(log *zap.Logger, stderr io.Writer, json bool, msg string, errs []string) {
	if !json {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		if len(errs) == 0 {
			fmt.Fprintln(stderr, msg)
		}
		return
	}
	if log == nil {
		log = newLogger("json", zapcore.InfoLevel, stderr)
	}
	if len(errs) == 0 {
		log.Error(msg)
		return
	}
	log.Error(msg, zap.Strings("errors", errs))
}

func newLogger(format string, level zapcore.Level, w io.Writer) *zap.Logger {
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
}

// loader compiles the configured source: the file, or the embedded demo.
type loader struct {
	path     string
	counters *zones.Counters
}

// load reads and compiles the config, with the secondary zones' data from
// xfr (nil: none), and returns its text for later compiles.
func (l loader) load(xfr zones.Transfers) (*zones.Snapshot, []byte, error) {
	if l.path == "" {
		snap, err := zones.LoadDemo(l.counters)
		return snap, zones.DemoConfig(), err
	}
	text, err := os.ReadFile(l.path)
	if err != nil {
		return nil, nil, zones.Errors{{File: l.path, Msg: err.Error()}}
	}
	snap, err := l.compile(text, xfr)
	return snap, text, err
}

// compile compiles config text read by load, with the secondary zones' data
// from xfr.
func (l loader) compile(text []byte, xfr zones.Transfers) (*zones.Snapshot, error) {
	if l.path == "" {
		return zones.LoadDemo(l.counters)
	}
	snap, err := zones.ParseWith(l.path, filepath.Dir(l.path), text, l.counters, xfr)
	if snap != nil {
		snap.Source = l.path
	}
	return snap, err
}

func (l loader) name() string {
	if l.path == "" {
		return "embedded demo config"
	}
	return l.path
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseServeFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		startupError(nil, stderr, wantsJSON(args), err.Error(), nil)
		return 2
	}
	log := newLogger(f.logFormat, f.logLevel, stderr)
	jsonLog := f.logFormat == "json"
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush of stderr

	ld := loader{path: f.config, counters: zones.NewCounters()}
	// The secondary zones' refresh loops publish through the reloader,
	// made below once the server is.
	var rl *reloader
	sec := secondary.New(ctx, log, func(xfr zones.Transfers, reason string) error {
		return rl.publish(ctx, xfr, reason)
	})
	snap, text, err := ld.load(sec)
	if err != nil {
		loadFailed(log, stderr, jsonLog, f.config, err)
		return 1
	}

	listen, metricsAddr := addresses(f, snap)
	udpWorkers := udpWorkersFor(f, len(listen), log)

	hk := newHealthKeeper(log)
	defer hk.mon.Close()
	hk.prepare(snap)
	go supervise(ctx, log, "the health checks", func() { hk.run(ctx) })

	tap, dt, err := openTaps(f, log)
	if err != nil {
		log.Error("cannot open the dnstap output", zap.Error(err))
		return 1
	}
	if dt != nil {
		defer func() {
			if err := dt.Close(2 * time.Second); err != nil {
				log.Warn("dnstap", zap.Error(err))
			}
		}()
	}

	resumeJournal(log, snap)
	stats := metrics.NewStats()
	stats.Loaded(snap.Loaded) // the start-up load is not a reload
	srv := server.New(server.Config{
		Tap:                  tap,
		Listen:               listen,
		UDPWorkers:           udpWorkers,
		UDPIO:                f.udpIO,
		TCPIdleTimeout:       f.tcpIdle,
		TCPReadTimeout:       f.tcpRead,
		MaxTCPConns:          f.tcpMaxConns,
		MaxTCPConnsPerPrefix: f.tcpMaxPerPrefix,
		Logger:               log,
		Stats:                stats,
		Notify:               func(origin string) { sec.Notify(origin) },
	}, snap)
	if err := srv.Start(); err != nil {
		log.Error("cannot listen", zap.Error(err))
		return 1
	}

	var shuttingDown atomic.Bool
	rl = newReloader(ld, srv, stats, log, sec, text)
	rl.mem.raiseProcs = f.udpIO == server.UDPIOBlocking && runtime.GOOS == "linux"
	rl.health = hk
	rl.notify = dnsnotify.New(ctx, log)
	saveJournal(log, nil, snap) // before the reloader, which writes the journals after it
	go supervise(ctx, log, "the reloader", func() { rl.run(ctx) })
	sec.Sync(snap) // the secondary zones' first SOA checks
	rl.notify.Changed(nil, snap)

	defer reloadOnSignals(ctx, f, srv, rl, log)()

	var httpSrv *http.Server
	var metricsBound string
	if metricsAddr != "" {
		var reload func() error // nil: POST /-/reload answers 403
		if f.httpReload {
			reload = func() error { return rl.reload(ctx) } // the reloader logs the error
		}
		ready := func() bool { return !shuttingDown.Load() && srv.Snapshot() != nil }
		extra := []prometheus.Collector{hk.mon, sec.Collector()}
		if dt != nil {
			extra = append(extra, dt)
		}
		httpSrv, metricsBound, err = serveMetrics(metricsAddr, stats, srv, ready, reload, log, extra...)
		if err != nil {
			log.Error("cannot listen for metrics", zap.String("addr", metricsAddr), zap.Error(err))
			_ = srv.Shutdown(context.Background())
			return 1
		}
	}

	log.Info("serving", zap.String("config", ld.name()), zap.Strings("dns", srv.Addrs()), zap.String("udp_io", string(f.udpIO)),
		zap.String("metrics", metricsBound), zap.String("version", versionString()))
	notify(log, "READY=1\nSTATUS=serving "+ld.name())

	<-ctx.Done()
	shuttingDown.Store(true)
	code := stop(srv, httpSrv, f, log)
	log.Info("stopped")
	return code
}

// addresses returns where to answer DNS and where to serve /metrics: the
// flags' addresses, else the config's, else the defaults.
func addresses(f *serveFlags, snap *zones.Snapshot) (listen []string, metrics string) {
	listen = f.listen
	if len(listen) == 0 {
		listen = snap.Listen
	}
	if len(listen) == 0 {
		listen = []string{defaultListen}
	}
	metrics = f.metricsListen
	if !f.metricsSet && snap.MetricsListen != nil {
		metrics = *snap.MetricsListen
	}
	return listen, metrics
}

// resumeJournal gives the zones of snap, the first snapshot, the IXFR
// history their journals kept (server.ResumeDeltas); a journal that does
// not read is logged.
func resumeJournal(log *zap.Logger, snap *zones.Snapshot) {
	if err := server.ResumeDeltas(snap); err != nil {
		log.Warn("IXFR journal not read; until those zones change, their IXFRs get the whole zone",
			zap.String("journal_dir", snap.JournalDir), zap.Error(err))
	}
}

// reloadOnSignals starts what reloads the server besides HTTP: SIGHUP, the
// re-signer of signed zones and, with -watch, the watch of every file the
// config loads. The returned func stops the SIGHUP notification.
func reloadOnSignals(ctx context.Context, f *serveFlags, srv *server.Server, rl *reloader, log *zap.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go supervise(ctx, log, "the SIGHUP loop", func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = rl.reload(ctx) // logged and counted by the reloader
			}
		}
	})

	go supervise(ctx, log, "the re-signer", func() {
		resign(ctx, srv.Snapshot, func() error { return rl.reload(ctx) }, log)
	})

	if f.watch && f.config != "" {
		go supervise(ctx, log, "the config watch", func() {
			watch(ctx, func() []zones.SourceFile { return srv.Snapshot().Files }, f.watchInterval, f.watchSettle,
				func() { _ = rl.reload(ctx) }, log)
		})
	}
	return func() { signal.Stop(hup) }
}

// stop shuts the server down after the lame-duck time: DNS within
// -shutdown-timeout (1 when it cannot), then the HTTP listener.
func stop(srv *server.Server, httpSrv *http.Server, f *serveFlags, log *zap.Logger) int {
	notify(log, "STOPPING=1")
	log.Info("shutting down", zap.Duration("lameduck", f.lameduck))
	if f.lameduck > 0 {
		time.Sleep(f.lameduck)
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	code := 0
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", zap.Error(err))
		code = 1
	}
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	return code
}

// serveMetrics starts the HTTP listener on addr: /metrics with the stats
// and extra collectors, the health endpoints, and POST /-/reload when
// reload is not nil. It returns the server and the address it bound.
func serveMetrics(addr string, stats *metrics.Stats, srv *server.Server, ready func() bool, reload func() error,
	log *zap.Logger, extra ...prometheus.Collector) (*http.Server, string, error) {
	ver, rev, gover := buildInfo()
	reg := metrics.NewRegistry(stats, srv.Snapshot, metrics.BuildInfo{Version: ver, Revision: rev, GoVersion: gover})
	reg.MustRegister(extra...)
	mux := metrics.NewMux(reg, ready, reload)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	bound := ln.Addr().String()
	httpSrv, ln := metrics.NewServer(mux, ln, 0)
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", zap.Error(err))
		}
	}()
	return httpSrv, bound, nil
}

// loadFailed reports a config that could not be loaded at start-up: a
// missing file with what to mount, otherwise every error of the load.
func loadFailed(log *zap.Logger, stderr io.Writer, jsonLog bool, config string, err error) {
	if _, statErr := os.Stat(config); config != "" && errors.Is(statErr, fs.ErrNotExist) {
		startupError(log, stderr, jsonLog, fmt.Sprintf("sitedns: no config file at %s: mount one there (in a container: -v DIR:%s:ro with DIR holding %s; on Kubernetes the ConfigMap sitedns-config), write one with \"sitedns scaffold\" or \"sitedns demo\", or leave out -config for the demo lab",
			config, filepath.Dir(config), filepath.Base(config)), nil)
		return
	}
	var lines []string
	var list zones.Errors
	if errors.As(err, &list) {
		for _, e := range list {
			lines = append(lines, e.Error())
		}
	} else {
		lines = append(lines, err.Error())
	}
	startupError(log, stderr, jsonLog, "cannot load the config", lines)
}

// udpWorkersFor returns the UDP readers per listen address and, for
// blocking readers on Linux, raises GOMAXPROCS to leave them one P more
// (unless GOMAXPROCS is set in the environment).
func udpWorkersFor(f *serveFlags, addrs int, log *zap.Logger) int {
	udpWorkers := f.udpWorkers
	if f.udpIO != server.UDPIOBlocking || runtime.GOOS != "linux" {
		return udpWorkers
	}
	if udpWorkers <= 0 {
		udpWorkers = runtime.GOMAXPROCS(0)
	}
	cur := runtime.GOMAXPROCS(0)
	want := blockingProcs(cur, udpWorkers*addrs)
	switch {
	case want == cur:
	case os.Getenv("GOMAXPROCS") != "":
		log.Info("GOMAXPROCS set in the environment: left as it is; blocking UDP workers run best with one more P than there are workers",
			zap.Int("gomaxprocs", cur), zap.Int("udp_workers", udpWorkers*addrs))
	default:
		runtime.GOMAXPROCS(want)
		log.Info("GOMAXPROCS raised for the blocking UDP workers", zap.Int("from", cur), zap.Int("to", want),
			zap.Int("udp_workers", udpWorkers*addrs))
	}
	return udpWorkers
}

// openTaps returns what every answer is shown to: the dnstap output of
// -dnstap (returned too, for its metrics and its Close) and, at debug level,
// the decision log; nil when neither is on.
func openTaps(f *serveFlags, log *zap.Logger) (server.Tap, *dnstap.Logger, error) {
	var tapped taps
	var dt *dnstap.Logger
	if f.dnstap != "" {
		ver, _, _ := buildInfo()
		var err error
		dt, err = dnstap.Open(f.dnstap, dnstap.Options{Version: "sitedns " + ver, Queue: f.dnstapQueue})
		if err != nil {
			return nil, nil, err
		}
		tapped = append(tapped, dt)
	}
	if log.Core().Enabled(zap.DebugLevel) {
		tapped = append(tapped, decisionLog{log.Named("decision")})
	}
	switch len(tapped) {
	case 0:
		return nil, dt, nil
	case 1:
		return tapped[0], dt, nil
	}
	return tapped, dt, nil
}

// blockingProcs returns the GOMAXPROCS for a process with workers blocking
// UDP readers (-udp-io blocking) that now has cur: at least one P more than
// the workers. A worker asleep in recvmmsg keeps its P in a system call; when
// no P is idle, the runtime's sysmon takes that P away after about 20µs and
// starts a thread to poll the network with it, so every sleep of the worker
// costs two more thread wake-ups (measured: twice the context switches per
// query, and more CPU per query than the poller, with GOMAXPROCS=1 and one
// worker). One idle P spares that and keeps TCP, /metrics and the GC served.
func blockingProcs(cur, workers int) int { return max(cur, workers+1) }
