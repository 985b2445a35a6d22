package ml

import (
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestDetectPlantedOutliers(t *testing.T) {
	zeros19 := append(make([]float64, 19), 10)
	for _, tc := range []struct {
		name    string
		series  []float64
		method  Method
		indices []int
		scores  []float64 // hand-computed, one per flagged index
	}{
		// median 10; |x-10| sorted 0,0,0,0,0,1,1,1,1,2,85 -> MAD 1; 0.6745*85/1
		{"mad", []float64{10, 11, 9, 10, 12, 10, 95, 11, 10, 9, 10}, MethodMAD, []int{6}, []float64{57.3325}},
		// 19 zeros and a 10: MAD is 0, so the mean absolute deviation 10/20 = 0.5
		// stands in: 10/(1.253314*0.5) = 15.9577
		{"mad-zero-mad", zeros19, MethodMAD, []int{19}, []float64{15.9577}},
		// mean 0.5, sample variance (19*0.25+90.25)/19 = 5: z = 9.5/sqrt(5) = 4.2485
		{"zscore", zeros19, MethodZScore, []int{19}, []float64{4.2485}},
		// 9 zeros and a 10: z = 9/sqrt(10) = 2.846 < 3 (the most a z-score can
		// reach with n = 10 is (n-1)/sqrt(n)): the z-score is masked...
		{"zscore-masked", append(make([]float64, 9), 10), MethodZScore, []int{}, nil},
		// ...and the robust score is not (MAD 0 -> mean abs dev 1: 10/1.253314 = 7.9788)
		{"mad-unmasked", append(make([]float64, 9), 10), MethodMAD, []int{9}, []float64{7.9788}},
		// sorted -20,1..9,100: Q1 (h=2.5) 2.5, Q3 (h=7.5) 7.5, IQR 5, fences -5 and 15;
		// scores in IQRs from the box: (2.5+20)/5 = 4.5 and (100-7.5)/5 = 18.5
		{"iqr", []float64{-20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, MethodIQR, []int{0, 10}, []float64{4.5, 18.5}},
		{"iqr-clean", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, MethodIQR, []int{}, nil},
		{"constant", []float64{4, 4, 4, 4}, MethodZScore, []int{}, nil},
		{"constant-mad", []float64{4, 4, 4, 4}, MethodMAD, []int{}, nil},
	} {
		d, err := Detect(tc.series, tc.method, 0)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(d.Indices, tc.indices) {
			t.Errorf("%s: indices %v, want %v (stats %v)", tc.name, d.Indices, tc.indices, d.Stats)
			continue
		}
		for i, o := range d.Outliers {
			if o.Score == nil || !near(*o.Score, tc.scores[i], 1e-3) || o.Value != tc.series[o.Index] {
				t.Errorf("%s: outlier %d = %+v, want score %g", tc.name, i, o, tc.scores[i])
			}
		}
	}
}

func TestIQRStatsAndZeroIQR(t *testing.T) {
	d, err := Detect([]float64{-20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, MethodIQR, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"q1": 2.5, "q3": 7.5, "iqr": 5, "lower_fence": -5, "upper_fence": 15}
	for k, v := range want {
		if d.Stats[k] != v {
			t.Errorf("%s = %g, want %g", k, d.Stats[k], v)
		}
	}
	// A wider threshold (k = 4) keeps -20 (4.5 IQRs out) but not 100 (18.5).
	if d, _ := Detect([]float64{-20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, MethodIQR, 4.6); !slices.Equal(d.Indices, []int{10}) {
		t.Errorf("k=4.6: %v", d.Indices)
	}
	// Q1 = Q3 = 5: every value off 5 is an outlier, with no finite score.
	d, err = Detect([]float64{5, 5, 5, 5, 5, 5, 100, 4}, MethodIQR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Indices, []int{6, 7}) || d.Outliers[0].Score != nil {
		t.Fatalf("zero IQR: %+v", d)
	}
}

func TestDetectRejects(t *testing.T) {
	for _, tc := range []struct {
		series []float64
		m      Method
	}{
		{[]float64{1, 2}, MethodMAD},
		{[]float64{1, 2, 3}, MethodIQR},
		{[]float64{1, math.NaN(), 3}, MethodMAD},
		{[]float64{1, math.Inf(1), 3}, MethodZScore},
		{[]float64{1, 2, 3, 4}, Method("median")},
	} {
		if _, err := Detect(tc.series, tc.m, 0); err == nil {
			t.Errorf("%v %s accepted", tc.series, tc.m)
		}
	}
}

func TestMedianMAD(t *testing.T) {
	med, mad := MedianMAD([]float64{4, 1, 3, 2})
	if med != 2.5 || mad != 1 { // |x-2.5| = 1.5 .5 .5 1.5 -> 1
		t.Fatalf("median %g mad %g", med, mad)
	}
	if _, err := MADScores([]float64{1, 1, 1}); err == nil {
		t.Fatal("zero MAD accepted")
	}
	s, err := MADScores([]float64{1, 2, 3})
	if err != nil || !near(s[2], 0.6745, 1e-12) {
		t.Fatalf("%v %v", s, err)
	}
}

func seq(from, to float64) []float64 {
	var out []float64
	for x := from; x <= to; x++ {
		out = append(out, x)
	}
	return out
}

func TestKSCatchesShift(t *testing.T) {
	// 1..100 against 31..130: the CDFs are 0.30 apart on [30, 31).
	// ne = 100*100/200 = 50; lambda = (sqrt(50)+0.12+0.11/sqrt(50))*0.3 = 2.16199;
	// p = 2*(e^(-2*lambda^2) - e^(-8*lambda^2) + ...) = 1.742e-4 < 0.001.
	r, err := KSTest(seq(1, 100), seq(31, 130))
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.D, 0.30, 1e-12) || !near(r.PValue, 1.7421e-4, 1e-7) || r.PValue >= 0.001 || r.N != 100 || r.M != 100 {
		t.Fatalf("shift +30: %+v", r)
	}
	// A shift of 10 (D = 0.10, lambda = 0.7207) is not significant: p = 0.677.
	r, _ = KSTest(seq(1, 100), seq(11, 110))
	if !near(r.D, 0.10, 1e-12) || r.PValue < 0.5 {
		t.Fatalf("shift +10: %+v", r)
	}
	// Identical samples: D = 0, p = 1.
	r, _ = KSTest(seq(1, 50), seq(1, 50))
	if r.D != 0 || r.PValue != 1 {
		t.Fatalf("same: %+v", r)
	}
	if _, err := KSTest(nil, seq(1, 3)); err == nil {
		t.Fatal("empty sample accepted")
	}
}
