package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rotation returns the cumulative first-answer counts of n targets, one per
// scrape, when about perScrape answers a scrape (perScrape-2 to
// perScrape+2, varying) go out in strict rotation: at any time the counts
// differ by at most one, the best any server can do, and scrapes fall
// between answers wherever they like.
func rotation(n, perScrape, scrapes int) [][]int {
	out := make([][]int, n)
	answers := 0
	for s := 0; s <= scrapes; s++ {
		for i := range out {
			// Target i was first in answers i, i+n, i+2n, ... below answers.
			out[i] = append(out[i], (answers+n-1-i)/n)
		}
		answers += perScrape - 2 + (s*7)%5
	}
	return out
}

func seriesValues(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, " ")
}

// TestFairnessThresholds evaluates the fairness panels' expressions with
// promtool over 6 minutes of 5 s scrapes, minute by minute from the first
// whole window: a name in strict rotation at a low rate (7 answers a
// scrape over 3 targets, 28 a target a minute: too few, no value) and at a
// modest one (11 a scrape: 44 a target a minute) stays under both red
// thresholds at every step; a windows2000 set, its first record first
// every time, is red at every step.
func TestFairnessThresholds(t *testing.T) {
	tool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (Debian package prometheus)")
		}
		t.Skip("promtool not found (Debian package prometheus)")
	}
	const scrapes = 72 // 6 minutes
	var input []map[string]string
	add := func(name, target string, vs []int) {
		input = append(input, map[string]string{
			"series": fmt.Sprintf(`sitedns_answers_first_total{job="sitedns",instance="a",zone="contoso.lab.",name=%q,scope="default",target=%q,site="unknown"}`, name, target),
			"values": seriesValues(vs),
		})
	}
	targets := []string{"10.1.1.10", "10.2.1.10", "10.3.1.10"}
	for name, per := range map[string]int{"slow.contoso.lab.": 7, "rotating.contoso.lab.": 11} {
		for i, vs := range rotation(3, per, scrapes) {
			add(name, targets[i], vs)
		}
	}
	pinned := make([]int, scrapes+1)
	for s := range pinned {
		pinned[s] = 11 * s
	}
	add("w2k.contoso.lab.", targets[0], pinned)
	add("w2k.contoso.lab.", targets[1], make([]int, scrapes+1))
	add("w2k.contoso.lab.", targets[2], make([]int, scrapes+1))

	expand := strings.NewReplacer("$job", "sitedns", "$instance", ".*", "$zone", ".*", "$name", ".*", "$scope", ".*", "$window", "1m")
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	var tests []exprTest
	for _, f := range []struct {
		expr string
		red  float64
	}{{FairRatioExpr, FairRatioRed}, {FairCVExpr, FairCVRed}} {
		x := "(" + expand.Replace(f.expr) + ")"
		for m := 1; m <= 6; m++ {
			at := fmt.Sprintf("%dm", m)
			// Each name judged apart: rotating green, w2k red, slow not
			// judged.
			tests = append(tests,
				exprTest{Expr: fmt.Sprintf(`count by (name) (%s < %v)`, x, f.red), EvalTime: at, ExpSamples: []sample{{Labels: `{name="rotating.contoso.lab."}`, Value: 1}}},
				exprTest{Expr: fmt.Sprintf(`count by (name) (%s >= %v)`, x, f.red), EvalTime: at, ExpSamples: []sample{{Labels: `{name="w2k.contoso.lab."}`, Value: 1}}},
			)
		}
	}
	file := map[string]any{
		"rule_files":          []string{},
		"evaluation_interval": "5s",
		"tests": []map[string]any{{
			"interval":         "5s",
			"input_series":     input,
			"promql_expr_test": tests,
		}},
	}
	raw, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fairness_test.yml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
