//! Ranking against a per-size baseline (`runners/reference/ranking.py`, design §3.4).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::checks;
use super::error::{fail, CoreResult, ErrorCode};

pub const NO_DELTA_KEY: f64 = -1e9;

/// A validated measurement. Failed ones carry zero metrics, as in the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub candidate_id: &'a [u8],
    pub size: i128,
    pub completed: bool,
    pub gflops: f64,
    pub avg_time_ms: f64,
    pub max_error: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Delta,
    Gflops,
}

pub fn check_candidate_id(id: &[u8]) -> CoreResult<&[u8]> {
    checks::non_empty_str(id, "measurements.candidate_id")
}

pub fn check_size(size: i128) -> CoreResult<i128> {
    checks::int_in(size, "measurements.size", 1, None)
}

/// `true` for "completed", `false` for "failed".
pub fn check_status(status: &[u8]) -> CoreResult<bool> {
    match status {
        b"completed" => Ok(true),
        b"failed" => Ok(false),
        other => fail(
            ErrorCode::InvalidValue,
            "measurements.status",
            format!(
                "{:?} is not completed/failed",
                String::from_utf8_lossy(other)
            ),
        ),
    }
}

pub fn check_metric(value: f64, field: &'static str) -> CoreResult<f64> {
    checks::finite_real(value, field, Some(0.0))
}

pub fn check_unique(rows: &[Row<'_>]) -> CoreResult<()> {
    checks::no_duplicates(
        rows.iter().map(|r| (r.candidate_id, r.size)),
        "measurements",
    )
}

pub fn check_threshold(threshold: f64) -> CoreResult<f64> {
    checks::finite_real(threshold, "correctness_threshold", Some(0.0))
}

pub const RULE_FIELD: &str = "baseline_rule.thresholds";

/// `min_size` of a baseline-rule pair.
pub fn check_rule_min_size(min_size: i128) -> CoreResult<i128> {
    checks::int_in(min_size, RULE_FIELD, 0, None)
}

/// Candidate id of a baseline-rule pair.
pub fn check_rule_id(id: &[u8]) -> CoreResult<&[u8]> {
    checks::non_empty_str(id, RULE_FIELD)
}

/// `min_size` values must be strictly increasing.
pub fn check_rule_order(prev: Option<i128>, min_size: i128) -> CoreResult<()> {
    if matches!(prev, Some(p) if min_size <= p) {
        return fail(
            ErrorCode::InvalidValue,
            RULE_FIELD,
            "min_size values must be strictly increasing",
        );
    }
    Ok(())
}

/// One (min_size, candidate_id) pair of a baseline rule, after the pairs before it.
pub fn check_rule_pair(prev: Option<i128>, min_size: i128, id: &[u8]) -> CoreResult<(i128, &[u8])> {
    let min_size = check_rule_min_size(min_size)?;
    let id = check_rule_id(id)?;
    check_rule_order(prev, min_size)?;
    Ok((min_size, id))
}

pub fn check_objective(objective: &[u8]) -> CoreResult<Objective> {
    match objective {
        b"delta" => Ok(Objective::Delta),
        b"gflops" => Ok(Objective::Gflops),
        other => fail(
            ErrorCode::InvalidValue,
            "objective",
            format!("{:?} is not delta/gflops", String::from_utf8_lossy(other)),
        ),
    }
}

/// One ranked measurement: `row` indexes the input rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub row: usize,
    pub correctness_passed: bool,
    pub delta_vs_baseline_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub ranked: Vec<Ranked>,
    pub baseline_by_size: Vec<(i128, f64)>,
    pub valid_count: usize,
    pub completed_count: usize,
    pub failed_count: usize,
    pub used_fallback_pool: bool,
}

fn baseline_id<'a>(pairs: &[(i128, &'a [u8])], size: i128) -> Option<&'a [u8]> {
    pairs
        .iter()
        .rev()
        .find(|(min, _)| size >= *min)
        .map(|(_, id)| *id)
}

