//! Replay evaluation and promotion gates (`runners/reference/gates.py`, design §3.5).

use super::checks;
use super::error::{fail, CoreResult, ErrorCode};
use super::stats::{stats_of, Stats};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub max_error: f64,
    pub max_cv: f64,
    pub min_delta_percent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error: 1e-3,
            max_cv: 0.03,
            min_delta_percent: 10.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub gflops: Stats,
    pub avg_time_ms: Stats,
    pub max_error: Stats,
    pub cv_peak: Option<f64>,
    pub mean_delta_vs_baseline_percent: Option<f64>,
    pub correctness_passed: bool,
    pub stability_passed: bool,
    pub promotion_gate_passed: bool,
}

pub fn check_sample_value(value: f64, field: &'static str) -> CoreResult<f64> {
    checks::finite_real(value, field, Some(0.0))
}

pub fn check_baseline(value: f64) -> CoreResult<f64> {
    let base = checks::finite_real(value, "baseline_gflops", None)?;
    if base <= 0.0 {
        return fail(
            ErrorCode::OutOfRange,
            "baseline_gflops",
            format!("{base} must be > 0"),
        );
    }
    Ok(base)
}

pub fn check_threshold_max_error(v: f64) -> CoreResult<f64> {
    checks::finite_real(v, "thresholds.max_error", Some(0.0))
}

pub fn check_threshold_max_cv(v: f64) -> CoreResult<f64> {
    checks::finite_real(v, "thresholds.max_cv", Some(0.0))
}

pub fn check_threshold_min_delta(v: f64) -> CoreResult<f64> {
    checks::finite_real(v, "thresholds.min_delta_percent", None)
}

/// Evaluates validated samples (columns of equal, non-zero length).
pub fn evaluate(
    gflops: &mut [f64],
    times: &mut [f64],
    errors: &mut [f64],
    baseline: Option<f64>,
    limits: &Thresholds,
) -> CoreResult<Evaluation> {
    let g = stats_of(gflops, "samples.gflops")?;
    let t = stats_of(times, "samples.avg_time_ms")?;
    let e = stats_of(errors, "samples.max_error")?;
    let cv_peak = g.cv;
    let delta = baseline.map(|base| (g.mean - base) / base * 100.0);
    let correct = e.max <= limits.max_error;
    let stable = matches!(cv_peak, Some(cv) if cv <= limits.max_cv);
    let promoted = matches!(delta, Some(d) if d >= limits.min_delta_percent) && correct && stable;
    Ok(Evaluation {
        gflops: g,
        avg_time_ms: t,
        max_error: e,
        cv_peak,
        mean_delta_vs_baseline_percent: delta,
        correctness_passed: correct,
        stability_passed: stable,
        promotion_gate_passed: promoted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates() {
        let mut g = vec![110.0, 112.0, 111.0];
        let mut t = vec![1.0, 1.0, 1.0];
        let mut e = vec![1e-4, 2e-4, 1e-4];
        let ev = evaluate(&mut g, &mut t, &mut e, Some(100.0), &Thresholds::default()).unwrap();
        assert!(ev.correctness_passed && ev.stability_passed && ev.promotion_gate_passed);
        assert_eq!(
            ev.mean_delta_vs_baseline_percent,
            Some(11.0 / 100.0 * 100.0)
        );
        let ev = evaluate(&mut g, &mut t, &mut e, None, &Thresholds::default()).unwrap();
        assert!(!ev.promotion_gate_passed && ev.mean_delta_vs_baseline_percent.is_none());
        assert_eq!(check_baseline(0.0).unwrap_err().code, ErrorCode::OutOfRange);
        assert_eq!(
            check_baseline(f64::NAN).unwrap_err().code,
            ErrorCode::NotFinite
        );
    }
}
