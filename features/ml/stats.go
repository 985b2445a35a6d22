package ml

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Method is an outlier detection method of /api/v2/ml/detect.
type Method string

// The methods and their default thresholds.
const (
	MethodMAD    Method = "mad"    // modified z-score 0.6745*(x-median)/MAD > 3.5 (Iglewicz and Hoaglin)
	MethodZScore Method = "zscore" // |x-mean|/sd > 3
	MethodIQR    Method = "iqr"    // beyond Tukey's fences: Q1-k*IQR, Q3+k*IQR with k = 1.5
)

// madConsistency turns a MAD into a standard-deviation estimate for normal
// data (1/1.4826 = 0.6745); meanADConsistency does the same for the mean
// absolute deviation (sqrt(pi/2) = 1.2533), used when the MAD is zero.
const (
	madConsistency    = 0.6745
	meanADConsistency = 1.253314
)

// DefaultThreshold returns the conventional threshold of a method.
func DefaultThreshold(m Method) float64 {
	switch m {
	case MethodZScore:
		return 3
	case MethodIQR:
		return 1.5
	default:
		return 3.5
	}
}

// MinLength is the shortest series a method accepts.
func MinLength(m Method) int {
	if m == MethodIQR {
		return 4
	}
	return 3
}

// Outlier is one flagged point. Score is nil only for IQR when the
// interquartile range is zero (every value off the quartile is an outlier,
// at no finite distance in IQR units).
type Outlier struct {
	Index int      `json:"index"`
	Value float64  `json:"value"`
	Score *float64 `json:"score"`
}

// Detection is the result of one method over a series.
type Detection struct {
	Method    Method             `json:"method"`
	Threshold float64            `json:"threshold"`
	N         int                `json:"n"`
	Indices   []int              `json:"indices"`
	Outliers  []Outlier          `json:"outliers"`
	Stats     map[string]float64 `json:"stats"`
}

// Detect flags the outliers of series with method m; threshold <= 0 means
// the method's default. The series must be finite and at least MinLength
// long.
func Detect(series []float64, m Method, threshold float64) (Detection, error) {
	if threshold <= 0 {
		threshold = DefaultThreshold(m)
	}
	if len(series) < MinLength(m) {
		return Detection{}, fmt.Errorf("method %s needs at least %d values, got %d", m, MinLength(m), len(series))
	}
	for i, x := range series {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Detection{}, fmt.Errorf("series[%d] is not a finite number", i)
		}
	}
	d := Detection{Method: m, Threshold: threshold, N: len(series), Indices: []int{}, Outliers: []Outlier{}}
	var scores []float64
	switch m {
	case MethodMAD:
		sc, st := robustScores(series)
		scores, d.Stats = sc, st
		for i, s := range scores {
			if math.Abs(s) > threshold {
				d.add(i, series[i], s)
			}
		}
	case MethodZScore:
		mean, sd := stat.MeanStdDev(series, nil)
		d.Stats = map[string]float64{"mean": mean, "sd": sd}
		if sd == 0 {
			break // a constant series has no outliers
		}
		for i, x := range series {
			if s := (x - mean) / sd; math.Abs(s) > threshold {
				d.add(i, x, s)
			}
		}
	case MethodIQR:
		sorted := sortedCopy(series)
		q1, q3 := quantile7(sorted, 0.25), quantile7(sorted, 0.75)
		iqr := q3 - q1
		lo, hi := q1-threshold*iqr, q3+threshold*iqr
		d.Stats = map[string]float64{"q1": q1, "q3": q3, "iqr": iqr, "lower_fence": lo, "upper_fence": hi}
		for i, x := range series {
			if x >= lo && x <= hi {
				continue
			}
			if iqr == 0 {
				d.Indices = append(d.Indices, i)
				d.Outliers = append(d.Outliers, Outlier{Index: i, Value: x})
				continue
			}
			// distance from the box (not the fence) in IQR units: > k means outside
			s := (x - q3) / iqr
			if x < lo {
				s = (q1 - x) / iqr
			}
			d.add(i, x, s)
		}
	default:
		return Detection{}, fmt.Errorf("unknown method %q (want mad, zscore or iqr)", m)
	}
	return d, nil
}

func (d *Detection) add(i int, x, s float64) {
	d.Indices = append(d.Indices, i)
	d.Outliers = append(d.Outliers, Outlier{Index: i, Value: x, Score: &s})
}

