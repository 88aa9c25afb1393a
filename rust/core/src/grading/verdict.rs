//! What grading one item returns (docs/grading.md), and the bounds that replace timeouts.

use std::time::{Duration, Instant};

/// Outcome class of one graded item. A `Limit` or `Error` is never silently an `Incorrect`: the caller
/// can tell them apart and mask them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    Correct = 0,
    Incorrect = 1,
    /// Nothing could be extracted from the response.
    NoAnswer = 2,
    /// The reference itself could not be read.
    InvalidReference = 3,
    /// A size, depth or time bound was hit.
    Limit = 4,
    /// Grading this item panicked; only this item is affected.
    Error = 5,
}

impl Status {
    pub const NAMES: [&'static str; 6] = [
        "correct",
        "incorrect",
        "no_answer",
        "invalid_reference",
        "limit",
        "error",
    ];

    /// Every status, in code order.
    pub const ALL: [Status; 6] = [
        Status::Correct,
        Status::Incorrect,
        Status::NoAnswer,
        Status::InvalidReference,
        Status::Limit,
        Status::Error,
    ];

    /// Statuses whose score says nothing about the response: no verdict. Rollouts with one are masked out
    /// of the advantages and left out of pass@k's n, never counted as failures.
    pub const NO_VERDICT: [Status; 3] = [Status::InvalidReference, Status::Limit, Status::Error];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// In [0, 1]; 1 for correct, 0 otherwise (partial credit where a verifier defines it).
    pub score: f32,
    pub status: Status,
    /// The answer read from the response, normalised for display (None when nothing was read).
    pub extracted: Option<String>,
}

impl Verdict {
    pub fn new(status: Status, extracted: Option<String>) -> Self {
        let score = if status == Status::Correct { 1.0 } else { 0.0 };
        Verdict {
            score,
            status,
            extracted,
        }
    }
    pub fn correct(extracted: impl Into<String>) -> Self {
        Self::new(Status::Correct, Some(extracted.into()))
    }
    pub fn incorrect(extracted: impl Into<String>) -> Self {
        Self::new(Status::Incorrect, Some(extracted.into()))
    }
    pub fn no_answer() -> Self {
        Self::new(Status::NoAnswer, None)
    }
    pub fn invalid_reference() -> Self {
        Self::new(Status::InvalidReference, None)
    }
    pub fn limit() -> Self {
        Self::new(Status::Limit, None)
    }
}

/// Bounds on the work one item may cost. Checked cooperatively by the parsers and evaluators: no signals,
/// no threads killed, no subprocesses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Responses longer than this (bytes) are graded on their last `max_input_bytes` bytes only when a
    /// verifier reads answers from the end; otherwise they give `Limit`.
    pub max_input_bytes: usize,
    /// Parser nesting depth (braces, parentheses, fractions).
    pub max_depth: usize,
    /// Largest integer exponent evaluated exactly.
    pub max_exponent: u64,
    /// Largest number of decimal digits in an exact number.
    pub max_digits: usize,
    /// Wall-clock budget per item.
    pub time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 1 << 20,
            max_depth: 200,
            max_exponent: 4096,
            max_digits: 2000,
            time_budget: Duration::from_millis(20),
        }
    }
}

/// Marker error: a bound was hit. Propagate with `?` and turn into `Status::Limit` at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit;

/// Per-item budget: the limits plus a deadline, checked with [`Budget::tick`] in loops.
#[derive(Debug, Clone)]
pub struct Budget {
    pub limits: Limits,
    deadline: Instant,
    ticks: u32,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            deadline: Instant::now() + limits.time_budget,
            ticks: 0,
        }
    }

    /// Call in every loop that can run long; reads the clock every 256 calls.
    #[inline]
    pub fn tick(&mut self) -> Result<(), LimitHit> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(256) && Instant::now() > self.deadline {
            return Err(LimitHit);
        }
        Ok(())
    }

    pub fn expired(&self) -> bool {
        Instant::now() > self.deadline
    }
}
