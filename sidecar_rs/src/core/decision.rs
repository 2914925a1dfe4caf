//! The promote / iterate / refine decision (`runners/reference/decision.py`, design §3.6).

use super::checks;
use super::error::CoreResult;

pub const PROMOTE_RATIONALE: &str =
    "At least one replayed candidate passed performance, correctness and stability gates.";
pub const NO_CORRECT_RATIONALE: &str =
    "No candidate passed strict correctness filter in search phase.";
pub const ITERATE_RATIONALE: &str =
    "Correct/stable candidates exist but promotion uplift threshold is not met.";
pub const UNSTABLE_RATIONALE: &str =
    "No replayed candidate passed both the correctness and stability gates.";

/// The gate flags of one replay evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gates {
    pub correctness_passed: bool,
    pub stability_passed: bool,
    pub promotion_gate_passed: bool,
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
    pub rationale: &'static str,
    pub promoted: Vec<usize>,
}

pub fn check_valid_count(valid_count: i128) -> CoreResult<i128> {
    checks::int_in(valid_count, "valid_count", 0, None)
}

pub fn decide(valid_count: i128, results: &[Gates]) -> Decision {
    let promoted: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].promotion_gate_passed)
        .collect();
    let (hint, rationale) = if !promoted.is_empty() {
        (Hint::Promote, PROMOTE_RATIONALE)
    } else if valid_count == 0 {
        (Hint::Refine, NO_CORRECT_RATIONALE)
    } else if results
        .iter()
        .any(|r| r.correctness_passed && r.stability_passed)
    {
        (Hint::Iterate, ITERATE_RATIONALE)
    } else {
        (Hint::Refine, UNSTABLE_RATIONALE)
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

    const fn gates(c: bool, s: bool, p: bool) -> Gates {
        Gates {
            correctness_passed: c,
            stability_passed: s,
            promotion_gate_passed: p,
        }
    }

    #[test]
    fn rules() {
        let d = decide(0, &[gates(true, true, false), gates(true, true, true)]);
        assert_eq!((d.hint, d.promoted), (Hint::Promote, vec![1]));
        assert_eq!(decide(0, &[gates(true, true, false)]).hint, Hint::Refine);
        assert_eq!(decide(3, &[gates(true, true, false)]).hint, Hint::Iterate);
        let d = decide(3, &[gates(true, false, false)]);
        assert_eq!((d.hint, d.rationale), (Hint::Refine, UNSTABLE_RATIONALE));
        assert!(check_valid_count(-1).is_err());
    }
}
