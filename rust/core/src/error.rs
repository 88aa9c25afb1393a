//! The one error type of the core. Every message says what was wrong and where (index, group, value),
//! because the caller usually has a batch of a million rollouts and needs to find the bad one. The same
//! facts are available as fields ([`Error::index`], [`Error::group`], [`Error::name`]) so that a caller
//! can act on them without reading the message.

use std::fmt;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An input array is empty where at least one element is needed.
    Empty { what: &'static str },
    /// Two arrays that must be aligned have different lengths: `what` has `got` elements, `other` has
    /// `expected`.
    LengthMismatch {
        what: &'static str,
        got: usize,
        other: &'static str,
        expected: usize,
    },
    /// A reward is NaN or infinite.
    NonFinite { index: usize, value: f64 },
    /// `maxrl` needs rewards in {0, 1}.
    NonBinary { index: usize, value: f64, group: i64 },
    /// MaxRL `order` larger than the unmasked size of a group.
    BadOrder { order: usize, group: i64, size: usize },
    /// Estimator name not recognised.
    UnknownEstimator { name: String },
    /// Any other argument outside its domain.
    InvalidArgument { name: &'static str, reason: String },
    /// An elementwise call failed at `index` of its (flattened) inputs.
    AtIndex { index: usize, error: Box<Error> },
}

impl Error {
    /// `error` located at element `index` of an elementwise call.
    pub fn at(index: usize, error: Error) -> Error {
        Error::AtIndex {
            index,
            error: Box::new(error),
        }
    }

    /// Index of the offending element, when the error is about one element.
    pub fn index(&self) -> Option<usize> {
        match self {
            Error::NonFinite { index, .. }
            | Error::NonBinary { index, .. }
            | Error::AtIndex { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// Group id of the offending group (as passed in `group_ids`), when the error is about one group.
    pub fn group(&self) -> Option<i64> {
        match self {
            Error::NonBinary { group, .. } | Error::BadOrder { group, .. } => Some(*group),
            Error::AtIndex { error, .. } => error.group(),
            _ => None,
        }
    }

    /// Name of the offending argument or array.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Empty { what } | Error::LengthMismatch { what, .. } => what,
            Error::NonFinite { .. } | Error::NonBinary { .. } => "rewards",
            Error::BadOrder { .. } => "order",
            Error::UnknownEstimator { .. } => "estimator",
            Error::InvalidArgument { name, .. } => name,
            Error::AtIndex { error, .. } => error.name(),
        }
    }

    /// `Ok(())` when `what` (of length `got`) is aligned with `other` (of length `expected`).
    pub fn check_aligned(what: &'static str, got: usize, other: &'static str, expected: usize) -> Result<()> {
        if got == expected {
            Ok(())
        } else {
            Err(Error::LengthMismatch {
                what,
                got,
                other,
                expected,
            })
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty { what } => write!(f, "{what} is empty: need at least one element"),
            Error::LengthMismatch {
                what,
                got,
                other,
                expected,
            } => write!(
                f,
                "{what} has length {got}, but {other} has length {expected}; they must be aligned"
            ),
            Error::NonFinite { index, value } => {
                write!(f, "reward at index {index} is not finite ({value}); mask it or replace it")
            }
            Error::NonBinary { index, value, group } => write!(
                f,
                "estimator 'maxrl' needs binary rewards (0 or 1), got {value} at index {index} (group {group}); \
                 binarise first, e.g. rewards >= threshold, or pass it in mask to exclude it"
            ),
            Error::BadOrder { order, group, size } => write!(
                f,
                "order {order} is larger than group {group}, which has {size} unmasked rollouts; \
                 MaxRL of order T needs T <= N (use order=None for T = N per group)"
            ),
            Error::UnknownEstimator { name } => write!(
                f,
                "unknown estimator {}; known estimators: {}",
                py_repr(name),
                crate::estimators::Estimator::NAMES.join(", ")
            ),
            Error::InvalidArgument { name, reason } => write!(f, "invalid {name}: {reason}"),
            Error::AtIndex { index, error } => write!(f, "at index {index}: {error}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_located_error() {
        let e = Error::at(
            4,
            Error::InvalidArgument {
                name: "c",
                reason: "5 correct out of n = 3 samples".into(),
            },
        );
        assert_eq!((e.index(), e.group(), e.name()), (Some(4), None, "c"));
        assert_eq!(
            e.to_string(),
            "at index 4: invalid c: 5 correct out of n = 3 samples"
        );
        let e = Error::check_aligned("c", 2, "n", 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c has length 2, but n has length 3; they must be aligned"
        );
        assert_eq!(e.name(), "c");
        let e = Error::NonBinary {
            index: 2,
            value: 0.5,
            group: 9,
        };
        assert_eq!((e.index(), e.group(), e.name()), (Some(2), Some(9), "rewards"));
    }
}

/// `s` quoted as Python's `repr` shows a `str` (`'abc'`, `"it's"`, `'a\\nb'`): messages reach Python
/// callers, who wrote the value as a Python string.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `x` as Python's `repr` shows a `float` (`1.0`, `1e-07`, `1e+16`, `inf`, `nan`).
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's Debug switches to exponent form where Python's repr does (|x| < 1e-4 or >= 1e16) and prints
    // the same shortest digits; only the exponent is written differently (`1e-7` for `1e-07`).
    let s = format!("{x:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

#[cfg(test)]
mod py_repr_tests {
    use super::{py_float, py_repr};

    #[test]
    fn strings_are_quoted_as_python_repr_quotes_them() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("'\""), "'\\'\"'");
        assert_eq!(py_repr("a\nb\\"), "'a\\nb\\\\'");
        assert_eq!(py_repr("\u{1}é"), "'\\x01é'");
        assert_eq!(py_repr(""), "''");
    }

    #[test]
    fn floats_are_written_as_python_repr_writes_them() {
        let cases = [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e-7, "1e-07"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float(x), want, "{x}");
        }
    }
}
