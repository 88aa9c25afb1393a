//! Countdown arithmetic puzzles: reach `target` with + - * / and parentheses, using each given number at
//! most once (or exactly once with `use_all`).
//!
//! Reference: JSON `{"target": 24, "numbers": [3, 4, 8, 1]}` (integers; other keys ignored).
//! Expression: the text inside the last `<answer>...</answer>`, else the rest of the line after the last
//! "Answer:", else the last non-empty line; anything from the first '=' on is dropped ("(8-4)*6 = 24").
//! `×`, `\times`, `\cdot`, `÷`, `\div`, `−`, brackets and `$` are read as their ASCII meaning. Values are
//! exact rationals: `8/(3-8/3)` is exactly 24; division by zero is `incorrect`.

use std::collections::HashMap;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use super::json::{self, Json};
use super::text::rfind_ci;
use super::{Budget, LimitHit, OptionReader, Options, Status, Verdict};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountdownOptions {
    /// Every given number must be used exactly once (TinyZero's rule); default: at most once.
    pub use_all: bool,
}

impl CountdownOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let mut r = OptionReader::new("countdown", opts);
        let o = CountdownOptions {
            use_all: r.bool("use_all", false)?,
        };
        r.finish()?;
        Ok(o)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Puzzle {
    pub target: i64,
    pub numbers: Vec<i64>,
}

pub fn parse_reference(reference: &str, budget: &mut Budget) -> std::result::Result<Puzzle, Status> {
    if reference.len() > budget.limits.max_input_bytes {
        return Err(Status::Limit);
    }
    let v = json::parse(reference, 16).map_err(|_| Status::InvalidReference)?;
    let target = v
        .get("target")
        .and_then(Json::as_i64)
        .ok_or(Status::InvalidReference)?;
    let Some(Json::Array(items)) = v.get("numbers") else {
        return Err(Status::InvalidReference);
    };
    let numbers = items
        .iter()
        .map(Json::as_i64)
        .collect::<Option<Vec<i64>>>()
        .ok_or(Status::InvalidReference)?;
    if numbers.is_empty() {
        return Err(Status::InvalidReference);
    }
    Ok(Puzzle { target, numbers })
}

/// The expression text a response gives (before normalisation), by the rules in the module docs.
pub fn extract(response: &str) -> Option<&str> {
    let raw = if let Some(open) = rfind_ci(response, "<answer>") {
        let body = &response[open + "<answer>".len()..];
        rfind_ci(body, "</answer>").map_or(body, |close| &body[..close])
    } else if let Some(k) = rfind_ci(response, "answer:") {
        super::text::rest_of_line(response, k + "answer:".len())
    } else {
        response.lines().rev().find(|l| !l.trim().is_empty())?
    };
    let lhs = raw.split('=').next().unwrap_or(raw).trim();
    (!lhs.is_empty()).then_some(lhs)
}

/// ASCII form of an expression: Unicode and LaTeX operators replaced, brackets made parentheses, `$`,
/// `\left`/`\right` and a trailing period dropped.
pub fn normalize(expr: &str) -> String {
    let mut s = expr.to_string();
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\times", "*"),
        ("\\cdot", "*"),
        ("\\div", "/"),
        ("\\(", ""),
        ("\\)", ""),
        ("×", "*"),
        ("·", "*"),
        ("∗", "*"),
        ("÷", "/"),
        ("−", "-"),
        ("–", "-"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let s: String = s
        .chars()
        .filter(|&c| c != '$')
        .map(|c| match c {
            '[' | '{' => '(',
            ']' | '}' => ')',
            c => c,
        })
        .collect();
    s.trim().trim_end_matches('.').trim().to_string()
}

/// Why an expression is not a valid answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    Syntax,
    /// A number that was not given, or given fewer times than used.
    NotGiven(String),
    /// `use_all` and some number was not used.
    Unused,
    DivisionByZero,
    Limit,
}

impl From<LimitHit> for Reject {
    fn from(_: LimitHit) -> Self {
        Reject::Limit
    }
}

/// Recursive-descent evaluator over the normalised expression. Each literal is taken out of the multiset
/// of given numbers as it is read, so an expression stops at its first extra number whatever its length.
struct Eval<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    left: HashMap<i64, usize>,
    budget: &'a mut Budget,
    max_bits: u64,
}

