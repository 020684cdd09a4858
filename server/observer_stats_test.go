//go:build cgo && linux

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// features is what the observer's classifier reads of one trace: for the
// reads and for the TLS records alike, the count, the bytes, the time to
// the first one, the duration, the gaps (mean, deviation, largest) and
// the sizes (mean, largest); and each gap between records in its place.
// Times and amounts are taken as logarithms.
func features(tr trace) []float64 {
	var out []float64
	for _, ss := range [][]sighting{tr.reads, tr.records} {
		out = append(out, seriesFeatures(ss)...)
	}
	return append(out, positionFeatures(tr.records)...)
}

// positionFeatures are the first positionGaps gaps between TLS records,
// each in its place (ms, as logarithms): the summary features above
// cannot see where in a stream a frame was late, these can (a final frame
// held 2 ms goes unseen by the summaries and is found by these).
func positionFeatures(ss []sighting) []float64 {
	out := make([]float64, positionGaps)
	for i := range out {
		if i+1 < len(ss) {
			out[i] = math.Log1p(math.Max(float64((ss[i+1].at-ss[i].at).Microseconds())/1000, 0))
		}
	}
	return out
}

// featureNames names features' columns, for the test's log.
func featureNames() []string {
	var out []string
	for _, series := range []string{"read", "record"} {
		for _, f := range []string{"count", "bytes", "first", "duration", "gap-mean", "gap-sd", "gap-max", "size-mean", "size-max"} {
			out = append(out, series+" "+f)
		}
	}
	for i := range positionGaps {
		out = append(out, fmt.Sprintf("gap %d", i))
	}
	return out
}

// telling lists the n features that alone tell the classes apart best,
// with their AUC and each class's median (ms for times, bytes, counts):
// the test's log says where a residual lies.
func telling(x [][]float64, y []int, n int) string {
	names := featureNames()
	type f struct {
		name   string
		auc    float64
		m0, m1 float64
	}
	var fs []f
	for j := range x[0] {
		col := make([]float64, len(x))
		for i := range x {
			col[i] = x[i][j]
		}
		var c0, c1 []float64
		for i, v := range col {
			if y[i] == 0 {
				c0 = append(c0, v)
			} else {
				c1 = append(c1, v)
			}
		}
		fs = append(fs, f{names[j], auc(col, y), math.Expm1(median(c0)), math.Expm1(median(c1))})
	}
	sort.Slice(fs, func(a, b int) bool { return math.Abs(fs[a].auc-0.5) > math.Abs(fs[b].auc-0.5) })
	var b strings.Builder
	for _, v := range fs[:min(n, len(fs))] {
		fmt.Fprintf(&b, "%s %.3f (%.3f, %.3f); ", v.name, v.auc, v.m0, v.m1)
	}
	return b.String()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// positionGaps covers the smallest bucket's 16 frames and the stream's end.
const positionGaps = 18

func seriesFeatures(ss []sighting) []float64 {
	if len(ss) == 0 {
		return make([]float64, 9)
	}
	ms := func(i int) float64 { return float64(ss[i].at.Microseconds()) / 1000 }
	var bytes, maxN, sumGap, sumGap2, maxGap float64
	for i, s := range ss {
		bytes += float64(s.n)
		maxN = math.Max(maxN, float64(s.n))
		if i > 0 {
			g := ms(i) - ms(i-1)
			sumGap += g
			sumGap2 += g * g
			maxGap = math.Max(maxGap, g)
		}
	}
	n := float64(len(ss))
	meanGap := sumGap / math.Max(n-1, 1)
	sdGap := math.Sqrt(math.Max(sumGap2/math.Max(n-1, 1)-meanGap*meanGap, 0))
	lg := func(v float64) float64 { return math.Log1p(math.Max(v, 0)) }
	return []float64{lg(n), lg(bytes), lg(ms(0)), lg(ms(len(ss)-1) - ms(0)),
		lg(meanGap), lg(sdGap), lg(maxGap), lg(bytes / n), lg(maxN)}
}

// cvAUC is the ROC AUC of a logistic regression told class 1 from class 0,
// scored out of fold: k-fold cross-validation, repeated reps times with
// seeded shuffles, the AUCs averaged.
func cvAUC(x [][]float64, y []int, k, reps int, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	total := 0.0
	for range reps {
		idx := r.Perm(len(x))
		score := make([]float64, len(x))
		for f := range k {
			var trainX [][]float64
			var trainY []int
			for j, i := range idx {
				if j%k != f {
					trainX, trainY = append(trainX, x[i]), append(trainY, y[i])
				}
			}
			m := fitLogistic(trainX, trainY)
			for j, i := range idx {
				if j%k == f {
					score[i] = m.predict(x[i])
				}
			}
		}
		total += auc(score, y)
	}
	return total / float64(reps)
}

// logistic is a logistic regression on standardized features.
type logistic struct {
	mean, sd, w []float64
	b           float64
}

// fitLogistic fits by gradient descent with an L2 penalty (0.1 on
// standardized features: the unshaped leak is large, and a weaker penalty
// only fits the noise of shaped streams).
func fitLogistic(x [][]float64, y []int) logistic {
	d := len(x[0])
	m := logistic{mean: make([]float64, d), sd: make([]float64, d), w: make([]float64, d)}
	for j := range d {
		for _, row := range x {
			m.mean[j] += row[j] / float64(len(x))
		}
		for _, row := range x {
			m.sd[j] += (row[j] - m.mean[j]) * (row[j] - m.mean[j]) / float64(len(x))
		}
		m.sd[j] = math.Sqrt(m.sd[j])
	}
	z := make([][]float64, len(x))
	for i, row := range x {
		z[i] = m.standardize(row)
	}
	for range 2000 {
		gw, gb := make([]float64, d), 0.0
		for i, row := range z {
			e := m.raw(row) - float64(y[i])
			for j := range d {
				gw[j] += e * row[j] / float64(len(z))
			}
			gb += e / float64(len(z))
		}
		for j := range d {
			m.w[j] -= 0.3 * (gw[j] + 0.1*m.w[j])
		}
		m.b -= 0.3 * gb
	}
	return m
}

func (m logistic) standardize(row []float64) []float64 {
	z := make([]float64, len(row))
	for j, v := range row {
		if m.sd[j] > 1e-12 {
			z[j] = (v - m.mean[j]) / m.sd[j]
		}
	}
	return z
}

func (m logistic) raw(z []float64) float64 {
	s := m.b
	for j, v := range z {
		s += m.w[j] * v
	}
	return 1 / (1 + math.Exp(-s))
}

func (m logistic) predict(row []float64) float64 { return m.raw(m.standardize(row)) }

// auc is the probability that a class-1 sample scores above a class-0
// one, ties counting half (Mann-Whitney).
func auc(score []float64, y []int) float64 {
	type p struct {
		s float64
		y int
	}
	ps := make([]p, len(score))
	for i := range score {
		ps[i] = p{score[i], y[i]}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].s < ps[j].s })
	var rankSum, n1 float64
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].s == ps[i].s {
			j++
		}
		rank := float64(i+j+1) / 2 // average rank, 1-based
		for k := i; k < j; k++ {
			if ps[k].y == 1 {
				rankSum += rank
				n1++
			}
		}
		i = j
	}
	n0 := float64(len(ps)) - n1
	return (rankSum - n1*(n1+1)/2) / (n1 * n0)
}
