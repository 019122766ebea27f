package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// generation is one good config of the reload tests: the same names, other
// addresses, and a TXT record naming it.
type generation struct {
	name string // the TXT record at version.contoso.lab
	cas  string // last octet of every CAS address
}

var (
	genA = generation{name: "A", cas: "10"}
	genB = generation{name: "B", cas: "11"}
)

// config returns the text of g's config: two sites in scope US, one in DE,
// a plain RRset and a site-aware name.
func (g generation) config() string {
	return fmt.Sprintf(`# reload test config, generation %[1]s
[server]
client_subnet = false

[[site]]
name = "US-California"
subnets = ["127.1.0.0/16"]
scope = "US"

[[site]]
name = "US-Chicago"
subnets = ["127.2.0.0/16"]
scope = "US"

[[site]]
name = "DE-Hamburg"
subnets = ["127.11.0.0/16"]
scope = "DE"

[[zone]]
origin = "contoso.lab"
records = [
  "@ 3600 IN SOA ns1.contoso.lab. hostmaster.contoso.lab. 1 3600 600 86400 300",
  "@ 3600 IN NS ns1.contoso.lab.",
  "ns1 3600 IN A 127.1.1.53",
  "affinityus 300 IN A 127.1.1.%[2]s",
  "affinityus 300 IN A 127.2.1.%[2]s",
  "version 300 IN TXT \"%[1]s\"",
]

[[zone.name]]
name = "autodiscover"
[zone.name.scope.US]
records = ["300 IN A 127.1.1.%[2]s", "300 IN A 127.2.1.%[2]s"]
[zone.name.scope.DE]
records = ["300 IN A 127.11.1.%[2]s"]
[zone.name.default]
records = ["300 IN A 127.200.0.%[2]s"]
`, g.name, g.cas)
}

// brokenConfigs are configs a reload must refuse: a validation error with
// its line, and a TOML syntax error.
var brokenConfigs = []struct{ text, wantErr string }{
	{
		text:    strings.Replace(genA.config(), `"127.2.0.0/16"`, `"127.2.0.0/33"`, 1),
		wantErr: `config.toml:12: site \"US-Chicago\": subnets: \"127.2.0.0/33\"`, // as the JSON log quotes it
	},
	{
		text:    genA.config() + "\n[[zone\n",
		wantErr: `config.toml:41: zone.name.default: expected`,
	},
}

// expected returns the sorted addresses g answers name from src.
func (g generation) expected(name, src string) []string {
	o := g.cas
	var out []string
	switch {
	case name == "affinityus":
		out = []string{"127.1.1." + o, "127.2.1." + o}
	case strings.HasPrefix(src, "127.1.") || strings.HasPrefix(src, "127.2."):
		out = []string{"127.1.1." + o, "127.2.1." + o}
	case strings.HasPrefix(src, "127.11."):
		out = []string{"127.11.1." + o}
	default:
		out = []string{"127.200.0." + o}
	}
	return out
}

// reloadClient queries without pause from a few sources until stop is
// closed, and checks every answer against the two good generations.
type reloadClient struct {
	sent, answered, lost, wrong atomic.Int64
	mu                          sync.Mutex
	wrongs                      []string
}

func (rc *reloadClient) run(t *testing.T, in *instance, src string, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	names := []string{"affinityus", "autodiscover"}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		name := names[i%2]
		rc.sent.Add(1)
		r, err := in.exchange("udp", src, newQuery(name+".contoso.lab", dns.TypeA))
		if err != nil {
			rc.lost.Add(1)
			continue
		}
		rc.answered.Add(1)
		got := addrs(r)
		slices.Sort(got)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative ||
			(!slices.Equal(got, genA.expected(name, src)) && !slices.Equal(got, genB.expected(name, src))) {
			rc.wrong.Add(1)
			rc.mu.Lock()
			if len(rc.wrongs) < 10 {
				rc.wrongs = append(rc.wrongs, fmt.Sprintf("%s from %s: %s %v", name, src, dns.RcodeToString[r.Rcode], got))
			}
			rc.mu.Unlock()
		}
	}
}

// version returns the TXT record at version.contoso.lab: the generation
// being served.
func version(t *testing.T, in *instance) string {
	t.Helper()
	r := in.query(t, "udp", "127.2.1.77", newQuery("version.contoso.lab", dns.TypeTXT))
	if len(r.Answer) != 1 {
		t.Fatalf("version: %v", r)
	}
	return strings.Join(r.Answer[0].(*dns.TXT).Txt, "")
}

