//! The one error type of the core. Every message says what was wrong and where (index, group, value),
//! because the caller usually has a batch of a million rollouts and needs to find the bad one.

use std::fmt;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An input array is empty where at least one element is needed.
    Empty { what: &'static str },
    /// Two arrays that must be aligned have different lengths.
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A reward is NaN or infinite.
    NonFinite { index: usize, value: f64 },
    /// `maxrl` needs rewards in {0, 1}.
    NonBinary { index: usize, value: f64, group: i64 },
    /// `order` outside 1..=N for some group.
    BadOrder { order: usize, group: i64, size: usize },
    /// Estimator name not recognised.
    UnknownEstimator { name: String },
    /// Any other argument outside its domain.
    InvalidArgument { name: &'static str, reason: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty { what } => write!(f, "{what} is empty: need at least one element"),
            Error::LengthMismatch { what, expected, got } => {
                write!(f, "{what} has length {got}, but rewards has length {expected}; they must be aligned")
            }
            Error::NonFinite { index, value } => {
                write!(f, "reward at index {index} is not finite ({value}); mask it or replace it")
            }
            Error::NonBinary { index, value, group } => write!(
                f,
                "estimator 'maxrl' needs binary rewards (0 or 1), got {value} at index {index} (group {group}); \
                 binarise first, e.g. rewards >= threshold, or pass it in mask to exclude it"
            ),
            Error::BadOrder { order, group, size } if *order == 0 => {
                write!(f, "order must be >= 1, got {order} (group {group} has {size} rollouts)")
            }
            Error::BadOrder { order, group, size } => write!(
                f,
                "order {order} is larger than group {group}, which has {size} unmasked rollouts; \
                 MaxRL of order T needs T <= N (use order=None for T = N per group)"
            ),
            Error::UnknownEstimator { name } => write!(
                f,
                "unknown estimator {name:?}; known estimators: {}",
                crate::estimators::Estimator::NAMES.join(", ")
            ),
            Error::InvalidArgument { name, reason } => write!(f, "invalid {name}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
