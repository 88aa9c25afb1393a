//! GSM8K-style numeric answers.
//!
//! Extraction, in order: the number after the last `####` (the dataset's own format); then, unless
//! `strict_format`, the number in the last `\boxed{}`, the first number after the last "answer is" /
//! "answer:", and finally the last number in the response. A number is the whole token: `3/4`,
//! `\frac{3}{4}` and `1 1/2` are fractions, `1,000` and `1 000 000` are one number, `29,50` has a
//! decimal comma (option `decimal_comma`). Comparison is exact on the value (`72.0 == 72`,
//! `1,000 == 1000`, `$18 == 18`, `3/4 == 0.75`), never with a tolerance: 9999 is not 10000, 3/4 is not 3.
//!
//! A run-on continuation (an end-of-turn token, or a new `Question:` the model invented and answered
//! with its own `####`) is not read unless `ignore_run_on` is off.

use super::numbers::{first_number, last_number, Number, Style};
use super::text::{first_turn, last_boxed, rest_of_line, rfind_ci};
use super::{Budget, LimitHit, OptionReader, Options, Status, Verdict};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsm8kOptions {
    /// Only accept an answer written as `#### N`; anything else is `no_answer`.
    pub strict_format: bool,
    /// A comma before one or two digits is a decimal comma (`29,50` = 29.5, default); when false it is
    /// dropped as lm-evaluation-harness and verl do (`29,50` = 2950).
    pub decimal_comma: bool,
    /// Grade only the first turn: text after an end-of-turn token or an invented next `Question:` is
    /// ignored (default). When false, the last `####` anywhere counts.
    pub ignore_run_on: bool,
}

impl Default for Gsm8kOptions {
    fn default() -> Self {
        Gsm8kOptions {
            strict_format: false,
            decimal_comma: true,
            ignore_run_on: true,
        }
    }
}

impl Gsm8kOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let d = Gsm8kOptions::default();
        let mut r = OptionReader::new("gsm8k", opts);
        let o = Gsm8kOptions {
            strict_format: r.bool("strict_format", d.strict_format)?,
            decimal_comma: r.bool("decimal_comma", d.decimal_comma)?,
            ignore_run_on: r.bool("ignore_run_on", d.ignore_run_on)?,
        };
        r.finish()?;
        Ok(o)
    }

    fn style(&self) -> Style {
        Style {
            decimal_comma: self.decimal_comma,
        }
    }
}

const MARKER: &str = "####";

/// The answer a response gives, by the rules in the module docs.
pub fn extract(
    response: &str,
    opts: &Gsm8kOptions,
    max_digits: usize,
) -> std::result::Result<Option<Number>, LimitHit> {
    if opts.ignore_run_on {
        let head = first_turn(response);
        if head.len() < response.len() {
            if let Some(n) = extract_from(head, opts, max_digits)? {
                return Ok(Some(n));
            }
        }
    }
    extract_from(response, opts, max_digits)
}

fn extract_from(
    response: &str,
    opts: &Gsm8kOptions,
    max_digits: usize,
) -> std::result::Result<Option<Number>, LimitHit> {
    let style = opts.style();
    if let Some(i) = response.rfind(MARKER) {
        if let Some(d) = first_number(&response[i + MARKER.len()..], style, max_digits)? {
            return Ok(Some(d));
        }
    }
    if opts.strict_format {
        return Ok(None);
    }
    if let Some(d) = last_boxed(response)
        .map(|b| last_number(b, style, max_digits))
        .transpose()?
        .flatten()
    {
        return Ok(Some(d));
    }
    for phrase in ["answer is", "answer:"] {
        if let Some(i) = rfind_ci(response, phrase) {
            let rest = rest_of_line(response, i + phrase.len());
            // "Answer: After 3 days, Tom has 15 apples": a restatement's result, not its first number.
            let restated = super::math::extract::restated_answer(rest);
            let rest = restated.as_deref().unwrap_or(rest);
            if let Some(d) = first_number(rest, style, max_digits)? {
                return Ok(Some(d));
            }
        }
    }
    // The last number lies in the last 64 KiB unless they hold none: scan the whole text only then.
    let near_end = super::text::tail(response, 64 * 1024);
    match last_number(near_end, style, max_digits)? {
        Some(n) => Ok(Some(n)),
        None if near_end.len() < response.len() => last_number(response, style, max_digits),
        None => Ok(None),
    }
}