// metricValue returns the value of one series of /metrics, -1 when absent.
func metricValue(t *testing.T, in *instance, series string) float64 {
	t.Helper()
	_, body := in.get(t, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// TestReloadUnderLoad: while Go clients query without pause from three
// sites, the config is rewritten and reloaded through POST /-/reload every
// 100ms, alternating a good config, a changed good config and a broken one.
// No query is lost, every answer belongs to one of the two good configs,
// each good reload is served from the next query on, each broken one keeps
// the previous config, is logged with file:line, and is counted in /metrics.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	write := func(text string) {
		// Write beside and rename: the server never reads half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(genA.config())
	in := start(t, "-config", path, "-enable-http-reload")

	rc := &reloadClient{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, src := range []string{"127.2.1.77", "127.11.1.77", "127.9.0.5", "127.1.1.77"} {
		wg.Add(1)
		go rc.run(t, in, src, stop, &wg)
	}

	const rounds = 15 // 45 reloads, 4.5s
	good, failed := 0, 0
	serving := genA.name
	for i := 0; i < rounds; i++ {
		for step := 0; step < 3; step++ {
			time.Sleep(100 * time.Millisecond)
			var want, code int
			switch step {
			case 0:
				write(genB.config())
				serving, want = genB.name, 200
			case 1:
				write(genA.config())
				serving, want = genA.name, 200
			case 2:
				b := brokenConfigs[i%len(brokenConfigs)]
				write(b.text)
				want = 500
			}
			if code = in.reload(t); code != want {
				t.Fatalf("round %d step %d: POST /-/reload: HTTP %d, want %d\n%s", i, step, code, want, in.Log())
			}
			if want == 200 {
				good++
			} else {
				failed++
				if v := metricValue(t, in, "sitedns_config_last_reload_successful"); v != 0 {
					t.Errorf("after a broken reload: last_reload_successful %v, want 0", v)
				}
			}
			if got := version(t, in); got != serving {
				t.Fatalf("round %d step %d: serving generation %s, want %s", i, step, got, serving)
			}
		}
	}
	close(stop)
	wg.Wait()

	success := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`)
	failure := metricValue(t, in, `sitedns_config_reloads_total{result="failure"}`)
	t.Logf("%d reloads (%d good, %d broken) every 100ms under load: queries sent %d, answered %d, lost %d, wrong %d",
		good+failed, good, failed, rc.sent.Load(), rc.answered.Load(), rc.lost.Load(), rc.wrong.Load())
	t.Logf(`/metrics: sitedns_config_reloads_total{result="success"} %v, {result="failure"} %v`, success, failure)
	if rc.lost.Load() != 0 || rc.wrong.Load() != 0 {
		t.Errorf("lost %d, wrong %d; want 0, 0; first wrong answers: %v", rc.lost.Load(), rc.wrong.Load(), rc.wrongs)
	}
	if rc.answered.Load() < 100 {
		t.Errorf("only %d queries answered: no load", rc.answered.Load())
	}
	if success != float64(good) || failure != float64(failed) {
		t.Errorf("reloads counted success %v failure %v, want %d, %d", success, failure, good, failed)
	}
	log := in.Log()
	for _, b := range brokenConfigs {
		if !strings.Contains(log, b.wantErr) {
			t.Errorf("log lacks the error %q", b.wantErr)
		}
	}
	if n := strings.Count(log, "reload failed; still serving the previous config"); n != failed {
		t.Errorf("%d reload failures logged, want %d (one line each)", n, failed)
	}
}

// TestReloadSignalAndWatch: SIGHUP and the file watch reload through the
// same reloader as POST /-/reload: a good change is served, a broken one is
// counted and the previous config keeps serving.
func TestReloadSignalAndWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(genA.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", path, "-watch", "-watch-interval", "50ms")
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s\n%s", what, in.Log())
	}

	// The watch sees a changed file.
	if err := os.WriteFile(path, []byte(genB.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil("the watch to reload generation B", func() bool { return version(t, in) == "B" })

	// A broken file: counted, logged, B still served.
	if err := os.WriteFile(path, []byte(brokenConfigs[0].text), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil("the failed reload to be counted", func() bool {
		return metricValue(t, in, `sitedns_config_reloads_total{result="failure"}`) >= 1
	})
	if v := version(t, in); v != "B" {
		t.Errorf("after a broken config: serving %s, want B", v)
	}
	if v := metricValue(t, in, "sitedns_config_last_reload_successful"); v != 0 {
		t.Errorf("last_reload_successful %v, want 0", v)
	}

	// SIGHUP with the file fixed (the watch may get there first: either
	// way one reloader serves it).
	if err := os.WriteFile(path, []byte(genA.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil("generation A after SIGHUP", func() bool { return version(t, in) == "A" })
	waitUntil("last_reload_successful 1", func() bool {
		return metricValue(t, in, "sitedns_config_last_reload_successful") == 1
	})
	if !strings.Contains(in.Log(), brokenConfigs[0].wantErr) {
		t.Errorf("the broken config's error with file:line is not in the log:\n%s", in.Log())
	}
}