type Value = std::result::Result<BigRational, Reject>;

impl Eval<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn nest(&mut self) -> std::result::Result<(), Reject> {
        self.depth += 1;
        if self.depth > self.budget.limits.max_depth {
            return Err(Reject::Limit);
        }
        Ok(())
    }

    fn checked(&self, v: BigRational) -> Value {
        if v.numer().bits() > self.max_bits || v.denom().bits() > self.max_bits {
            return Err(Reject::Limit);
        }
        Ok(v)
    }

    // expr := term (('+' | '-') term)*
    fn expr(&mut self) -> Value {
        let mut acc = self.term()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.budget.tick()?;
            self.i += 1;
            let rhs = self.term()?;
            acc = self.checked(if op == b'+' { acc + rhs } else { acc - rhs })?;
        }
        Ok(acc)
    }

    // term := unary (('*' | '/') unary)*
    fn term(&mut self) -> Value {
        let mut acc = self.unary()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.budget.tick()?;
            self.i += 1;
            let rhs = self.unary()?;
            acc = if op == b'*' {
                self.checked(acc * rhs)?
            } else if rhs.is_zero() {
                return Err(Reject::DivisionByZero);
            } else {
                self.checked(acc / rhs)?
            };
        }
        Ok(acc)
    }

    // unary := '-' unary | primary
    fn unary(&mut self) -> Value {
        if self.peek() == Some(b'-') {
            self.i += 1;
            self.nest()?;
            let v = -self.unary()?;
            self.depth -= 1;
            return Ok(v);
        }
        self.primary()
    }

    // primary := integer | '(' expr ')'
    fn primary(&mut self) -> Value {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                self.nest()?;
                let v = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err(Reject::Syntax);
                }
                self.i += 1;
                self.depth -= 1;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.i;
                while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                if self.b.get(self.i) == Some(&b'.') {
                    return Err(Reject::Syntax);
                }
                let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| Reject::Syntax)?;
                let shown = || text.chars().take(40).collect::<String>();
                let n: i64 = text.parse().map_err(|_| Reject::NotGiven(shown()))?;
                match self.left.get_mut(&n) {
                    Some(k) if *k > 0 => *k -= 1,
                    _ => return Err(Reject::NotGiven(shown())),
                }
                Ok(BigRational::from_integer(BigInt::from(n)))
            }
            _ => Err(Reject::Syntax),
        }
    }
}

/// Evaluate a normalised expression against the puzzle's numbers.
pub fn evaluate(
    expr: &str,
    puzzle: &Puzzle,
    opts: &CountdownOptions,
    budget: &mut Budget,
) -> std::result::Result<BigRational, Reject> {
    let mut left = HashMap::new();
    for &n in &puzzle.numbers {
        *left.entry(n).or_insert(0usize) += 1;
    }
    // Digits bound the size of every intermediate value (about 3.33 bits per digit).
    let max_bits = (budget.limits.max_digits as u64).saturating_mul(10) / 3 + 64;
    let mut ev = Eval {
        b: expr.as_bytes(),
        i: 0,
        depth: 0,
        left,
        budget,
        max_bits,
    };
    let v = ev.expr()?;
    if ev.peek().is_some() {
        return Err(Reject::Syntax);
    }
    if opts.use_all && ev.left.values().any(|&k| k > 0) {
        return Err(Reject::Unused);
    }
    Ok(v)
}

pub fn compare(value: &BigRational, target: i64) -> bool {
    value.is_integer() && *value.numer() == BigInt::from(target)
}

pub fn extract_answer(response: &str) -> Option<String> {
    extract(response).map(normalize).filter(|s| !s.is_empty())
}