/// Ranks validated rows (the checks above have passed).
pub fn rank(
    rows: &[Row<'_>],
    threshold: f64,
    pairs: &[(i128, &[u8])],
    objective: Objective,
) -> Ranking {
    let completed: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].completed).collect();
    let sizes: BTreeSet<i128> = completed.iter().map(|&i| rows[i].size).collect();
    let baseline_ids: HashSet<(&[u8], i128)> = sizes
        .iter()
        .filter_map(|&s| baseline_id(pairs, s).map(|id| (id, s)))
        .collect();
    let mut gflops_of: HashMap<(&[u8], i128), f64> = HashMap::with_capacity(baseline_ids.len());
    for &i in &completed {
        let key = (rows[i].candidate_id, rows[i].size);
        if baseline_ids.contains(&key) {
            gflops_of.insert(key, rows[i].gflops);
        }
    }
    let mut baseline: Vec<(i128, f64)> = Vec::new();
    for &size in &sizes {
        if let Some(id) = baseline_id(pairs, size) {
            if let Some(&base) = gflops_of.get(&(id, size)) {
                if base > 0.0 {
                    baseline.push((size, base));
                }
            }
        }
    }
    let base_of: HashMap<i128, f64> = baseline.iter().copied().collect();

    let entries: Vec<Ranked> = completed
        .iter()
        .map(|&i| {
            let r = &rows[i];
            let delta = base_of.get(&r.size).map(|&b| (r.gflops - b) / b * 100.0);
            Ranked {
                row: i,
                correctness_passed: r.max_error <= threshold,
                delta_vs_baseline_percent: delta,
            }
        })
        .collect();
    let valid_count = entries.iter().filter(|e| e.correctness_passed).count();
    let mut pool: Vec<Ranked> = if valid_count > 0 {
        entries
            .iter()
            .copied()
            .filter(|e| e.correctness_passed)
            .collect()
    } else {
        entries.clone()
    };
    // Stable sorts with reversed comparisons keep equal entries in input order, as
    // Python's sorted(..., reverse=True) does. Values are finite: partial_cmp never fails.
    let cmp_f = |a: f64, b: f64| b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal);
    match objective {
        Objective::Delta => pool.sort_by(|a, b| {
            let ka = a.delta_vs_baseline_percent.unwrap_or(NO_DELTA_KEY);
            let kb = b.delta_vs_baseline_percent.unwrap_or(NO_DELTA_KEY);
            cmp_f(ka, kb).then_with(|| cmp_f(rows[a.row].gflops, rows[b.row].gflops))
        }),
        Objective::Gflops => pool.sort_by(|a, b| cmp_f(rows[a.row].gflops, rows[b.row].gflops)),
    }
    Ranking {
        ranked: pool,
        baseline_by_size: baseline,
        valid_count,
        completed_count: completed.len(),
        failed_count: rows.len() - completed.len(),
        used_fallback_pool: valid_count == 0 && !entries.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &'static str, size: i128, gflops: f64, error: f64) -> Row<'static> {
        Row {
            candidate_id: id.as_bytes(),
            size,
            completed: true,
            gflops,
            avg_time_ms: 1.0,
            max_error: error,
        }
    }

    #[test]
    fn ranks_by_delta_then_gflops() {
        let rows = vec![
            row("base", 1024, 100.0, 0.0),
            row("a", 1024, 120.0, 0.0),
            row("b", 1024, 90.0, 1.0),
            row("c", 4096, 50.0, 0.0),
            Row {
                completed: false,
                ..row("d", 1024, 0.0, 0.0)
            },
        ];
        let pairs: Vec<(i128, &[u8])> = vec![(0, b"base"), (1800, b"big")];
        let r = rank(&rows, 1e-3, &pairs, Objective::Delta);
        assert_eq!(r.baseline_by_size, vec![(1024, 100.0)]);
        assert_eq!(
            (r.valid_count, r.completed_count, r.failed_count),
            (3, 4, 1)
        );
        assert!(!r.used_fallback_pool);
        let order: Vec<usize> = r.ranked.iter().map(|e| e.row).collect();
        assert_eq!(order, vec![1, 0, 3]);
        assert_eq!(r.ranked[0].delta_vs_baseline_percent, Some(20.0));
        assert_eq!(r.ranked[2].delta_vs_baseline_percent, None);
        let g = rank(&rows, 1e-3, &pairs, Objective::Gflops);
        assert_eq!(
            g.ranked.iter().map(|e| e.row).collect::<Vec<_>>(),
            vec![1, 0, 3]
        );
    }

    #[test]
    fn fallback_pool_and_stability() {
        let rows = vec![
            row("x", 1, 5.0, 1.0),
            row("y", 1, 5.0, 1.0),
            row("z", 2, 7.0, 1.0),
        ];
        let r = rank(&rows, 0.5, &[], Objective::Gflops);
        assert!(r.used_fallback_pool);
        assert_eq!(
            r.ranked.iter().map(|e| e.row).collect::<Vec<_>>(),
            vec![2, 0, 1]
        );
        let empty = rank(&[], 0.5, &[], Objective::Delta);
        assert!(!empty.used_fallback_pool);
    }

    #[test]
    fn checks() {
        assert_eq!(
            check_status(b"running").unwrap_err().code,
            ErrorCode::InvalidValue
        );
        assert_eq!(check_objective(b"x").unwrap_err().field, "objective");
        assert!(check_rule_pair(Some(5), 5, b"a").is_err());
        assert_eq!(
            check_rule_pair(None, -1, b"a").unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(
            check_rule_pair(None, 0, b"").unwrap_err().code,
            ErrorCode::Empty
        );
        let rows = vec![row("x", 1, 5.0, 1.0), row("x", 1, 6.0, 1.0)];
        assert_eq!(check_unique(&rows).unwrap_err().code, ErrorCode::Duplicate);
    }
}
