//! Verifier options as they arrive from a caller (Python keyword arguments, a config file): a map from
//! name to a small value type. Each verifier reads the keys it knows and rejects the rest by name.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum OptValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
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
            reason: format!("{}: option {key:?} must be {want}, got {got:?}", self.verifier),
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
                        "{}: unknown option {k:?}; known options: {}",
                        self.verifier,
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
            e.contains("\"casesensitive\"") && e.contains("case_sensitive"),
            "{e}"
        );
    }
}
