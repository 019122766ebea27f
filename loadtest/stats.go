package loadtest

import (
	"math"
	"slices"
	"time"
)

// ChiSquare returns Pearson's goodness-of-fit statistic Σ (o−e)²/e for the
// observed counts against the expected counts, and its degrees of freedom:
// the number of categories with a positive expectation, less one. A category
// expected never (e = 0) but observed (o > 0) makes the statistic +Inf: the
// sample cannot come from the expected distribution. Categories with e = 0
// and o = 0 are ignored. The slices must have the same length.
func ChiSquare(observed []float64, expected []float64) (stat float64, df int) {
	k := 0
	for i, e := range expected {
		o := observed[i]
		switch {
		case e > 0:
			k++
			d := o - e
			stat += d * d / e
		case o > 0:
			stat = math.Inf(1)
		}
	}
	if k == 0 {
		return stat, 0
	}
	return stat, k - 1
}

// ChiSquarePValue returns the probability that a chi-square variable with df
// degrees of freedom is at least x: the p-value of the statistic x. It is the
// regularized upper incomplete gamma function Q(df/2, x/2). With df = 0 the
// distribution is a point mass at 0: the p-value is 1 for x = 0 and 0 above.
// It returns NaN for a negative df or x, or a NaN x.
func ChiSquarePValue(x float64, df int) float64 {
	switch {
	case df < 0 || math.IsNaN(x) || x < 0:
		return math.NaN()
	case math.IsInf(x, 1):
		return 0
	case df == 0:
		if x == 0 {
			return 1
		}
		return 0
	}
	return gammaQ(float64(df)/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a) for a > 0, x ≥ 0. Below x = a+1 the series for P
// converges fast and Q = 1−P; above it the continued fraction for Q does,
// and computing Q directly keeps the precision of small tail probabilities
// (Numerical Recipes §6.2; Press et al.).
func gammaQ(a, x float64) float64 {
	if x == 0 {
		return 1
	}
	if x < a+1 {
		return 1 - gammaPSeries(a, x)
	}
	return gammaQFraction(a, x)
}

const (
	gammaEps      = 1e-15
	gammaMaxIter  = 10000
	gammaTinyFrac = 1e-300
)

// gammaPSeries is P(a, x) by its series: e^−x x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n)).
func gammaPSeries(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	ap := a
	term := 1 / a
	sum := term
	for range gammaMaxIter {
		ap++
		term *= x / ap
		sum += term
		if math.Abs(term) < math.Abs(sum)*gammaEps {
			break
		}
	}
	return sum * math.Exp(-x+a*math.Log(x)-lg)
}

// gammaQFraction is Q(a, x) by its continued fraction, evaluated with the
// modified Lentz method.
func gammaQFraction(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	b := x + 1 - a
	c := 1 / gammaTinyFrac
	d := 1 / b
	h := d
	for i := 1; i <= gammaMaxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < gammaTinyFrac {
			d = gammaTinyFrac
		}
		c = b + an/c
		if math.Abs(c) < gammaTinyFrac {
			c = gammaTinyFrac
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < gammaEps {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// MaxMinRatio returns the largest over the smallest of the counts, each
// divided by its weight (its expected share). It is +Inf when a weighted
// category has count 0, or when a category of weight 0 (a target that should
// never come first) has a count: either way the spread is as uneven as it
// gets. It is NaN when there is no weighted category or all counts are 0.
func MaxMinRatio(counts []float64, weights []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	any, stray := false, false
	for i, c := range counts {
		w := weights[i]
		if w <= 0 {
			stray = stray || c > 0
			continue
		}
		any = true
		v := c / w
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if !any || hi == 0 {
		return math.NaN()
	}
	if lo == 0 || stray {
		return math.Inf(1)
	}
	return hi / lo
}

// quantile returns the q-quantile (0 < q ≤ 1) of sorted by the nearest-rank
// method: the smallest value with at least q of the sample at or below it.
// It returns 0 for an empty sample.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latency holds the latency quantiles of a set of answered queries.
type Latency struct {
	P50  time.Duration
	P99  time.Duration
	P999 time.Duration
	Max  time.Duration
}

// latencyOf sorts d in place and returns its quantiles.
func latencyOf(d []time.Duration) Latency {
	slices.Sort(d)
	l := Latency{P50: quantile(d, 0.50), P99: quantile(d, 0.99), P999: quantile(d, 0.999)}
	if len(d) > 0 {
		l.Max = d[len(d)-1]
	}
	return l
}
