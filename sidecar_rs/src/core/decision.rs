//! The promote / iterate / refine decision (`runners/reference/decision.py`, design §3.6).
//!
//! The first three rationales are the recorded reports' texts, verbatim; the others name the
//! gate each replayed candidate failed with the measured value and the threshold, numbers
//! written exactly as the reference writes them (`docs/contract.md`, "Numbers in
//! rationales").

use super::checks;
use super::error::CoreResult;
use super::gates::Thresholds;

pub const PROMOTE_RATIONALE: &str =
    "At least one replayed candidate passed performance, correctness and stability gates.";
pub const NO_CORRECT_RATIONALE: &str =
    "No candidate passed strict correctness filter in search phase.";
pub const ITERATE_RATIONALE: &str =
    "Correct/stable candidates exist but promotion uplift threshold is not met.";
pub const NOT_REPLAYED_RATIONALE: &str =
    "No candidate was replayed, although some passed the correctness filter in the search phase.";
pub const UNSTABLE_PREFIX: &str = "No replayed candidate is both correct and stable: ";

const MIN_DIGITS: usize = 4;
const MAX_DIGITS: usize = 17;

/// What the decision reads of one validated replay result: the gate flags and the numbers
/// a rationale may quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay {
    pub correctness_passed: bool,
    pub stability_passed: bool,
    pub promotion_gate_passed: bool,
    pub max_error: f64,
    pub cv_peak: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Promote,
    Iterate,
    Refine,
}

impl Hint {
    pub fn as_str(self) -> &'static str {
        match self {
            Hint::Promote => "promote",
            Hint::Iterate => "iterate",
            Hint::Refine => "refine",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub hint: Hint,
    pub rationale: String,
    pub promoted: Vec<usize>,
}

pub fn check_valid_count(valid_count: i128) -> CoreResult<i128> {
    checks::int_in(valid_count, "valid_count", 0, None)
}

/// `number`: `value` to `digits` significant digits (Rust's `{:.Ne}` rounds the exact binary
/// value half to even, as Python's `format` does), trailing zeros dropped; plain decimal for
/// exponents -5..=5, else `<mantissa>e<exponent>`. Zero of either sign is `0`.
pub fn number(value: f64, digits: usize) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{:.*e}", digits - 1, value);
    let (mantissa, exp_text) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let negative = mantissa.starts_with('-');
    let all: String = mantissa
        .trim_start_matches('-')
        .chars()
        .filter(|c| *c != '.')
        .collect();
    let trimmed = all.trim_end_matches('0');
    let shown = if trimmed.is_empty() { "0" } else { trimmed };
    let exponent: i32 = exp_text.parse().unwrap_or(0);
    let text = if (-5..=5).contains(&exponent) {
        let (whole, fraction) = if exponent >= 0 {
            let cut = exponent as usize + 1;
            if shown.len() <= cut {
                (format!("{shown:0<cut$}"), String::new())
            } else {
                (shown[..cut].to_string(), shown[cut..].to_string())
            }
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            ("0".to_string(), format!("{zeros}{shown}"))
        };
        if fraction.is_empty() {
            whole
        } else {
            format!("{whole}.{fraction}")
        }
    } else if shown.len() > 1 {
        format!("{}.{}e{exponent}", &shown[..1], &shown[1..])
    } else {
        format!("{shown}e{exponent}")
    };
    if negative {
        format!("-{text}")
    } else {
        text
    }
}

/// `number_pair`: both numbers with the same significant digits, the fewest from 4 up that
/// tell them apart (distinct doubles always differ at 17).
pub fn number_pair(value: f64, limit: f64) -> (String, String) {
    let mut pair = (String::new(), String::new());
    for digits in MIN_DIGITS..=MAX_DIGITS {
        pair = (number(value, digits), number(limit, digits));
        if pair.0 != pair.1 || value == limit {
            break;
        }
    }
    pair
}

fn versus(name: &str, value: f64, limit: f64) -> String {
    let (shown, limit_shown) = number_pair(value, limit);
    if value > limit {
        format!("{name} {shown} > {limit_shown}")
    } else {
        format!("{name} {shown}, limit {limit_shown}")
    }
}

fn failures(label: &str, r: &Replay, limits: &Thresholds) -> String {
    let mut failed = Vec::with_capacity(2);
    if !r.correctness_passed {
        failed.push(format!(
            "correctness ({})",
            versus("max_error", r.max_error, limits.max_error)
        ));
    }
    if !r.stability_passed {
        failed.push(match r.cv_peak {
            None => format!(
                "stability (cv_peak undefined, limit {})",
                number(limits.max_cv, MIN_DIGITS)
            ),
            Some(cv) => format!("stability ({})", versus("cv_peak", cv, limits.max_cv)),
        });
    }
    format!("{label} failed {}", failed.join(" and "))
}

