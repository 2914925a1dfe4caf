//! Errors of the core: the contract's `(code, field)` pair plus a message for people.

use std::fmt;

/// The error codes of `t2_sidecar/errors.py`; both backends pick the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    WrongType,
    Empty,
    Duplicate,
    OutOfRange,
    InvalidName,
    InvalidValue,
    NotFinite,
    TooLarge,
    Overflow,
}

impl ErrorCode {
    /// The code's string, exactly as in `t2_sidecar.errors`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::Empty => "empty",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::NotFinite => "not_finite",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Overflow => "overflow",
        }
    }
}

/// Bad input to a core operation (mapped to `InvalidInputError` by the bindings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    pub code: ErrorCode,
    pub field: &'static str,
    pub message: String,
}

impl CoreError {
    pub fn new(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Self {
        CoreError {
            code,
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for CoreError {}

/// Result of a core check.
pub type CoreResult<T> = Result<T, CoreError>;

/// Shorthand for `Err(CoreError::new(..))`.
pub fn fail<T>(code: ErrorCode, field: &'static str, message: impl Into<String>) -> CoreResult<T> {
    Err(CoreError::new(code, field, message))
}
