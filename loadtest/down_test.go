package loadtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestDownAnswers: each group counts the answers holding a target the run
// was told is down, by address or SRV target name; without -down the count
// is -1 and the text report has no such section.
func TestDownAnswers(t *testing.T) {
	cases := []struct {
		name string
		down []string
		want [2]int // US-Chicago, US-Other
		err  string
	}{
		{"none given", nil, [2]int{-1, -1}, ""},
		{"one CAS", []string{"127.2.1.10"}, [2]int{1, 2}, ""},
		{"a pool name", []string{"Pool02.contoso.lab"}, [2]int{0, 1}, ""},
		{"bad", []string{"127.2.1.10:443"}, [2]int{}, `down target "127.2.1.10:443"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig([]Client{remote, local}, nil, true)
			cfg.Down = c.down
			if err := cfg.Validate(); err != nil {
				if c.err == "" || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if c.err != "" {
				t.Fatalf("Validate accepted %v", c.down)
			}
			a := NewAnalysis(cfg)
			name := "affinityus.contoso.lab."
			a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Answered, Targets: []string{"127.1.1.10", "127.3.1.10"}})
			a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Answered, Targets: []string{"127.3.1.10", "127.2.1.10"}})
			a.Add(Sample{Client: 0, Name: name, Type: "A", Outcome: Answered, Targets: []string{"127.2.1.10"}})
			a.Add(Sample{Client: 0, Name: name, Type: "SRV", Outcome: Answered, Targets: []string{"pool02.contoso.lab."}})
			a.Add(Sample{Client: 1, Name: name, Type: "A", Outcome: Answered, Targets: []string{"127.2.1.10", "127.1.1.10"}})
			r := a.Report(time.Now(), time.Second)
			got := map[string]int{}
			for _, g := range r.Groups {
				got[g.Site] += g.DownAnswers
			}
			if c.down == nil {
				got = map[string]int{"US-Chicago": r.Groups[0].DownAnswers, "US-Other": r.Groups[len(r.Groups)-1].DownAnswers}
			}
			if got["US-Chicago"] != c.want[0] || got["US-Other"] != c.want[1] {
				t.Errorf("down answers %v, want US-Chicago %d, US-Other %d", got, c.want[0], c.want[1])
			}
			var b bytes.Buffer
			if err := WriteText(&b, r); err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(b.String(), "answers holding a target told down"); has != (c.down != nil) {
				t.Errorf("text report: down section %v with down %v:\n%s", has, c.down, b.String())
			}
		})
	}
}
