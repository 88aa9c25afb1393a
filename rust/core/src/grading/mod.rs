//! Verifiers for verifiable-reward RL: answer extraction, normalisation, parsing and comparison, as
//! separate stages, graded in parallel with a bounded cost per item.

pub mod options;
pub mod verdict;

pub use options::{OptValue, OptionReader, Options};
pub use verdict::{Budget, LimitHit, Limits, Status, Verdict};
