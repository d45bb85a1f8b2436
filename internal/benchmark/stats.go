package benchmark

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank q-th percentile (0 < q ≤ 100) of ds,
// or NaN when ds is empty. ds is sorted in place.
func percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	slices.Sort(ds)
	rank := int(math.Ceil(q / 100 * float64(len(ds))))
	rank = min(max(rank, 1), len(ds))
	return ms(ds[rank-1])
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perSecond is n events over d, or NaN when d is not positive.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / d.Seconds()
}