/// The extracted answer as display text (`None` when nothing was found or a bound was hit).
pub fn extract_answer(response: &str, opts: &Gsm8kOptions) -> Option<String> {
    let max_digits = super::Limits::default().max_digits;
    extract(response, opts, max_digits)
        .ok()
        .flatten()
        .map(|d| d.to_string())
}

/// A gold answer: a plain number (`18`, `2,125`, `3/4`), or a full GSM8K solution ending in `#### N`.
pub fn parse_reference(
    reference: &str,
    opts: &Gsm8kOptions,
    budget: &mut Budget,
) -> std::result::Result<Number, Status> {
    let max_digits = budget.limits.max_digits;
    let gold = reference
        .rfind(MARKER)
        .map_or(reference, |i| &reference[i + MARKER.len()..]);
    match Number::parse(gold, opts.style(), max_digits) {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(Status::InvalidReference),
        Err(LimitHit) => Err(Status::Limit),
    }
}

/// Exact equality of values.
pub fn compare(answer: &Number, reference: &Number) -> bool {
    answer.same_value(reference)
}

pub fn grade(response: &str, reference: &Number, opts: &Gsm8kOptions, budget: &mut Budget) -> Verdict {
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
        let o = Gsm8kOptions {
            strict_format: strict,
            ..Default::default()
        };
        run_with(response, gold, &o)
    }

    fn run_with(response: &str, gold: &str, o: &Gsm8kOptions) -> Verdict {
        let mut b = Budget::new(Limits::default());
        let r = parse_reference(gold, o, &mut b).unwrap();
        grade(response, &r, o, &mut b)
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
        let o = Gsm8kOptions::default();
        assert_eq!(
            parse_reference("a\n#### 2,125", &o, &mut b).unwrap().to_string(),
            "2125"
        );
        assert_eq!(parse_reference("3/4", &o, &mut b).unwrap().to_string(), "3/4");
        assert_eq!(
            parse_reference("eighteen", &o, &mut b),
            Err(Status::InvalidReference)
        );
        assert_eq!(parse_reference("", &o, &mut b), Err(Status::InvalidReference));
        assert_eq!(parse_reference(&"9".repeat(5000), &o, &mut b), Err(Status::Limit));
    }

    #[test]
    fn options_are_checked() {
        let mut o = Options::new();
        o.insert("strict".into(), super::super::OptValue::Bool(true));
        assert!(Gsm8kOptions::from_options(&o).is_err());
    }

    fn check(o: &Gsm8kOptions, cases: &[(&str, &str, Status, Option<&str>)]) {
        for &(response, gold, status, extracted) in cases {
            let v = run_with(response, gold, o);
            assert_eq!(
                (v.status, v.extracted.as_deref()),
                (status, extracted),
                "{response:?} vs {gold:?}"
            );
        }
    }

    #[test]
    fn fractions_are_whole_numbers() {
        use Status::{Correct, Incorrect};
        check(
            &Gsm8kOptions::default(),
            &[
                ("#### 3/4", "3", Incorrect, Some("3/4")),
                ("#### 3/4", "0.75", Correct, Some("3/4")),
                ("Final answer: 1/2", "1", Incorrect, Some("1/2")),
                ("Final answer: 1/2", "0.5", Correct, Some("1/2")),
                ("The answer is 6/8 of the pie.", "3/4", Correct, Some("3/4")),
                ("so each gets \\boxed{\\frac{5}{2}}", "2.5", Correct, Some("5/2")),
                ("so each gets \\boxed{\\dfrac{5}{2}}", "5", Incorrect, Some("5/2")),
                ("#### -3/4", "-0.75", Correct, Some("-3/4")),
                ("#### 2 1/2", "2.5", Correct, Some("5/2")),
                ("#### 2 1/2", "2", Incorrect, Some("5/2")),
                ("#### 4/2", "2", Correct, Some("2")),
                ("#### 3 / 4", "0.75", Correct, Some("3/4")),
                ("#### 3 / 4", "3", Incorrect, Some("3/4")),
                // A date is not a fraction; a zero denominator is not one either.
                ("On 12/25/2020 she had 7", "7", Correct, Some("7")),
                ("#### 5/0", "5", Correct, Some("5")),
            ],
        );
    }

    #[test]
    fn grouped_thousands_are_one_number() {
        use Status::{Correct, Incorrect};
        check(
            &Gsm8kOptions::default(),
            &[
                ("Answer: 1 000 000", "1000000", Correct, Some("1000000")),
                ("Answer: 1 000 000", "1", Incorrect, Some("1000000")),
                ("#### 12 500", "12500", Correct, Some("12500")),
                ("#### 12\u{2009}500 dollars", "12500", Correct, Some("12500")),
                ("The answer is $1\\,250$.", "1250", Correct, Some("1250")),
                ("#### -2 000", "-2000", Correct, Some("-2000")),
                // Not groups: a four-digit lead, or two digits after the space.
                ("In 2023 100 people came. #### 100", "100", Correct, Some("100")),
                ("#### 3 45", "3", Correct, Some("3")),
            ],
        );
    }

    #[test]
    fn decimal_comma_is_an_option() {
        use Status::{Correct, Incorrect};
        let d = Gsm8kOptions::default();
        check(
            &d,
            &[
                ("#### 29,00", "29", Correct, Some("29")),
                ("#### 29,50", "29.5", Correct, Some("29.5")),
                ("#### 29,50", "29", Incorrect, Some("29.5")),
                ("The answer is 3,5 liters", "3.5", Correct, Some("3.5")),
                ("#### 1,250", "1250", Correct, Some("1250")),
                ("#### 1,250,75", "1250", Correct, Some("1250")),
            ],
        );
        let harness = Gsm8kOptions {
            decimal_comma: false,
            ..d
        };
        check(
            &harness,
            &[
                ("#### 29,00", "2900", Correct, Some("2900")),
                ("#### 29,50", "29.5", Incorrect, Some("2950")),
                ("#### 1,250", "1250", Correct, Some("1250")),
            ],
        );
    }

    #[test]
    fn run_on_continuations_are_ignored() {
        use Status::{Correct, Incorrect};
        let d = Gsm8kOptions::default();
        let run_on = "She has 18 left.\n#### 18\n\nQuestion: Tom buys 6 eggs a day for 7 days. How many?\nAnswer: 6 * 7 = 42\n#### 42";
        check(
            &d,
            &[
                (run_on, "18", Correct, Some("18")),
                (run_on, "42", Incorrect, Some("18")),
                ("#### 5<|im_end|>\n#### 7", "5", Correct, Some("5")),
                (
                    "The answer is 12.\n\n**Problem 2:** What is 3+4?\nThe answer is 7.",
                    "12",
                    Correct,
                    Some("12"),
                ),
                // Nothing answered before the new question: the whole text is read.
                (
                    "Let me see.\nQuestion: what is 2+2?\n#### 4",
                    "4",
                    Correct,
                    Some("4"),
                ),
            ],
        );
        let keep = Gsm8kOptions {
            ignore_run_on: false,
            ..d
        };
        check(&keep, &[(run_on, "42", Correct, Some("42"))]);
    }
}
