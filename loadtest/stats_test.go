package loadtest

import (
	"math"
	"testing"
	"time"
)

// Closed forms of the chi-square survival function for small df.
func sf1(x float64) float64 { return math.Erfc(math.Sqrt(x / 2)) }
func sf2(x float64) float64 { return math.Exp(-x / 2) }
func sf3(x float64) float64 {
	return math.Erfc(math.Sqrt(x/2)) + math.Sqrt(2*x/math.Pi)*math.Exp(-x/2)
}
func sf4(x float64) float64 { return math.Exp(-x/2) * (1 + x/2) }

func TestChiSquarePValueClosedForms(t *testing.T) {
	forms := []struct {
		df int
		f  func(float64) float64
	}{{1, sf1}, {2, sf2}, {3, sf3}, {4, sf4}}
	for _, form := range forms {
		for _, x := range []float64{1e-6, 0.01, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 5, 10, 20, 50, 100, 300, 700} {
			got := ChiSquarePValue(x, form.df)
			want := form.f(x)
			if !approx(got, want, 1e-12) {
				t.Errorf("ChiSquarePValue(%v, %d) = %.17g, want %.17g", x, form.df, got, want)
			}
		}
	}
}

// approx reports whether a and b agree to rel relative error (or both are 0).
func approx(a, b, rel float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

func TestChiSquarePValueCriticalValues(t *testing.T) {
	// Upper-tail critical values from standard tables (NIST/SEMATECH e-Handbook
	// 1.3.6.7.4, to the digits given there and beyond from R's qchisq).
	cases := []struct {
		x  float64
		df int
		p  float64
	}{
		{3.841458820694124, 1, 0.05},
		{6.634896601021214, 1, 0.01},
		{10.827566170662733, 1, 0.001},
		{5.991464547107979, 2, 0.05},
		{11.070497693516351, 5, 0.05},
		{15.086272469388990, 5, 0.01},
		{18.307038053275146, 10, 0.05},
		{23.209251158954356, 10, 0.01},
		{43.772971825742189, 30, 0.05},
		{124.34211340400407, 100, 0.05},
		{135.80672317102676, 100, 0.01},
		{0.10258658877510107, 2, 0.95},
		{3.9402991361190600, 10, 0.95},
	}
	for _, c := range cases {
		if got := ChiSquarePValue(c.x, c.df); !approx(got, c.p, 1e-9) {
			t.Errorf("ChiSquarePValue(%v, %d) = %.12g, want %v", c.x, c.df, got, c.p)
		}
	}
}

func TestChiSquarePValueEdges(t *testing.T) {
	cases := []struct {
		name string
		x    float64
		df   int
		want float64 // NaN for NaN
	}{
		{"zero statistic", 0, 3, 1},
		{"df 0 at zero", 0, 0, 1},
		{"df 0 above zero", 0.5, 0, 0},
		{"infinite statistic", math.Inf(1), 2, 0},
		{"negative statistic", -1, 2, math.NaN()},
		{"negative df", 1, -1, math.NaN()},
		{"NaN statistic", math.NaN(), 2, math.NaN()},
	}
	for _, c := range cases {
		got := ChiSquarePValue(c.x, c.df)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(c.want) && got != c.want) {
			t.Errorf("%s: ChiSquarePValue(%v, %d) = %v, want %v", c.name, c.x, c.df, got, c.want)
		}
	}
	// Monotone and within [0, 1] over a wide range, across the series /
	// continued-fraction switch at x/2 = df/2+1.
	for df := 1; df <= 200; df += 7 {
		prev := 1.0
		for x := 0.0; x < 600; x += 0.37 {
			p := ChiSquarePValue(x, df)
			if p < 0 || p > 1 || p > prev+1e-12 {
				t.Fatalf("df %d x %v: p = %v after %v", df, x, p, prev)
			}
			prev = p
		}
	}
}

func TestChiSquare(t *testing.T) {
	cases := []struct {
		name     string
		observed []float64
		expected []float64
		stat     float64
		df       int
	}{
		{"exact fit", []float64{10, 10, 10}, []float64{10, 10, 10}, 0, 2},
		{"textbook", []float64{44, 56}, []float64{50, 50}, 1.44, 1},
		{"fixed order", []float64{30, 0, 0}, []float64{10, 10, 10}, 60, 2},
		{"unexpected category", []float64{9, 1}, []float64{10, 0}, math.Inf(1), 0},
		{"zero expected ignored", []float64{5, 5, 0}, []float64{5, 5, 0}, 0, 1},
	}
	for _, c := range cases {
		stat, df := ChiSquare(c.observed, c.expected)
		if !approx(stat, c.stat, 1e-12) || df != c.df {
			t.Errorf("%s: ChiSquare = %v, %d; want %v, %d", c.name, stat, df, c.stat, c.df)
		}
	}
}

func TestMaxMinRatio(t *testing.T) {
	cases := []struct {
		name    string
		counts  []float64
		weights []float64
		want    float64
	}{
		{"even", []float64{10, 10, 10}, []float64{1, 1, 1}, 1},
		{"uneven", []float64{20, 10, 15}, []float64{1, 1, 1}, 2},
		{"weighted even", []float64{20, 10}, []float64{2, 1}, 1},
		{"never first", []float64{30, 0, 0}, []float64{1, 1, 1}, math.Inf(1)},
		{"zero weight never first: skipped", []float64{10, 10, 0}, []float64{1, 1, 0}, 1},
		{"zero weight first: as uneven as it gets", []float64{10, 10, 99}, []float64{1, 1, 0}, math.Inf(1)},
		{"nothing", []float64{0, 0}, []float64{1, 1}, math.NaN()},
	}
	for _, c := range cases {
		got := MaxMinRatio(c.counts, c.weights)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(c.want) && got != c.want) {
			t.Errorf("%s: MaxMinRatio = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := latencyOf(d)
	if l.P50 != 500*time.Millisecond || l.P99 != 990*time.Millisecond || l.P999 != 999*time.Millisecond || l.Max != time.Second {
		t.Errorf("latencyOf(1..1000ms) = %+v", l)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("quantile(nil) = %v", q)
	}
	if q := quantile([]time.Duration{7}, 0.999); q != 7 {
		t.Errorf("quantile([7], 0.999) = %v", q)
	}
}

func BenchmarkChiSquarePValue(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ChiSquarePValue(135.8, 100)
	}
}
