//! Rust port of the T2 auto-scheduler core.
//!
//! [`core`] is plain Rust (no Python types) and is what `cargo test` exercises. The
//! `python` feature adds the PyO3 binding layer that builds `t2_sidecar._native`.

pub mod core;

#[cfg(feature = "python")]
mod bindings;

/// Version of the port, reported as `RustBackend.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
