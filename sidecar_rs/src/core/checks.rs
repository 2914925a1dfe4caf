//! Value checks shared by every operation (`runners/reference/checks.py`).
//!
//! Type checks (is it an int, a str, a list?) belong to whoever converts foreign values into
//! Rust ones (the Python bindings); these functions check the values themselves.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

use super::error::{fail, CoreResult, ErrorCode};

/// `checks.int_in`: `low <= value <= high` (no upper bound when `high` is None).
///
/// Values are `i128` so that Python ints beyond `i64` keep their order (the bindings
/// saturate anything beyond `i128`).
pub fn int_in(value: i128, field: &'static str, low: i128, high: Option<i128>) -> CoreResult<i128> {
    let above = matches!(high, Some(h) if value > h);
    if value < low || above {
        let bound = match high {
            Some(h) => format!("{low}..={h}"),
            None => format!(">= {low}"),
        };
        return fail(
            ErrorCode::OutOfRange,
            field,
            format!("{value} is outside {bound}"),
        );
    }
    Ok(value)
}

/// `checks.finite_real` once the value is a float: finite, and not below `low`.
pub fn finite_real(value: f64, field: &'static str, low: Option<f64>) -> CoreResult<f64> {
    if !value.is_finite() {
        return fail(
            ErrorCode::NotFinite,
            field,
            format!("{} is not finite", py_float_repr(value)),
        );
    }
    if let Some(low) = low {
        if value < low {
            return fail(
                ErrorCode::OutOfRange,
                field,
                format!("{value} is below {low}"),
            );
        }
    }
    Ok(value)
}

/// Error for an int too large to become a float (`float(int)` overflows).
pub fn int_too_large_for_float<T>(field: &'static str) -> CoreResult<T> {
    fail(ErrorCode::NotFinite, field, "integer too large for a float")
}

fn py_float_repr(value: f64) -> &'static str {
    if value.is_nan() {
        "nan"
    } else if value > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

/// `checks.name`: 1-64 characters of `[A-Za-z0-9_]` (ASCII only, like Python's `re`).
pub fn name<'a>(value: &'a [u8], field: &'static str) -> CoreResult<&'a [u8]> {
    let ok = (1..=64).contains(&value.len())
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return fail(
            ErrorCode::InvalidName,
            field,
            format!(
                "{:?} is not 1-64 characters of [A-Za-z0-9_]",
                String::from_utf8_lossy(value)
            ),
        );
    }
    Ok(value)
}

/// `checks.non_empty_str` once the value is a string.
pub fn non_empty_str<'a>(value: &'a [u8], field: &'static str) -> CoreResult<&'a [u8]> {
    if value.is_empty() {
        return fail(ErrorCode::Empty, field, "must not be an empty string");
    }
    Ok(value)
}

/// `checks.non_empty_sequence` once the value is a sequence: its length must not be 0.
pub fn non_empty_len(len: usize, field: &'static str) -> CoreResult<()> {
    if len == 0 {
        return fail(ErrorCode::Empty, field, "must not be empty");
    }
    Ok(())
}

/// `checks.no_duplicates`: fails on the first item already seen, in order.
pub fn no_duplicates<T, I>(items: I, field: &'static str) -> CoreResult<()>
where
    T: Hash + Eq + Debug,
    I: IntoIterator<Item = T>,
{
    let iter = items.into_iter();
    let mut seen = HashSet::with_capacity(iter.size_hint().0);
    for item in iter {
        if seen.contains(&item) {
            return fail(
                ErrorCode::Duplicate,
                field,
                format!("{item:?} appears more than once"),
            );
        }
        seen.insert(item);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_bounds() {
        assert_eq!(int_in(5, "f", 1, Some(16)), Ok(5));
        assert_eq!(
            int_in(0, "f", 1, Some(16)).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(int_in(17, "f", 1, Some(16)).unwrap_err().field, "f");
        assert_eq!(int_in(i128::MAX, "f", 0, None), Ok(i128::MAX));
    }

    #[test]
    fn floats() {
        assert_eq!(
            finite_real(f64::NAN, "f", None).unwrap_err().code,
            ErrorCode::NotFinite
        );
        assert_eq!(
            finite_real(f64::NEG_INFINITY, "f", Some(0.0))
                .unwrap_err()
                .code,
            ErrorCode::NotFinite
        );
        assert_eq!(
            finite_real(-0.5, "f", Some(0.0)).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(finite_real(-0.0, "f", Some(0.0)), Ok(-0.0));
    }

    #[test]
    fn names() {
        assert!(name(b"tile_20", "k").is_ok());
        assert!(name(b"", "k").is_err());
        assert!(name(&[b'a'; 64], "k").is_ok());
        assert!(name(&[b'a'; 65], "k").is_err());
        assert!(name("t\u{e9}".as_bytes(), "k").is_err());
        assert!(name(b"a-b", "k").is_err());
    }

    #[test]
    fn duplicates() {
        assert!(no_duplicates([1, 2, 3], "x").is_ok());
        let err = no_duplicates([1, 2, 1, 2], "x").unwrap_err();
        assert_eq!((err.code, err.field), (ErrorCode::Duplicate, "x"));
    }
}