pub fn grade(response: &str, puzzle: &Puzzle, opts: &CountdownOptions, budget: &mut Budget) -> Verdict {
    let Some(expr) = extract_answer(response) else {
        return Verdict::no_answer();
    };
    match evaluate(&expr, puzzle, opts, budget) {
        Err(Reject::Limit) => Verdict::limit(),
        Ok(v) if compare(&v, puzzle.target) => Verdict::correct(expr),
        _ => Verdict::incorrect(expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::Limits;

    const P: &str = r#"{"target": 24, "numbers": [3, 4, 8, 1]}"#;

    fn run_with(response: &str, reference: &str, opts: &CountdownOptions) -> Verdict {
        let mut b = Budget::new(Limits::default());
        match parse_reference(reference, &mut b) {
            Ok(p) => grade(response, &p, opts, &mut b),
            Err(s) => Verdict::new(s, None),
        }
    }

    fn run(response: &str) -> Status {
        run_with(response, P, &CountdownOptions::default()).status
    }

    #[test]
    fn extraction() {
        assert_eq!(
            extract("think...\n<answer> (8-4)*3*2 </answer>"),
            Some("(8-4)*3*2")
        );
        assert_eq!(extract("Answer: 3*8 = 24\nthanks"), Some("3*8"));
        assert_eq!(extract("blah\n 3*8*1 = 24 \n\n"), Some("3*8*1"));
        assert_eq!(extract("<answer>"), None);
        assert_eq!(normalize(r"$(8 \times 3) \div 1$."), "(8 * 3) / 1");
    }

    #[test]
    fn grading() {
        assert_eq!(run("<answer>3*8</answer>"), Status::Correct);
        assert_eq!(run("<answer>(3 × 8) ÷ 1</answer>"), Status::Correct);
        assert_eq!(run("Answer: 8*3*1 = 24"), Status::Correct);
        assert_eq!(run("<answer>4*3*2</answer>"), Status::Incorrect); // 2 is not given
        assert_eq!(run("<answer>3*8*1*1</answer>"), Status::Incorrect); // 1 used twice
        assert_eq!(run("<answer>8/(4-4)</answer>"), Status::Incorrect);
        assert_eq!(run("<answer>8/(1-1)</answer>"), Status::Incorrect); // 1 twice, also / 0
        assert_eq!(run("<answer>3*8+</answer>"), Status::Incorrect);
        assert_eq!(run("<answer>3.0*8</answer>"), Status::Incorrect);
        assert_eq!(run(""), Status::NoAnswer);
        // Exact rationals: 8 / (3 - 8/3) = 24.
        let v = run_with(
            "<answer>8/(3-8/3)</answer>",
            r#"{"target":24,"numbers":[8,3,8,3]}"#,
            &Default::default(),
        );
        assert_eq!(v.status, Status::Correct);
        let v = run_with(
            "<answer>-3+8-1</answer>",
            r#"{"target":4,"numbers":[8,3,1]}"#,
            &Default::default(),
        );
        assert_eq!(v.status, Status::Correct);
    }

    #[test]
    fn use_all() {
        let all = CountdownOptions { use_all: true };
        assert_eq!(
            run_with("<answer>3*8</answer>", P, &all).status,
            Status::Incorrect
        );
        assert_eq!(
            run_with("<answer>3*8*1*(4/4)</answer>", P, &all).status,
            Status::Incorrect
        );
        let p = r#"{"target":24,"numbers":[3,8,1,4]}"#;
        assert_eq!(
            run_with("<answer>(4-3)*8*(1+2)</answer>", p, &all).status,
            Status::Incorrect
        );
        let p = r#"{"target":24,"numbers":[3,8,2,2]}"#;
        assert_eq!(
            run_with("<answer>3*8*(2/2)</answer>", p, &all).status,
            Status::Correct
        );
    }

    #[test]
    fn bounds() {
        let deep = format!("<answer>{}3{}</answer>", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(run(&deep), Status::Limit);
        let neg = format!("<answer>{}3</answer>", "-".repeat(10_000));
        assert_eq!(run(&neg), Status::Limit);
        let long = format!("<answer>{}</answer>", "1+".repeat(500_000));
        assert_eq!(run(&long), Status::Incorrect);
        let big = format!("<answer>{}</answer>", "9".repeat(100));
        assert_eq!(run(&big), Status::Incorrect);
    }

    #[test]
    fn references() {
        for bad in [
            "",
            "{}",
            r#"{"target": "24", "numbers": [1]}"#,
            r#"{"target": 24, "numbers": []}"#,
            "[1,2]",
        ] {
            assert_eq!(
                run_with("<answer>1</answer>", bad, &Default::default()).status,
                Status::InvalidReference
            );
        }
        let p = r#"{"numbers": [1, 2], "target": 3.0, "id": "x"}"#;
        assert_eq!(
            run_with("<answer>1+2</answer>", p, &Default::default()).status,
            Status::Correct
        );
    }
}
