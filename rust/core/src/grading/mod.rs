//! Verifiers for verifiable-reward RL: answer extraction, normalisation, parsing and comparison, as
//! separate stages, graded in parallel with a bounded cost per item.
//!
//! * [`batch`]: the [`Verifier`] enum (chosen by name), the reusable [`Grader`] that caches parsed
//!   references and grades a batch on the shared thread pool, one panic guard and one [`Budget`] per item.
//! * Verifiers: [`gsm8k`] (exact decimal answers), [`exact`] (normalised strings), [`choice`] (letters
//!   A–J), [`maze`] (move sequences on a grid), [`countdown`] (arithmetic expressions, exact rationals).
//! * Shared pieces: [`numbers`] (exact decimals in text), [`text`] (search helpers), [`json`] (small
//!   references), [`verdict`] and [`options`] (the framework types).

pub mod batch;
pub mod choice;
pub mod countdown;
pub mod exact;
pub mod gsm8k;
pub mod json;
pub mod math;
pub mod maze;
pub mod numbers;
pub mod options;
pub mod text;
pub mod verdict;

pub use batch::{Grader, Reference, Verifier, LIMIT_KEYS};
pub use options::{OptValue, OptionReader, Options};
pub use verdict::{Budget, LimitHit, Limits, Status, Verdict};
