//! The pure-Rust T2 core: the same rules, in the same order, as `runners/reference`.

pub mod checks;
pub mod decision;
pub mod enumerate;
pub mod error;
pub mod gates;
pub mod plan;
pub mod ranking;
pub mod stats;

pub use error::{CoreError, ErrorCode};
