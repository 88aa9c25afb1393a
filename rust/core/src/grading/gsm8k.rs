//! GSM8K-style numeric answers.
//!
//! Extraction, in order: the first number after the last `####` (the dataset's own format); then, unless
//! `strict_format`, the number in the last `\boxed{}`, the first number after the last "answer is" /
//! "answer:", and finally the last number in the response. Comparison is exact on the decimal value
//! (`72.0 == 72`, `1,000 == 1000`, `$18 == 18`), never with a tolerance: 9999 is not 10000.

use super::numbers::{first_number, last_number, Decimal};
use super::text::{last_boxed, rest_of_line, rfind_ci};
use super::{Budget, LimitHit, OptionReader, Options, Status, Verdict};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gsm8kOptions {
    /// Only accept an answer written as `#### N`; anything else is `no_answer`.
    pub strict_format: bool,
}

impl Gsm8kOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let mut r = OptionReader::new("gsm8k", opts);
        let o = Gsm8kOptions {
            strict_format: r.bool("strict_format", false)?,
        };
        r.finish()?;
        Ok(o)
    }
}

const MARKER: &str = "####";

/// The number after the last `####`, or `None` if there is no marker or no number after it.
fn after_marker(text: &str, max_digits: usize) -> std::result::Result<Option<Decimal>, LimitHit> {
    match text.rfind(MARKER) {
        Some(i) => first_number(&text[i + MARKER.len()..], max_digits),
        None => Ok(None),
    }
}

/// The answer a response gives, by the rules in the module docs.
pub fn extract(
    response: &str,
    opts: &Gsm8kOptions,
    max_digits: usize,
) -> std::result::Result<Option<Decimal>, LimitHit> {
    if let Some(d) = after_marker(response, max_digits)? {
        return Ok(Some(d));
    }
    if opts.strict_format {
        return Ok(None);
    }
    if let Some(d) = last_boxed(response)
        .map(|b| last_number(b, max_digits))
        .transpose()?
        .flatten()
    {
        return Ok(Some(d));
    }
    for phrase in ["answer is", "answer:"] {
        if let Some(i) = rfind_ci(response, phrase) {
            if let Some(d) = first_number(rest_of_line(response, i + phrase.len()), max_digits)? {
                return Ok(Some(d));
            }
        }
    }
    last_number(response, max_digits)
}

/// The extracted answer as display text (`None` when nothing was found or a bound was hit).
pub fn extract_answer(response: &str, opts: &Gsm8kOptions) -> Option<String> {
    let max_digits = super::Limits::default().max_digits;
    extract(response, opts, max_digits)
        .ok()
        .flatten()
        .map(|d| d.to_string())
}

/// A gold answer: a plain number (`18`, `2,125`), or a full GSM8K solution ending in `#### N`.
pub fn parse_reference(reference: &str, budget: &mut Budget) -> std::result::Result<Decimal, Status> {
    let max_digits = budget.limits.max_digits;
    let gold = reference
        .rfind(MARKER)
        .map_or(reference, |i| &reference[i + MARKER.len()..]);
    match Decimal::parse(gold, max_digits) {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(Status::InvalidReference),
        Err(LimitHit) => Err(Status::Limit),
    }
}

/// Exact equality of decimal values.
pub fn compare(answer: &Decimal, reference: &Decimal) -> bool {
    answer == reference
}

pub fn grade(response: &str, reference: &Decimal, opts: &Gsm8kOptions, budget: &mut Budget) -> Verdict {
    match extract(response, opts, budget.limits.max_digits) {
        Err(LimitHit) => Verdict::limit(),
        Ok(None) => Verdict::no_answer(),
        Ok(Some(d)) if compare(&d, reference) => Verdict::correct(d.to_string()),
        Ok(Some(d)) => Verdict::incorrect(d.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::Limits;

    fn run(response: &str, gold: &str, strict: bool) -> Verdict {
        let mut b = Budget::new(Limits::default());
        let r = parse_reference(gold, &mut b).unwrap();
        grade(
            response,
            &r,
            &Gsm8kOptions {
                strict_format: strict,
            },
            &mut b,
        )
    }

    #[test]
    fn marker_and_last_number() {
        assert_eq!(
            run("She makes 9 * 2 = $18.\n#### 18", "18", false).status,
            Status::Correct
        );
        assert_eq!(run("The total is 72.0", "72", false).status, Status::Correct);
        assert_eq!(run("It costs $1,000.", "1000", false).status, Status::Correct);
        assert_eq!(
            run("The change is -3 degrees.", "-3", false).status,
            Status::Correct
        );
        assert_eq!(run("#### 18 (not 20)", "18", false).status, Status::Correct);
        let v = run("so 9999", "10000", false);
        assert_eq!(
            (v.status, v.extracted.as_deref()),
            (Status::Incorrect, Some("9999"))
        );
    }

    #[test]
    fn phrases_beat_trailing_numbers() {
        assert_eq!(
            run("The answer is 18. Step 2 was easy.", "18", false).status,
            Status::Correct
        );
        assert_eq!(
            run("so \\boxed{18} after 3 steps", "18", false).status,
            Status::Correct
        );
        assert_eq!(
            run("Answer: $18 per day for 7 days", "18", false).status,
            Status::Correct
        );
    }

    #[test]
    fn strict_format() {
        assert_eq!(run("The answer is 18", "18", true).status, Status::NoAnswer);
        assert_eq!(run("#### 18", "18", true).status, Status::Correct);
        assert_eq!(run("no numbers here", "18", false).status, Status::NoAnswer);
    }

    #[test]
    fn references() {
        let mut b = Budget::new(Limits::default());
        assert_eq!(
            parse_reference("a\n#### 2,125", &mut b).unwrap().to_string(),
            "2125"
        );
        assert_eq!(parse_reference("eighteen", &mut b), Err(Status::InvalidReference));
        assert_eq!(parse_reference("", &mut b), Err(Status::InvalidReference));
        assert_eq!(parse_reference(&"9".repeat(5000), &mut b), Err(Status::Limit));
    }

    #[test]
    fn options_are_checked() {
        let mut o = Options::new();
        o.insert("strict".into(), super::super::OptValue::Bool(true));
        assert!(Gsm8kOptions::from_options(&o).is_err());
    }
}
