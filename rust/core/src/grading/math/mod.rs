//! The `math` verifier: is the final answer of a response mathematically equal to the reference?
//!
//! Four stages, each testable alone:
//! 1. [`extract`]: find the answer text (last `\boxed{}`, "final answer is …", last math span, last number).
//! 2. [`normalize`]: rewrite LaTeX spelling variants to one form (`\dfrac`→`\frac`, `\left(`→`(`, units,
//!    thousands separators, degrees, unicode symbols).
//! 3. [`parse`]: read the normalised text into a [`expr::Node`] tree (numbers, expressions, relations,
//!    intervals, sets, tuples, matrices, text) with bounded depth.
//! 4. [`compare`]: decide equivalence: exact rational arithmetic where possible, evaluation at seeded
//!    random points otherwise, unordered sets, ordered tuples, equations up to a nonzero factor
//!    ([`relation`]: what equations and inequalities stand for).
//!
//! Every stage is bounded by a [`Budget`] (input length, depth, digits, exponent size, time); a bound hit
//! gives [`Status::Limit`], never a panic or a hang.

pub mod compare;
pub mod expr;
pub mod extract;
pub mod lex;
pub mod normalize;
pub mod number;
pub mod parse;
pub mod relation;

use crate::error::{py_repr, Error, Result};
use crate::grading::options::{OptionReader, Options};
use crate::grading::verdict::{Budget, LimitHit, Status, Verdict};

use expr::Node;

/// Where boxed answers rank among the extraction strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxedMode {
    /// The last `\boxed{}` group wins over everything else (default).
    First,
    /// A "final answer is …" phrase wins over boxes (math-verify's `boxed_match_priority` > 0).
    AfterPhrase,
    /// Boxes are not read at all.
    Off,
}

/// Options of the `math` verifier. [`Default`] is strict: no numeric leniency beyond the evaluation
/// tolerance, no percent leniency, variables must match by name.
#[derive(Debug, Clone, PartialEq)]
pub struct MathOptions {
    /// `float_rounding` (int, default unset): when a side contains a decimal literal, both values are
    /// rounded to this many decimal places before comparing (math-verify's `float_rounding`), so that
    /// `0.333` equals `1/3` at 3 places but not at 4. Unset: decimals compare exactly (`0.5 == 1/2`).
    pub float_rounding: Option<u32>,
    /// `rel_tol` (float, default 1e-9): relative tolerance when a value is not an exact rational
    /// (radicals, π, functions, expressions with variables evaluated at sample points).
    pub rel_tol: f64,
    /// `numeric_leniency` (float, default 0): relative tolerance accepted between any two numbers, exact
    /// ones included. Qwen/PRIME graders use 1e-4 (so 9999 passes for 10000); off by default.
    pub numeric_leniency: f64,
    /// `percent_leniency` (bool, default false): also accept a number 100 times or 1/100 of the
    /// reference (0.5 for 50). A written percent sign is always optional: `28\%` equals `28`.
    pub percent_leniency: bool,
    /// `strict_variables` (bool, default true): variable names matter (`f(x)` ≠ `f(y)`). When false, the
    /// response's variables are renamed to the reference's when both have the same number.
    pub strict_variables: bool,
    /// `boxed` (str: "first" | "after_phrase" | "off", default "first"): see [`BoxedMode`].
    pub boxed: BoxedMode,
    /// `plain_numbers` (bool, default true): when no box, phrase or math span holds the answer, read the
    /// last bare number of the text.
    pub plain_numbers: bool,
    /// `decimal_comma` (bool, default false): read `1,22` and `0,111` as decimals (European style)
    /// instead of lists; `1,234` with three-digit groups stays a thousands separator.
    pub decimal_comma: bool,
    /// `set_relation` (bool, default false): a response written as inequalities (`-2 \le x \le 7`) may
    /// match a reference interval. The reverse (reference as inequalities, response as interval) is
    /// always allowed.
    pub set_relation: bool,
    /// `self_correction` (bool, default true): a box after a correction word (`\boxed{3} Hmm, actually
    /// \boxed{4}`) replaces the earlier one. When false the two boxes form one group, a hedge.
    pub self_correction: bool,
    /// `ignore_run_on` (bool, default true): text after an end-of-turn token or an invented next
    /// `Question:` line is not read, unless the first turn holds no answer.
    pub ignore_run_on: bool,
}

impl Default for MathOptions {
    fn default() -> Self {
        MathOptions {
            float_rounding: None,
            rel_tol: 1e-9,
            numeric_leniency: 0.0,
            percent_leniency: false,
            strict_variables: true,
            boxed: BoxedMode::First,
            plain_numbers: true,
            decimal_comma: false,
            set_relation: false,
            self_correction: true,
            ignore_run_on: true,
        }
    }
}

