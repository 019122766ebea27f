// Command verify queries a DNS server without pause and checks every answer
// against a list of allowed answer sets, for the soak test (deploy/soak/run):
// while the config is reloaded under load, each answer must come whole from
// one of the configs, never lost, never mixed.
//
// Each line of the rules file is
//
//	NAME QTYPE SOURCE SET
//
// where SET is the answer's A/AAAA addresses or TXT strings, sorted and
// joined by commas; several lines for one NAME QTYPE SOURCE list the sets
// allowed (one per config). One goroutine per SOURCE queries its names in
// turn, from that source address, until -duration has passed.
//
//	verify -server 127.0.0.1:5300 -rules rules.txt -duration 60s
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

type rule struct {
	name    string
	qtype   uint16
	allowed map[string]bool
}

func main() {
	server := flag.String("server", "127.0.0.1:5300", "DNS server host:port")
	rulesPath := flag.String("rules", "", "rules file (NAME QTYPE SOURCE SET per line)")
	duration := flag.Duration("duration", 10*time.Second, "how long to query")
	timeout := flag.Duration("timeout", 2*time.Second, "per-query timeout")
	flag.Parse()
	bySrc, err := readRules(*rulesPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(2)
	}
	var sent, answered, timeouts, wrong atomic.Int64
	var mu sync.Mutex
	var examples []string
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for src, rules := range bySrc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: *timeout,
				Dialer: &net.Dialer{Timeout: *timeout, LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
			for i := 0; time.Now().Before(deadline); i++ {
				r := rules[i%len(rules)]
				m := new(dns.Msg)
				m.SetQuestion(r.name, r.qtype)
				sent.Add(1)
				resp, _, err := c.Exchange(m, *server)
				if err != nil {
					timeouts.Add(1)
					continue
				}
				answered.Add(1)
				got := answerSet(resp)
				if resp.Rcode != dns.RcodeSuccess || !resp.Authoritative || !r.allowed[got] {
					wrong.Add(1)
					mu.Lock()
					if len(examples) < 5 {
						examples = append(examples, fmt.Sprintf("%s %s from %s: %s [%s]",
							r.name, dns.TypeToString[r.qtype], src, dns.RcodeToString[resp.Rcode], got))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("verify: queries sent %d, answered %d, timeouts %d, wrong answers %d\n",
		sent.Load(), answered.Load(), timeouts.Load(), wrong.Load())
	for _, e := range examples {
		fmt.Println("verify: wrong:", e)
	}
	if timeouts.Load() > 0 || wrong.Load() > 0 || answered.Load() == 0 {
		os.Exit(1)
	}
}

// answerSet is the answer section's addresses or TXT strings, sorted and
// joined by commas.
func answerSet(m *dns.Msg) string {
	var vs []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			vs = append(vs, v.A.String())
		case *dns.AAAA:
			vs = append(vs, v.AAAA.String())
		case *dns.TXT:
			vs = append(vs, strings.Join(v.Txt, ""))
		default:
			vs = append(vs, rr.String())
		}
	}
	slices.Sort(vs)
	return strings.Join(vs, ",")
}

func readRules(path string) (map[string][]*rule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bySrc := map[string][]*rule{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			return nil, fmt.Errorf("%s:%d: want NAME QTYPE SOURCE SET", path, n)
		}
		qt, ok := dns.StringToType[strings.ToUpper(fs[1])]
		if !ok {
			return nil, fmt.Errorf("%s:%d: qtype %q", path, n, fs[1])
		}
		if net.ParseIP(fs[2]) == nil {
			return nil, fmt.Errorf("%s:%d: source %q", path, n, fs[2])
		}
		name := dns.Fqdn(fs[0])
		var r *rule
		for _, x := range bySrc[fs[2]] {
			if x.name == name && x.qtype == qt {
				r = x
			}
		}
		if r == nil {
			r = &rule{name: name, qtype: qt, allowed: map[string]bool{}}
			bySrc[fs[2]] = append(bySrc[fs[2]], r)
		}
		r.allowed[fs[3]] = true
	}
	if len(bySrc) == 0 {
		return nil, fmt.Errorf("%s: no rules", path)
	}
	return bySrc, sc.Err()
}
