package ml

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDetect measures each method on a series of ML_MAX_SERIES's
// default length (100 000 values).
func BenchmarkDetect(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	series := make([]float64, 100_000)
	for i := range series {
		series[i] = r.NormFloat64()*5 + 100
	}
	series[500] = 1000
	for _, m := range []Method{MethodMAD, MethodZScore, MethodIQR} {
		b.Run(string(m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Detect(series, m, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKSTest measures the KS test on two windows of 1000 samples.
func BenchmarkKSTest(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, 1000), make([]float64, 1000)
	for i := range x {
		x[i], y[i] = r.ExpFloat64()*20, r.ExpFloat64()*22
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := KSTest(x, y); err != nil {
			b.Fatal(err)
		}
	}
}
