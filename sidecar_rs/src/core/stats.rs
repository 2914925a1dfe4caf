//! Summary statistics (`runners/reference/stats.py`, design §3.3).
//!
//! Means and variances use exactly rounded sums (CPython's `math.fsum` algorithm, including
//! its errors); percentiles are NumPy's default linear method, bit for bit.

use super::checks;
use super::error::{CoreError, CoreResult, ErrorCode};

/// How `math.fsum` fails (`stats_of` reports both as `overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumError {
    /// `OverflowError("intermediate overflow in fsum")`
    Overflow,
    /// `ValueError("-inf + inf in fsum")`
    InfMinusInf,
}

/// CPython's `math.fsum`: Shewchuk's exactly rounded sum (msum) with half-even correction.
pub fn fsum<I: IntoIterator<Item = f64>>(values: I) -> Result<f64, SumError> {
    let mut partials: Vec<f64> = Vec::with_capacity(32);
    let mut special_sum = 0.0f64;
    let mut inf_sum = 0.0f64;
    for xsave in values {
        let mut x = xsave;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let yr = hi - x;
            let lo = y - yr;
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        if x != 0.0 {
            if !x.is_finite() {
                if xsave.is_finite() {
                    return Err(SumError::Overflow);
                }
                if xsave.is_infinite() {
                    inf_sum += xsave;
                }
                special_sum += xsave;
                partials.clear();
            } else {
                partials.push(x);
            }
        }
    }
    if special_sum != 0.0 {
        if inf_sum.is_nan() {
            return Err(SumError::InfMinusInf);
        }
        return Ok(special_sum);
    }
    let mut hi = 0.0f64;
    let mut n = partials.len();
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0f64;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
    }
    Ok(hi)
}

/// Summary of a sample (`runners.types.Stats`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
    pub cv: Option<f64>,
}

/// Checks that every sample is finite, reporting the first one that is not.
pub fn check_samples(values: &[f64], field: &'static str) -> CoreResult<()> {
    checks::non_empty_len(values.len(), field)?;
    for &v in values {
        checks::finite_real(v, field, None)?;
    }
    Ok(())
}

/// NumPy's `_lerp`: `a + (b-a)*t`, or `b - (b-a)*(1-t)` when `t >= 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

fn kth(values: &mut [f64], k: usize) -> f64 {
    *values.select_nth_unstable_by(k, f64::total_cmp).1
}

/// `np.percentile(values, q)` with the default linear method (`q` in percent).
/// Reorders `values`. `values` must be non-empty and NaN-free.
pub fn percentiles<const N: usize>(values: &mut [f64], qs: [f64; N]) -> [f64; N] {
    let n = values.len();
    let mut out = [0.0; N];
    for (slot, q) in out.iter_mut().zip(qs) {
        let quantile = q / 100.0;
        let virtual_index = (n - 1) as f64 * quantile;
        let (prev, next) = if virtual_index >= (n - 1) as f64 {
            (n - 1, n - 1)
        } else if virtual_index < 0.0 {
            (0, 0)
        } else {
            let p = virtual_index.floor() as usize;
            (p, p + 1)
        };
        // NumPy's gamma uses the adjusted previous index (-1 past the end).
        let prev_for_gamma = if virtual_index >= (n - 1) as f64 {
            -1.0
        } else {
            prev as f64
        };
        let gamma = virtual_index - prev_for_gamma;
        let a = kth(values, prev);
        let b = if next == prev {
            a
        } else {
            values[prev + 1..]
                .iter()
                .copied()
                .min_by(f64::total_cmp)
                .unwrap_or(a)
        };
        *slot = lerp(a, b, gamma);
    }
    out
}

/// `stats_of`: statistics of an already validated (non-empty, finite) sample.
/// Reorders `values`. Samples so large that the mean or std overflows a double are rejected
/// with `overflow` on `field`, as the reference does.
pub fn stats_of(values: &mut [f64], field: &'static str) -> CoreResult<Stats> {
    let overflow = |_| {
        CoreError::new(
            ErrorCode::Overflow,
            field,
            "the statistics of these samples overflow a double",
        )
    };
    let count = values.len();
    let mean = fsum(values.iter().copied()).map_err(overflow)? / count as f64;
    let var_sum = fsum(values.iter().map(|&v| {
        let d = v - mean;
        d * d
    }))
    .map_err(overflow)?;
    let std = (var_sum / count as f64).sqrt();
    if !mean.is_finite() || !std.is_finite() {
        return Err(overflow(SumError::Overflow));
    }
    let (mut min, mut max) = (values[0], values[0]);
    for &v in values.iter() {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let [p50, p95] = percentiles(values, [50.0, 95.0]);
    Ok(Stats {
        count,
        mean,
        std,
        min,
        p50,
        p95,
        max,
        cv: if mean != 0.0 { Some(std / mean) } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsum_is_exact() {
        assert_eq!(fsum([0.1; 10]), Ok(1.0));
        assert_eq!(
            fsum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            Ok(1e-100)
        );
        assert_eq!(fsum([1.0, 1e100, 1.0, -1e100]), Ok(2.0));
        assert_eq!(fsum([]), Ok(0.0));
        // Half-even correction across partials (from CPython's test_math).
        assert_eq!(
            fsum([1.0, 2f64.powi(-53), 2f64.powi(-106)]),
            Ok(1.0 + 2f64.powi(-52))
        );
        assert_eq!(fsum([f64::MAX, f64::MAX]), Err(SumError::Overflow));
        assert_eq!(fsum([f64::INFINITY, 1.0]), Ok(f64::INFINITY));
        assert_eq!(
            fsum([f64::INFINITY, f64::NEG_INFINITY]),
            Err(SumError::InfMinusInf)
        );
    }

    #[test]
    fn linear_percentiles() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(
            percentiles(&mut v, [50.0, 95.0, 0.0, 100.0]),
            [2.5, 3.8499999999999996, 1.0, 4.0]
        );
        let mut one = vec![7.5];
        assert_eq!(percentiles(&mut one, [50.0, 95.0]), [7.5, 7.5]);
    }

    #[test]
    fn summary() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        let s = stats_of(&mut v, "samples").unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 2.5);
        assert_eq!(s.std, 1.25f64.sqrt());
        assert_eq!((s.min, s.max, s.p50), (1.0, 4.0, 2.5));
        assert_eq!(s.cv, Some(1.25f64.sqrt() / 2.5));
        let mut z = vec![-1.0, 1.0];
        assert_eq!(stats_of(&mut z, "samples").unwrap().cv, None);
        let mut huge = vec![f64::MAX, f64::MAX];
        assert_eq!(
            stats_of(&mut huge, "samples").unwrap_err().code,
            ErrorCode::Overflow
        );
        let mut spread = vec![1e200, -1e200];
        assert_eq!(
            stats_of(&mut spread, "samples").unwrap_err().code,
            ErrorCode::Overflow
        );
        assert!(check_samples(&[1.0, f64::NAN], "samples").is_err());
        assert!(check_samples(&[], "samples").is_err());
    }
}
