//! maxrl-core: the numeric heart of maxrl-rs, with no Python in it.
//!
//! * [`estimators`]: per-rollout advantages (MaxRL of any order, GRPO, RLOO, Dr.GRPO, REINFORCE).
//! * [`groups`]: rollouts grouped by prompt id in any order, per-group statistics.
//! * [`passk`]: unbiased pass@k, fail@k and the order-T MaxRL objective from samples.
//! * [`parallel`]: the rayon pool shared by every batch call (thread count, fork safety).
//!
//! Formulas cite `docs/estimators.md` (the numeric contract) and Tajwar et al. 2026, arXiv 2602.02710.

mod dense_counts;
pub mod error;
pub mod estimators;
pub mod grading;
pub mod groups;
pub mod parallel;
pub mod passk;

pub use error::{Error, Result};
pub use estimators::{advantages, AdvantageConfig, Estimator, StdKind};
pub use groups::{GroupIndex, GroupStats};

/// Deterministic pseudo-random numbers for tests (xorshift64): each call gives a value in `0..m`.
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |m| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    }
}