/// Decides from validated inputs; `labels` name the results in a rationale (default `#i`).
pub fn decide(
    valid_count: i128,
    results: &[Replay],
    limits: &Thresholds,
    labels: Option<&[String]>,
) -> Decision {
    let promoted: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].promotion_gate_passed)
        .collect();
    let (hint, rationale) = if !promoted.is_empty() {
        (Hint::Promote, PROMOTE_RATIONALE.to_string())
    } else if valid_count == 0 {
        (Hint::Refine, NO_CORRECT_RATIONALE.to_string())
    } else if results
        .iter()
        .any(|r| r.correctness_passed && r.stability_passed)
    {
        (Hint::Iterate, ITERATE_RATIONALE.to_string())
    } else if results.is_empty() {
        (Hint::Refine, NOT_REPLAYED_RATIONALE.to_string())
    } else {
        let details: Vec<String> = results
            .iter()
            .enumerate()
            .map(|(i, r)| match labels {
                Some(names) => failures(&names[i], r, limits),
                None => failures(&format!("#{i}"), r, limits),
            })
            .collect();
        (
            Hint::Refine,
            format!("{UNSTABLE_PREFIX}{}.", details.join("; ")),
        )
    };
    Decision {
        hint,
        rationale,
        promoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn replay(c: bool, s: bool, p: bool) -> Replay {
        Replay {
            correctness_passed: c,
            stability_passed: s,
            promotion_gate_passed: p,
            max_error: 1e-4,
            cv_peak: Some(0.01),
        }
    }

    fn limits() -> Thresholds {
        Thresholds::default()
    }

    #[test]
    fn rules() {
        let l = limits();
        let d = decide(
            0,
            &[replay(true, true, false), replay(true, true, true)],
            &l,
            None,
        );
        assert_eq!((d.hint, d.promoted), (Hint::Promote, vec![1]));
        assert_eq!(d.rationale, PROMOTE_RATIONALE);
        let d = decide(0, &[replay(true, true, false)], &l, None);
        assert_eq!(
            (d.hint, d.rationale.as_str()),
            (Hint::Refine, NO_CORRECT_RATIONALE)
        );
        let d = decide(3, &[replay(true, true, false)], &l, None);
        assert_eq!(
            (d.hint, d.rationale.as_str()),
            (Hint::Iterate, ITERATE_RATIONALE)
        );
        let d = decide(3, &[], &l, None);
        assert_eq!(
            (d.hint, d.rationale.as_str()),
            (Hint::Refine, NOT_REPLAYED_RATIONALE)
        );
        assert!(check_valid_count(-1).is_err());
    }

    #[test]
    fn unstable_rationale_names_each_failed_gate() {
        let results = [
            Replay {
                cv_peak: Some(0.0412),
                ..replay(true, false, false)
            },
            Replay {
                max_error: 0.0021,
                cv_peak: Some(0.05),
                ..replay(false, false, false)
            },
            Replay {
                cv_peak: None,
                ..replay(true, false, false)
            },
        ];
        let labels = [
            "t20_v4_u10@1024".to_string(),
            "b".to_string(),
            "c".to_string(),
        ];
        let d = decide(3, &results, &limits(), Some(&labels));
        assert_eq!(d.hint, Hint::Refine);
        assert_eq!(
            d.rationale,
            "No replayed candidate is both correct and stable: \
             t20_v4_u10@1024 failed stability (cv_peak 0.0412 > 0.03); \
             b failed correctness (max_error 0.0021 > 0.001) and stability (cv_peak 0.05 > 0.03); \
             c failed stability (cv_peak undefined, limit 0.03)."
        );
        let d = decide(1, &results[..1], &limits(), None);
        assert!(
            d.rationale.contains("#0 failed stability"),
            "{}",
            d.rationale
        );
    }

    #[test]
    fn a_flag_that_disagrees_with_its_value_is_not_called_a_breach() {
        let d = decide(1, &[replay(true, false, false)], &limits(), None);
        assert!(
            d.rationale
                .ends_with("#0 failed stability (cv_peak 0.01, limit 0.03)."),
            "{}",
            d.rationale
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number(0.0, 4), "0");
        assert_eq!(number(-0.0, 4), "0");
        assert_eq!(number(0.03, 4), "0.03");
        assert_eq!(number(0.041234567, 4), "0.04123");
        assert_eq!(number(10.0, 4), "10");
        assert_eq!(number(123456.0, 4), "123500");
        assert_eq!(number(1234567.0, 4), "1.235e6");
        assert_eq!(number(1e-6, 4), "1e-6");
        assert_eq!(number(1.5e-5, 4), "0.000015");
        assert_eq!(number(-2.5, 4), "-2.5");
        assert_eq!(number(1.0625, 4), "1.062"); // half to even on the exact value
        assert_eq!(number(f64::MAX, 4), "1.798e308");
        assert_eq!(number(5e-324, 4), "4.941e-324");
    }

    #[test]
    fn pairs_use_more_digits_only_when_needed() {
        assert_eq!(
            number_pair(0.0412, 0.03),
            ("0.0412".to_string(), "0.03".to_string())
        );
        assert_eq!(
            number_pair(0.030001, 0.03),
            ("0.030001".to_string(), "0.03".to_string())
        );
        let next = f64::from_bits(0.03f64.to_bits() + 1);
        let (a, b) = number_pair(next, 0.03);
        assert_ne!(a, b);
        assert_eq!(
            number_pair(0.03, 0.03),
            ("0.03".to_string(), "0.03".to_string())
        );
    }
}
