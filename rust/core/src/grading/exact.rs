//! Exact string match after normalisation: the whole response against the whole reference.
//!
//! Normalisation (applied to both sides): Unicode punctuation removed when `strip_punctuation`; runs of
//! whitespace collapsed to one space and the ends trimmed when `normalize_whitespace` (default); lower-cased
//! unless `case_sensitive`. A response that normalises to nothing is `no_answer`; such a reference is
//! `invalid_reference`.

use super::{Budget, LimitHit, OptionReader, Options, Status, Verdict};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactOptions {
    pub case_sensitive: bool,
    pub normalize_whitespace: bool,
    pub strip_punctuation: bool,
}

impl Default for ExactOptions {
    fn default() -> Self {
        ExactOptions {
            case_sensitive: false,
            normalize_whitespace: true,
            strip_punctuation: false,
        }
    }
}

impl ExactOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let d = ExactOptions::default();
        let mut r = OptionReader::new("exact", opts);
        let o = ExactOptions {
            case_sensitive: r.bool("case_sensitive", d.case_sensitive)?,
            normalize_whitespace: r.bool("normalize_whitespace", d.normalize_whitespace)?,
            strip_punctuation: r.bool("strip_punctuation", d.strip_punctuation)?,
        };
        r.finish()?;
        Ok(o)
    }
}

/// Punctuation in the Unicode sense (ASCII punctuation and symbols, plus general punctuation blocks).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{00A1}'..='\u{00BF}' | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}' | '\u{3000}'..='\u{303F}')
        || matches!(c, '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
}

/// The normalised form of `s` under `opts`.
pub fn normalize(s: &str, opts: &ExactOptions, budget: &mut Budget) -> std::result::Result<String, LimitHit> {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        budget.tick()?;
        if opts.strip_punctuation && is_punctuation(c) {
            continue;
        }
        if opts.normalize_whitespace && c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if opts.case_sensitive || c.is_ascii() {
            out.push(if opts.case_sensitive {
                c
            } else {
                c.to_ascii_lowercase()
            });
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Ok(out)
}

pub fn parse_reference(
    reference: &str,
    opts: &ExactOptions,
    budget: &mut Budget,
) -> std::result::Result<String, Status> {
    match normalize(reference, opts, budget) {
        Err(LimitHit) => Err(Status::Limit),
        Ok(s) if s.is_empty() => Err(Status::InvalidReference),
        Ok(s) => Ok(s),
    }
}

pub fn extract_answer(response: &str, opts: &ExactOptions) -> Option<String> {
    let mut b = Budget::new(super::Limits::default());
    normalize(response, opts, &mut b).ok().filter(|s| !s.is_empty())
}

pub fn grade(response: &str, reference: &str, opts: &ExactOptions, budget: &mut Budget) -> Verdict {
    match normalize(response, opts, budget) {
        Err(LimitHit) => Verdict::limit(),
        Ok(s) if s.is_empty() => Verdict::no_answer(),
        Ok(s) if s == reference => Verdict::correct(s),
        Ok(s) => Verdict::incorrect(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{Limits, OptValue};

    fn run(response: &str, gold: &str, opts: &ExactOptions) -> Status {
        let mut b = Budget::new(Limits::default());
        match parse_reference(gold, opts, &mut b) {
            Ok(r) => grade(response, &r, opts, &mut b).status,
            Err(s) => s,
        }
    }

    #[test]
    fn defaults() {
        let o = ExactOptions::default();
        assert_eq!(run("  Paris\n", "paris", &o), Status::Correct);
        assert_eq!(run("New   York", "new york", &o), Status::Correct);
        assert_eq!(run("Paris.", "Paris", &o), Status::Incorrect);
        assert_eq!(run("   ", "Paris", &o), Status::NoAnswer);
        assert_eq!(run("Paris", " \t", &o), Status::InvalidReference);
        assert_eq!(run("ÉCOLE", "école", &o), Status::Correct);
    }

    #[test]
    fn options() {
        let cs = ExactOptions {
            case_sensitive: true,
            ..Default::default()
        };
        assert_eq!(run("paris", "Paris", &cs), Status::Incorrect);
        let p = ExactOptions {
            strip_punctuation: true,
            ..Default::default()
        };
        assert_eq!(run("Paris!", "“Paris”", &p), Status::Correct);
        let raw = ExactOptions {
            normalize_whitespace: false,
            ..Default::default()
        };
        assert_eq!(run("new  york", "new york", &raw), Status::Incorrect);

        let mut m = Options::new();
        m.insert("case_sensitive".into(), OptValue::Bool(true));
        m.insert("strip_punctuation".into(), OptValue::Bool(true));
        let o = ExactOptions::from_options(&m).unwrap();
        assert!(o.case_sensitive && o.strip_punctuation && o.normalize_whitespace);
        m.insert("case_sensitive".into(), OptValue::Int(1));
        assert!(ExactOptions::from_options(&m)
            .unwrap_err()
            .to_string()
            .contains("case_sensitive"));
    }
}
