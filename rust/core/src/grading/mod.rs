//! Verifiers for verifiable-reward RL: answer extraction, normalisation, parsing and comparison, as
//! separate stages, graded in parallel with a bounded cost per item.

pub mod verdict;

pub use verdict::{Budget, LimitHit, Limits, Status, Verdict};
