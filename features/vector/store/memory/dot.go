package memory

// dotI8Go is dotI8 in plain Go: the same exact integer sum.
func dotI8Go(q []int16, c []int8) int32 {
	c = c[:len(q)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		a, b := q[i:i+4:i+4], c[i:i+4:i+4]
		s0 += int32(a[0]) * int32(b[0])
		s1 += int32(a[1]) * int32(b[1])
		s2 += int32(a[2]) * int32(b[2])
		s3 += int32(a[3]) * int32(b[3])
	}
	for ; i < len(q); i++ {
		s0 += int32(q[i]) * int32(c[i])
	}
	return (s0 + s1) + (s2 + s3)
}