impl MathOptions {
    /// Read the options from a caller's map; unknown keys and out-of-range values are errors.
    pub fn from_options(opts: &Options) -> Result<Self> {
        let d = MathOptions::default();
        let mut r = OptionReader::new("math", opts);
        let bad = |key: &str, reason: String| Error::InvalidArgument {
            name: "verifier option",
            reason: format!("math: option {} {reason}", py_repr(key)),
        };
        let fr = r.int("float_rounding", -1)?;
        let float_rounding = match fr {
            -1 => None,
            0..=30 => Some(fr as u32),
            _ => {
                return Err(bad(
                    "float_rounding",
                    format!("must be in 0..=30 (or -1 for exact), got {fr}"),
                ))
            }
        };
        let rel_tol = r.float("rel_tol", d.rel_tol)?;
        if !(0.0..1.0).contains(&rel_tol) || rel_tol.is_nan() {
            return Err(bad("rel_tol", format!("must be in [0, 1), got {rel_tol}")));
        }
        let numeric_leniency = r.float("numeric_leniency", d.numeric_leniency)?;
        if !(0.0..1.0).contains(&numeric_leniency) || numeric_leniency.is_nan() {
            return Err(bad(
                "numeric_leniency",
                format!("must be in [0, 1), got {numeric_leniency}"),
            ));
        }
        let boxed = match r.string("boxed", "first")?.as_str() {
            "first" => BoxedMode::First,
            "after_phrase" => BoxedMode::AfterPhrase,
            "off" => BoxedMode::Off,
            other => {
                return Err(bad(
                    "boxed",
                    format!("must be 'first', 'after_phrase' or 'off', got {}", py_repr(other)),
                ))
            }
        };
        let out = MathOptions {
            float_rounding,
            rel_tol,
            numeric_leniency,
            percent_leniency: r.bool("percent_leniency", d.percent_leniency)?,
            strict_variables: r.bool("strict_variables", d.strict_variables)?,
            boxed,
            plain_numbers: r.bool("plain_numbers", d.plain_numbers)?,
            decimal_comma: r.bool("decimal_comma", d.decimal_comma)?,
            set_relation: r.bool("set_relation", d.set_relation)?,
            self_correction: r.bool("self_correction", d.self_correction)?,
            ignore_run_on: r.bool("ignore_run_on", d.ignore_run_on)?,
        };
        r.finish()?;
        Ok(out)
    }
}

/// A parsed reference answer, ready to grade many responses against.
#[derive(Debug, Clone, PartialEq)]
pub struct MathReference {
    /// The parsed answer.
    pub(crate) node: Node,
    /// The normalised reference text (display, and the last-resort textual comparison).
    pub(crate) text: String,
    /// A multiple-choice gold (`B`, `(B)`, `\text{B}`): responses are read as the `choice` verifier
    /// reads them (`Answer: B`, `B) 42`, `The correct option is (B).`).
    pub(crate) choice: Option<u8>,
}

impl MathReference {
    /// The normalised reference text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the reference was read as text (a word answer, or LaTeX the parser does not know); it
    /// is then compared by spelling.
    pub fn is_text(&self) -> bool {
        matches!(self.node, Node::Text(_))
    }
}

/// Parse a reference answer: plain LaTeX (`\frac{2}{3}`, `x = -1`, `(1, 2)`), math spans
/// (`$2$ or $-2$`), or a worked solution whose answer is boxed.
pub fn parse_reference(
    reference: &str,
    opts: &MathOptions,
    budget: &mut Budget,
) -> std::result::Result<MathReference, Status> {
    if reference.len() > budget.limits.max_input_bytes {
        return Err(Status::Limit);
    }
    let parts = reference_parts(reference, opts).ok_or(Status::InvalidReference)?;
    if parts.iter().any(|p| malformed(p)) {
        return Err(Status::InvalidReference);
    }
    let (node, text) = read_parts(&parts, opts, budget).map_err(|_| Status::Limit)?;
    if text.is_empty() {
        return Err(Status::InvalidReference);
    }
    let choice = match parts.as_slice() {
        [p] => option_letter(p),
        _ => None,
    };
    Ok(MathReference { node, text, choice })
}

/// A reference that cannot be a written answer: unbalanced braces (`\frac{`), more opening than
/// closing brackets or the reverse (`((`; intervals such as `[0, 1)` mix kinds and still balance), a
/// `\begin{…}` without its `\end{…}`, or nothing but an empty box (`\boxed{}`).
fn malformed(p: &str) -> bool {
    let b = p.as_bytes();
    let (mut braces, mut brackets) = (0i64, 0i64);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                // `\{`, `\}` and `\left(`-style delimiters are counted as what they delimit.
                i += 1;
                if i < b.len() && matches!(b[i], b'{' | b'}') {
                    i += 1;
                    continue;
                }
                if b[i..].starts_with(b"left.") {
                    brackets += 1;
                } else if b[i..].starts_with(b"right.") {
                    brackets -= 1;
                }
            }
            b'{' => braces += 1,
            b'}' => braces -= 1,
            b'(' | b'[' => brackets += 1,
            b')' | b']' => brackets -= 1,
            _ => {}
        }
        if braces < 0 {
            return true;
        }
        i += 1;
    }
    let empty_box = p
        .replace("\\boxed", "")
        .replace("\\fbox", "")
        .trim_matches(|c: char| c.is_whitespace() || "{}$".contains(c))
        .is_empty();
    // `\begin{pmatrix}1` without its `\end`.
    let environments = p.matches("\\begin{").count() != p.matches("\\end{").count();
    braces != 0 || brackets != 0 || empty_box || environments
}

