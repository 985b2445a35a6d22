package memory

//go:noescape
func dotI8AVX2(q *int16, c *int8, n int) int32

func hasAVX2() bool

var useAVX2 = hasAVX2()

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
