//! A tensor's values as TF's `HistogramSummary` op (`tf.summary.histogram`) bins them: the same
//! bucket limits (±1e-12 growing by 10 % up to ±1e20, and 0), the same counts and sums in the
//! same order, runs of empty buckets collapsed. TensorBoard's Histograms and Distributions tabs
//! then read ours as they read TF's.

use std::sync::OnceLock;

use crate::proto::HistogramProto;

/// TF's default bucket limits (histogram.cc, InitDefaultBucketsInner).
fn limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let mut positive = Vec::new();
        let mut v = 1.0e-12;
        while v < 1.0e20 {
            positive.push(v);
            v *= 1.1;
        }
        positive.push(f64::MAX);
        let mut all: Vec<f64> = positive.iter().rev().map(|v| -v).collect();
        all.push(0.0);
        all.extend(positive);
        all
    })
}

/// The histogram of `values`, or None if one is NaN or infinite (TF's op refuses those).
pub fn histogram(values: &[f32]) -> Option<HistogramProto> {
    let limits = limits();
    let mut buckets = vec![0.0f64; limits.len()];
    let mut h = HistogramProto { min: f64::MAX, max: -f64::MAX, ..Default::default() };
    for &v in values {
        let v = f64::from(v);
        if !v.is_finite() {
            return None;
        }
        // std::upper_bound: the first limit above v.
        buckets[limits.partition_point(|&l| l <= v)] += 1.0;
        h.min = h.min.min(v);
        h.max = h.max.max(v);
        h.num += 1.0;
        h.sum += v;
        h.sum_squares += v * v;
    }
    let mut i = 0;
    while i < buckets.len() {
        let (mut end, mut count) = (limits[i], buckets[i]);
        i += 1;
        if count <= 0.0 {
            while i < buckets.len() && buckets[i] <= 0.0 {
                (end, count) = (limits[i], buckets[i]);
                i += 1;
            }
        }
        h.bucket_limit.push(end);
        h.bucket.push(count);
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_as_tf_makes_them() {
        let l = limits();
        assert_eq!(l.len(), 2 * 775 + 1, "775 limits a side: 1e-12 × 1.1^k below 1e20, and DBL_MAX");
        assert_eq!(l[775], 0.0);
        let h = histogram(&[0.0, 0.5, 0.5, -2.0]).unwrap();
        assert_eq!((h.min, h.max, h.num, h.sum, h.sum_squares), (-2.0, 0.5, 4.0, -1.0, 4.5));
        // Each value lands in the first bucket whose limit is above it; empty runs collapse.
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        let at = |v: f64| h.bucket_limit.iter().position(|&b| b > v).unwrap();
        assert_eq!(h.bucket[at(0.5)], 2.0);
        assert_eq!(h.bucket[at(0.0)], 1.0);
        assert!(h.bucket.windows(2).all(|w| w[0] > 0.0 || w[1] > 0.0), "no two empty buckets in a row");
        assert_eq!(*h.bucket_limit.last().unwrap(), f64::MAX);
        assert!(histogram(&[1.0, f32::NAN]).is_none());
        let empty = histogram(&[]).unwrap();
        assert_eq!((empty.bucket_limit.as_slice(), empty.bucket.as_slice()), (&[f64::MAX][..], &[0.0][..]));
    }
}
