package memory

//go:noescape
func dotI8AVX2(q *int16, c *int8, n int) int32

//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

func hasAVX2() bool

func hasFMA() bool

var (
	useAVX2 = hasAVX2()
	useFMA  = useAVX2 && hasFMA()
)

// dotI8 is the exact integer dot product of a query quantized to int16 and
// a point's int8 codes (see dotI8Go); AVX2 does 16 products per step.
func dotI8(q []int16, c []int8) int32 {
	c = c[:len(q)]
	n := len(q) &^ 15
	if !useAVX2 || n == 0 {
		return dotI8Go(q, c)
	}
	s := dotI8AVX2(&q[0], &c[0], n)
	return s + dotI8Go(q[n:], c[n:])
}

// dotF32 is a float32 dot product for the graph's traversal (rounding
// differs from dotF32Go: the graph only ranks with it; results are
// rescored in float64).
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	if !useFMA || n == 0 {
		return dotF32Go(a, b)
	}
	return dotF32AVX2(&a[0], &b[0], n) + dotF32Go(a[n:], b[n:])
}