// robustScores returns the modified z-score of each value,
// 0.6745*(x-median)/MAD. When the MAD is zero (more than half the values
// equal) the mean absolute deviation scaled by 1.2533 stands in for it; when
// that is zero too every value equals the median and every score is 0.
func robustScores(series []float64) ([]float64, map[string]float64) {
	med, mad := MedianMAD(series)
	out := make([]float64, len(series))
	st := map[string]float64{"median": med, "mad": mad}
	if mad > 0 {
		for i, x := range series {
			out[i] = madConsistency * (x - med) / mad
		}
		return out, st
	}
	meanAD := 0.0
	for _, x := range series {
		meanAD += math.Abs(x - med)
	}
	meanAD /= float64(len(series))
	st["mean_abs_dev"] = meanAD
	if meanAD == 0 {
		return out, st
	}
	for i, x := range series {
		out[i] = (x - med) / (meanADConsistency * meanAD)
	}
	return out, st
}

// MADScores returns the robust z-score of each value: 0.6745*(x-median)/MAD.
// It fails for fewer than 3 values or a zero MAD, where the score is undefined.
func MADScores(series []float64) ([]float64, error) {
	if len(series) < 3 {
		return nil, errors.New("need at least 3 values")
	}
	med, mad := MedianMAD(series)
	if mad == 0 {
		return nil, errors.New("median absolute deviation is zero")
	}
	out := make([]float64, len(series))
	for i, x := range series {
		out[i] = madConsistency * (x - med) / mad
	}
	return out, nil
}

// MedianMAD returns the median and the median absolute deviation (both the
// mean of the two middle values for an even count).
func MedianMAD(xs []float64) (median, mad float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	sorted := sortedCopy(xs)
	median = quantile7(sorted, 0.5)
	dev := make([]float64, len(sorted))
	for i, x := range sorted {
		dev[i] = math.Abs(x - median)
	}
	slices.Sort(dev)
	return median, quantile7(dev, 0.5)
}

// quantile7 is the sample quantile of sorted data by linear interpolation
// between order statistics at h = (n-1)p: R's type 7, numpy's default and
// Excel's QUARTILE.INC. (gonum's LinInterp is type 4, whose median of an even
// count is not the mean of the middle values.)
func quantile7(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func sortedCopy(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}

// KSResult is a two-sample Kolmogorov-Smirnov test.
type KSResult struct {
	D      float64 `json:"d"`
	PValue float64 `json:"p_value"`
	N      int     `json:"n"`
	M      int     `json:"m"`
}

// KSTest compares two samples: D is the largest distance between their
// empirical CDFs (gonum's stat.KolmogorovSmirnov), and the p-value is the
// asymptotic Kolmogorov distribution Q(lambda) = 2*sum_{k>=1} (-1)^(k-1)
// exp(-2 k^2 lambda^2) with lambda = (sqrt(ne) + 0.12 + 0.11/sqrt(ne)) * D
// and ne = n*m/(n+m) (Stephens' correction, as in Numerical Recipes).
func KSTest(a, b []float64) (KSResult, error) {
	if len(a) == 0 || len(b) == 0 {
		return KSResult{}, errors.New("both samples must be non-empty")
	}
	x, y := sortedCopy(a), sortedCopy(b)
	d := stat.KolmogorovSmirnov(x, nil, y, nil)
	n, m := float64(len(x)), float64(len(y))
	ne := math.Sqrt(n * m / (n + m))
	return KSResult{D: d, PValue: kolmogorovQ((ne + 0.12 + 0.11/ne) * d), N: len(x), M: len(y)}, nil
}

// kolmogorovQ is the survival function of the Kolmogorov distribution.
func kolmogorovQ(lambda float64) float64 {
	if lambda < 1e-3 {
		return 1
	}
	sum, sign := 0.0, 1.0
	for k := 1; k <= 100; k++ {
		term := sign * math.Exp(-2*float64(k*k)*lambda*lambda)
		sum += term
		if math.Abs(term) < 1e-12*math.Abs(sum) || math.Abs(term) < 1e-300 {
			return clamp01(2 * sum)
		}
		sign = -sign
	}
	return 1 // the series did not converge: lambda is tiny, the samples agree
}

func clamp01(x float64) float64 {
	return math.Max(0, math.Min(1, x))
}