/// The option letter of a multiple-choice gold: one capital, possibly in parentheses, `\text{}` or `$`.
fn option_letter(p: &str) -> Option<u8> {
    let mut t = p.to_string();
    for w in ["\\textbf", "\\textrm", "\\text", "\\mathrm", "\\mathbf", "\\mbox"] {
        t = t.replace(w, "");
    }
    let t: Vec<u8> = t.bytes().filter(|c| !b"{}()[]$ .*:".contains(c)).collect();
    match t.as_slice() {
        [c] if c.is_ascii_uppercase() => Some(*c),
        _ => None,
    }
}

/// The answer text(s) of a reference string.
fn reference_parts(reference: &str, opts: &MathOptions) -> Option<Vec<String>> {
    let r = reference.trim();
    if r.is_empty() {
        return None;
    }
    let has_box = r.contains("\\boxed") || r.contains("\\fbox");
    let has_math = r.contains('$') || r.contains("\\(") || r.contains("\\[");
    if !has_box && !has_math && !normalize::is_prose(r) {
        return Some(vec![r.to_string()]);
    }
    if !has_box {
        if let Some(parts) = extract::spans_if_only_connected(r) {
            return Some(parts);
        }
    }
    // A worked solution: read it like a response, with plain numbers allowed.
    let ropts = MathOptions {
        boxed: BoxedMode::First,
        plain_numbers: true,
        ..opts.clone()
    };
    match extract::extract(r, &ropts) {
        Some(e) => Some(e.parts),
        None => Some(vec![r.to_string()]),
    }
}

/// Normalise and parse the parts of an answer into one node (a list when there are several).
fn read_parts(
    parts: &[String],
    opts: &MathOptions,
    budget: &mut Budget,
) -> std::result::Result<(Node, String), LimitHit> {
    let mut nodes = Vec::with_capacity(parts.len());
    let mut texts = Vec::with_capacity(parts.len());
    for p in parts {
        let norm = normalize::normalize(p, budget)?;
        let node = parse::parse(&norm, opts, budget)?;
        nodes.push(node);
        // The thousands mark is internal: show it as a comma.
        texts.push(if norm.contains(normalize::THOUSANDS) {
            norm.replace(normalize::THOUSANDS, ",")
        } else {
            norm
        });
    }
    let text = texts.join(", ");
    let node = if nodes.len() == 1 {
        nodes.pop().unwrap_or(Node::Text(String::new()))
    } else {
        Node::joined(nodes)
    };
    Ok((node, text))
}

/// A multiple-choice gold: the letter the response names, read by the `choice` verifier's rules (a
/// box, an answer phrase, a marked letter, a standalone capital); `None` when it names none, and the
/// response is then read as math (so a bare lower-case `b` is the variable b, not option B).
fn grade_choice(text: &str, letter: u8, opts: &MathOptions) -> Option<Verdict> {
    use crate::grading::choice;
    let text = text.rfind("</think>").map_or(text, |i| &text[i + 8..]);
    let text = if opts.ignore_run_on {
        crate::grading::text::first_turn(text)
    } else {
        text
    };
    let copts = choice::ChoiceOptions {
        num_choices: (letter - b'A' + 1).max(10),
    };
    let found = choice::extract(text, &copts)?;
    Some(if choice::compare(&found, letter) {
        Verdict::correct(found.display())
    } else {
        Verdict::incorrect(found.display())
    })
}

/// The extraction stage alone: the answer text found in `response`, or None.
pub fn extract_answer(response: &str, opts: &MathOptions) -> Option<String> {
    extract::extract(
        tail(
            response,
            crate::grading::verdict::Limits::default().max_input_bytes,
        ),
        opts,
    )
    .map(|e| e.joined())
}

/// The last `max` bytes of `s` (on a character boundary): answers are read from the end.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = s.len() - max;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Grade one response against a parsed reference.
pub fn grade(response: &str, reference: &MathReference, opts: &MathOptions, budget: &mut Budget) -> Verdict {
    let text = tail(response, budget.limits.max_input_bytes);
    if let Some(letter) = reference.choice {
        if let Some(v) = grade_choice(text, letter, opts) {
            return v;
        }
    }
    let Some(found) = extract::extract(text, opts) else {
        return Verdict::no_answer();
    };
    let (node, shown) = match read_parts(&found.parts, opts, budget) {
        Ok(x) => x,
        Err(LimitHit) => return Verdict::limit(),
    };
    if shown.is_empty() {
        return Verdict::no_answer();
    }
    match compare::equivalent(&reference.node, &node, opts, budget) {
        Ok(true) => Verdict::correct(shown),
        Ok(false) if shown == reference.text => Verdict::correct(shown),
        Ok(false) => Verdict::incorrect(shown),
        Err(LimitHit) if shown == reference.text => Verdict::correct(shown),
        Err(LimitHit) => Verdict::new(Status::Limit, Some(shown)),
    }
}

#[cfg(test)]
mod tests;
