//! Verifier options as they arrive from a caller (Python keyword arguments, a config file): a map from
//! name to a small value type. Each verifier reads the keys it knows and rejects the rest by name.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{py_float, py_repr, Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum OptValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for OptValue {
    /// As Python shows the value the caller passed (`True`, `3`, `0.5`, `'abc'`), for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptValue::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            OptValue::Int(i) => write!(f, "{i}"),
            OptValue::Float(x) => f.write_str(&py_float(*x)),
            OptValue::Str(s) => f.write_str(&py_repr(s)),
        }
    }
}

pub type Options = BTreeMap<String, OptValue>;

/// Reads typed values out of an [`Options`] map, remembering which keys were used so that
/// [`OptionReader::finish`] can name any unknown (misspelled) key.
pub struct OptionReader<'a> {
    verifier: &'static str,
    opts: &'a Options,
    used: Vec<&'a str>,
}

impl<'a> OptionReader<'a> {
    pub fn new(verifier: &'static str, opts: &'a Options) -> Self {
        OptionReader {
            verifier,
            opts,
            used: Vec::new(),
        }
    }

    fn get(&mut self, key: &'a str) -> Option<&'a OptValue> {
        self.used.push(key);
        self.opts.get(key)
    }

    fn bad(&self, key: &str, want: &str, got: &OptValue) -> Error {
        Error::InvalidArgument {
            name: "verifier option",
            reason: format!(
                "{}: option {} must be {want}, got {got}",
                self.verifier,
                py_repr(key)
            ),
        }
    }

    pub fn bool(&mut self, key: &'a str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(OptValue::Bool(b)) => Ok(*b),
            Some(v) => Err(self.bad(key, "a bool", v)),
        }
    }

    pub fn int(&mut self, key: &'a str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(OptValue::Int(i)) => Ok(*i),
            Some(v) => Err(self.bad(key, "an integer", v)),
        }
    }

    pub fn float(&mut self, key: &'a str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(OptValue::Float(x)) => Ok(*x),
            Some(OptValue::Int(i)) => Ok(*i as f64),
            Some(v) => Err(self.bad(key, "a number", v)),
        }
    }

    pub fn string(&mut self, key: &'a str, default: &str) -> Result<String> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(OptValue::Str(s)) => Ok(s.clone()),
            Some(v) => Err(self.bad(key, "a string", v)),
        }
    }

    /// Error on any key that no read asked for.
    pub fn finish(self) -> Result<()> {
        match self.opts.keys().find(|k| !self.used.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => {
                let mut known: Vec<&str> = self.used.clone();
                known.sort_unstable();
                known.dedup();
                Err(Error::InvalidArgument {
                    name: "verifier option",
                    reason: format!(
                        "{}: unknown option {}; known options: {}",
                        self.verifier,
                        py_repr(k),
                        known.join(", ")
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let mut o = Options::new();
        o.insert("case_sensitive".into(), OptValue::Bool(true));
        o.insert("casesensitive".into(), OptValue::Bool(true));
        let mut r = OptionReader::new("exact", &o);
        assert!(r.bool("case_sensitive", false).unwrap());
        let e = r.finish().unwrap_err().to_string();
        assert!(
            e.contains("unknown option 'casesensitive'") && e.contains("case_sensitive"),
            "{e}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_shown_as_python_shows_it() {
        let cases = [
            (OptValue::Str("abc".into()), "a number", "'abc'"),
            (OptValue::Bool(true), "a number", "True"),
            (OptValue::Float(1e-7), "an integer", "1e-07"),
            (OptValue::Int(3), "a string", "3"),
        ];
        for (value, want, shown) in cases {
            let mut o = Options::new();
            o.insert("k".into(), value);
            let mut r = OptionReader::new("math", &o);
            let e = match want {
                "a number" => r.float("k", 0.0).unwrap_err(),
                "an integer" => r.int("k", 0).unwrap_err(),
                _ => r.string("k", "").unwrap_err(),
            };
            assert_eq!(
                e.to_string(),
                format!("invalid verifier option: math: option 'k' must be {want}, got {shown}")
            );
        }
    }
}
