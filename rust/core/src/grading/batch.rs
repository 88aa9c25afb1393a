//! Batch grading: a verifier chosen by name, each distinct reference parsed once, every item graded in
//! parallel with its own [`Budget`] and its own panic guard.
//!
//! Results do not depend on the number of threads: items are independent and come back in input order.
//! The only source of variation is the per-item wall-clock budget, which turns an item that runs too long
//! on a loaded machine into `limit` rather than letting it stall the batch.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use rayon::prelude::*;

use super::numbers::Number;
use super::{choice, countdown, exact, gsm8k, math, maze, text};
use super::{Budget, Limits, OptValue, Options, Status, Verdict};
use crate::error::{py_repr, Error, Result};
use crate::parallel;

/// A verifier and its options.
#[derive(Debug, Clone)]
pub enum Verifier {
    Math(math::MathOptions),
    Gsm8k(gsm8k::Gsm8kOptions),
    Exact(exact::ExactOptions),
    Choice(choice::ChoiceOptions),
    Maze(maze::MazeOptions),
    Countdown(countdown::CountdownOptions),
}

/// A parsed reference, ready to grade any number of responses against.
#[derive(Debug, Clone)]
pub enum Reference {
    Math(math::MathReference),
    Gsm8k(Number),
    Exact(String),
    Choice(u8),
    Maze(maze::Grid),
    Countdown(countdown::Puzzle),
}

impl Verifier {
    pub const NAMES: [&'static str; 6] = ["math", "gsm8k", "exact", "choice", "maze", "countdown"];

    /// The verifier called `name`, configured from `opts` (unknown option keys are an error).
    pub fn new(name: &str, opts: &Options) -> Result<Self> {
        Ok(match name {
            "math" => Verifier::Math(math::MathOptions::from_options(opts)?),
            "gsm8k" => Verifier::Gsm8k(gsm8k::Gsm8kOptions::from_options(opts)?),
            "exact" => Verifier::Exact(exact::ExactOptions::from_options(opts)?),
            "choice" => Verifier::Choice(choice::ChoiceOptions::from_options(opts)?),
            "maze" => Verifier::Maze(maze::MazeOptions::from_options(opts)?),
            "countdown" => Verifier::Countdown(countdown::CountdownOptions::from_options(opts)?),
            _ => {
                return Err(Error::InvalidArgument {
                    name: "verifier",
                    reason: format!(
                        "unknown verifier {}; known verifiers: {}",
                        py_repr(name),
                        Self::NAMES.join(", ")
                    ),
                })
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Verifier::Math(_) => "math",
            Verifier::Gsm8k(_) => "gsm8k",
            Verifier::Exact(_) => "exact",
            Verifier::Choice(_) => "choice",
            Verifier::Maze(_) => "maze",
            Verifier::Countdown(_) => "countdown",
        }
    }

    /// Verifiers that read the answer from the end of a response grade an oversized one on its tail;
    /// the others give `limit`.
    fn reads_from_end(&self) -> bool {
        matches!(
            self,
            Verifier::Math(_) | Verifier::Gsm8k(_) | Verifier::Choice(_) | Verifier::Countdown(_)
        )
    }

    pub fn parse_reference(
        &self,
        reference: &str,
        budget: &mut Budget,
    ) -> std::result::Result<Reference, Status> {
        if reference.len() > budget.limits.max_input_bytes {
            return Err(Status::Limit);
        }
        Ok(match self {
            Verifier::Math(o) => Reference::Math(math::parse_reference(reference, o, budget)?),
            Verifier::Gsm8k(o) => Reference::Gsm8k(gsm8k::parse_reference(reference, o, budget)?),
            Verifier::Exact(o) => Reference::Exact(exact::parse_reference(reference, o, budget)?),
            Verifier::Choice(o) => Reference::Choice(choice::parse_reference(reference, o)?),
            Verifier::Maze(_) => Reference::Maze(maze::parse_reference(reference, budget)?),
            Verifier::Countdown(_) => Reference::Countdown(countdown::parse_reference(reference, budget)?),
        })
    }

    /// Grade one response against a parsed reference (no panic guard: see [`Grader`]).
    pub fn grade(&self, response: &str, reference: &Reference, budget: &mut Budget) -> Verdict {
        let max = budget.limits.max_input_bytes;
        let truncated = response.len() > max;
        let response = match truncated {
            false => response,
            true if self.reads_from_end() => text::tail(response, max),
            true => return Verdict::limit(),
        };
        let verdict = self.grade_within(response, reference, budget);
        // An oversized response with no answer in its tail may have one in the part not read: the
        // size bound was hit, so `limit`, not `no_answer`.
        if truncated && verdict.status == Status::NoAnswer {
            return Verdict::limit();
        }
        verdict
    }

    fn grade_within(&self, response: &str, reference: &Reference, budget: &mut Budget) -> Verdict {
        match (self, reference) {
            (Verifier::Math(o), Reference::Math(r)) => math::grade(response, r, o, budget),
            (Verifier::Gsm8k(o), Reference::Gsm8k(r)) => gsm8k::grade(response, r, o, budget),
            (Verifier::Exact(o), Reference::Exact(r)) => exact::grade(response, r, o, budget),
            (Verifier::Choice(o), Reference::Choice(r)) => choice::grade(response, *r, o, budget),
            (Verifier::Maze(o), Reference::Maze(r)) => maze::grade(response, r, o, budget),
            (Verifier::Countdown(o), Reference::Countdown(r)) => countdown::grade(response, r, o, budget),
            // A reference parsed by another verifier: a caller bug, reported on the item.
            _ => Verdict::new(Status::Error, None),
        }
    }

    /// The answer this verifier reads from `response`, for display and debugging.
    pub fn extract_answer(&self, response: &str) -> Option<String> {
        match self {
            Verifier::Math(o) => math::extract_answer(response, o),
            Verifier::Gsm8k(o) => gsm8k::extract_answer(response, o),
            Verifier::Exact(o) => exact::extract_answer(response, o),
            Verifier::Choice(o) => choice::extract_answer(response, o),
            Verifier::Maze(o) => maze::extract_answer(response, o),
            Verifier::Countdown(_) => countdown::extract_answer(response),
        }
    }
}

/// Option keys that set [`Limits`] rather than a verifier option.
pub const LIMIT_KEYS: [&str; 5] = [
    "max_input_bytes",
    "max_depth",
    "max_exponent",
    "max_digits",
    "time_budget_ms",
];

/// Split `opts` into limits (keys in [`LIMIT_KEYS`], over the defaults) and the verifier's own options.
pub fn split_limits(opts: &Options) -> Result<(Limits, Options)> {
    let mut limits = Limits::default();
    let mut rest = opts.clone();
    for key in LIMIT_KEYS {
        let Some(v) = rest.remove(key) else { continue };
        let bad = |want: &str| Error::InvalidArgument {
            name: "verifier option",
            reason: format!("option {} must be {want}, got {v}", py_repr(key)),
        };
        if key == "time_budget_ms" {
            let ms = match v {
                OptValue::Int(i) => i as f64,
                OptValue::Float(x) => x,
                _ => return Err(bad("a positive number of milliseconds")),
            };
            if !(ms.is_finite() && ms > 0.0) {
                return Err(bad("a positive number of milliseconds"));
            }
            limits.time_budget = Duration::from_secs_f64(ms / 1000.0);
            continue;
        }
        let n = match v {
            OptValue::Int(i) if i > 0 => i as u64,
            _ => return Err(bad("a positive integer")),
        };
        match key {
            "max_input_bytes" => limits.max_input_bytes = n as usize,
            "max_depth" => limits.max_depth = n as usize,
            "max_exponent" => limits.max_exponent = n,
            _ => limits.max_digits = n as usize,
        }
    }
    Ok((limits, rest))
}

thread_local! {
    /// Set while this thread runs guarded grading code: its panics are caught, so the hook stays quiet.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}
static HOOK: Once = Once::new();
static REPORTED: AtomicBool = AtomicBool::new(false);

/// Run `f`, turning a panic into `Verdict` status `error` for this item only. The process-wide panic hook
/// is wrapped once so that caught panics print one line the first time and nothing afterwards; panics
/// elsewhere still reach the previous hook.
pub fn guarded(f: impl FnOnce() -> Verdict) -> Verdict {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            } else if !REPORTED.swap(true, Ordering::Relaxed) {
                eprintln!("maxrl: a verifier panicked on one item, which is graded 'error' ({info}); later panics in grading are not printed");
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    out.unwrap_or_else(|_| Verdict::new(Status::Error, None))
}

type Parsed = std::result::Result<Arc<Reference>, Status>;

/// Distinct references kept between calls before the cache is emptied and refilled.
const CACHE_ENTRIES: usize = 1 << 14;
/// Batches this small are graded on the calling thread: waking the pool costs more.
const SMALL_BATCH: usize = 8;

/// A reusable grader: a verifier, its limits, and a cache of parsed references (so a batch of N rollouts
/// per prompt, or the same prompts across steps, parse each reference once).
#[derive(Debug)]
pub struct Grader {
    verifier: Verifier,
    limits: Limits,
    cache: Mutex<HashMap<String, Parsed>>,
}

impl Grader {
    /// The verifier `name` with `opts`; the option keys in [`LIMIT_KEYS`] set the limits.
    pub fn new(name: &str, opts: &Options) -> Result<Self> {
        let (limits, rest) = split_limits(opts)?;
        Ok(Self::with_limits(Verifier::new(name, &rest)?, limits))
    }

    pub fn with_limits(verifier: Verifier, limits: Limits) -> Self {
        Grader {
            verifier,
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Grade `responses[i]` against `references[i]` for every i, on the shared thread pool.
    pub fn grade_batch(&self, responses: &[&str], references: &[&str]) -> Result<Vec<Verdict>> {
        self.grade_batch_with_threads(None, responses, references)
    }

    /// As [`Grader::grade_batch`], on a pool of `threads` threads (None: the shared pool).
    pub fn grade_batch_with_threads(
        &self,
        threads: Option<usize>,
        responses: &[&str],
        references: &[&str],
    ) -> Result<Vec<Verdict>> {
        Error::check_aligned("references", references.len(), "responses", responses.len())?;
        if responses.len() < SMALL_BATCH {
            return Ok(self.run(responses, references, false));
        }
        Ok(parallel::install_with(threads, || {
            self.run(responses, references, true)
        }))
    }

    /// Grade one item (guarded, with its own budget).
    pub fn grade_one(&self, response: &str, reference: &str) -> Verdict {
        self.run(&[response], &[reference], false)
            .pop()
            .expect("one verdict per item")
    }

    fn parse_guarded(&self, reference: &str) -> Parsed {
        let mut out = Err(Status::Error);
        guarded(|| {
            let mut budget = Budget::new(self.limits);
            out = self
                .verifier
                .parse_reference(reference, &mut budget)
                .map(Arc::new);
            Verdict::no_answer()
        });
        out
    }

    fn grade_guarded(&self, response: &str, reference: &Parsed) -> Verdict {
        match reference {
            Err(status) => Verdict::new(*status, None),
            Ok(r) => guarded(|| {
                let mut budget = Budget::new(self.limits);
                let v = self.verifier.grade(response, r, &mut budget);
                debug_assert!((0.0..=1.0).contains(&v.score), "score {} out of [0, 1]", v.score);
                v
            }),
        }
    }

    fn run(&self, responses: &[&str], references: &[&str], parallel: bool) -> Vec<Verdict> {
        // Distinct references in first-seen order, and each item's index into them.
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut distinct: Vec<&str> = Vec::new();
        let slots: Vec<usize> = references
            .iter()
            .map(|&r| {
                *index.entry(r).or_insert_with(|| {
                    distinct.push(r);
                    distinct.len() - 1
                })
            })
            .collect();

        let cached: Vec<Option<Parsed>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            distinct.iter().map(|r| cache.get(*r).cloned()).collect()
        };
        let fill = |(r, c): (&&str, Option<Parsed>)| c.unwrap_or_else(|| self.parse_guarded(r));
        let parsed: Vec<Parsed> = if parallel {
            distinct.par_iter().zip(cached.clone()).map(fill).collect()
        } else {
            distinct.iter().zip(cached.clone()).map(fill).collect()
        };
        self.remember(&distinct, &cached, &parsed);

        let item = |(response, &slot): (&&str, &usize)| self.grade_guarded(response, &parsed[slot]);
        if parallel {
            responses.par_iter().zip(&slots).map(item).collect()
        } else {
            responses.iter().zip(&slots).map(item).collect()
        }
    }

    /// Cache the newly parsed references whose outcome does not depend on timing (not `limit`/`error`).
    fn remember(&self, distinct: &[&str], cached: &[Option<Parsed>], parsed: &[Parsed]) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for ((r, c), p) in distinct.iter().zip(cached).zip(parsed) {
            if c.is_some() || matches!(p, Err(Status::Limit | Status::Error)) {
                continue;
            }
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert((*r).to_string(), p.clone());
        }
    }

    /// Number of references in the cache.
    pub fn cached_references(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grader(name: &str) -> Grader {
        Grader::new(name, &Options::new()).unwrap()
    }

    #[test]
    fn names_and_options() {
        for name in Verifier::NAMES {
            assert_eq!(Verifier::new(name, &Options::new()).unwrap().name(), name);
        }
        let e = Verifier::new("maths", &Options::new()).unwrap_err().to_string();
        assert!(
            e.contains("unknown verifier 'maths'") && e.contains("gsm8k"),
            "{e}"
        );
        let mut o = Options::new();
        o.insert("strict_format".into(), OptValue::Bool(true));
        o.insert("time_budget_ms".into(), OptValue::Int(5));
        let g = Grader::new("gsm8k", &o).unwrap();
        assert_eq!(g.limits().time_budget, Duration::from_millis(5));
        assert!(Grader::new("exact", &o)
            .unwrap_err()
            .to_string()
            .contains("strict_format"));
        o.insert("max_depth".into(), OptValue::Int(0));
        assert!(Grader::new("gsm8k", &o)
            .unwrap_err()
            .to_string()
            .contains("max_depth"));
    }

    #[test]
    fn aligned_lengths() {
        let e = grader("exact")
            .grade_batch(&["a", "b"], &["a"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("length 1") && e.contains("length 2"), "{e}");
        assert!(grader("exact").grade_batch(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn caches_each_reference_once() {
        let g = grader("gsm8k");
        let responses: Vec<String> = (0..64).map(|i| format!("#### {}", i % 3)).collect();
        let responses: Vec<&str> = responses.iter().map(String::as_str).collect();
        let refs: Vec<&str> = (0..64).map(|i| ["0", "1", "oops"][i % 4 % 3]).collect();
        let v = g.grade_batch(&responses, &refs).unwrap();
        assert_eq!(g.cached_references(), 3);
        for (i, v) in v.iter().enumerate() {
            let expect = match refs[i] {
                "oops" => Status::InvalidReference,
                r if responses[i].ends_with(r) => Status::Correct,
                _ => Status::Incorrect,
            };
            assert_eq!(v.status, expect, "item {i}");
        }
        let again = g.grade_batch(&responses, &refs).unwrap();
        assert_eq!(v, again);
    }

    #[test]
    fn same_verdicts_on_any_number_of_threads() {
        let g = grader("countdown");
        let p = r#"{"target": 24, "numbers": [3, 4, 8, 1]}"#;
        let responses: Vec<String> = (0..500)
            .map(|i| format!("<answer>{}*{}</answer>", i % 9, 8 - i % 5))
            .collect();
        let responses: Vec<&str> = responses.iter().map(String::as_str).collect();
        let refs = vec![p; responses.len()];
        let one = g.grade_batch_with_threads(Some(1), &responses, &refs).unwrap();
        for t in [2, 4] {
            assert_eq!(
                one,
                g.grade_batch_with_threads(Some(t), &responses, &refs).unwrap()
            );
        }
        assert!(one.iter().any(|v| v.status == Status::Correct));
    }

    #[test]
    fn a_panic_is_an_error_for_that_item_only() {
        let items: Vec<usize> = (0..100).collect();
        let out: Vec<Verdict> = parallel::install_with(Some(2), || {
            items
                .par_iter()
                .map(|&i| {
                    guarded(|| {
                        assert!(i % 10 != 3, "item {i} is bad");
                        Verdict::correct(i.to_string())
                    })
                })
                .collect()
        });
        for (i, v) in out.iter().enumerate() {
            assert_eq!(
                v.status,
                if i % 10 == 3 {
                    Status::Error
                } else {
                    Status::Correct
                }
            );
        }
    }

    #[test]
    fn oversized_inputs() {
        let mut o = Options::new();
        o.insert("max_input_bytes".into(), OptValue::Int(1000));
        let big = format!("{}#### 7", "x".repeat(5000));
        assert_eq!(
            Grader::new("gsm8k", &o).unwrap().grade_one(&big, "7").status,
            Status::Correct
        );
        assert_eq!(
            Grader::new("exact", &o).unwrap().grade_one(&big, "7").status,
            Status::Limit
        );
        // The answer sits in the part that was not read: the size bound, not a missing answer.
        let early = format!("The answer is \\boxed{{7}}. {}", "x".repeat(5000));
        for v in ["math", "gsm8k", "choice"] {
            let gold = if v == "choice" { "B" } else { "7" };
            let got = Grader::new(v, &o).unwrap().grade_one(&early, gold);
            assert_eq!((got.status, got.extracted), (Status::Limit, None), "{v}");
        }
        // Within the bound an empty response is still no_answer.
        assert_eq!(
            Grader::new("math", &o)
                .unwrap()
                .grade_one("no numbers", "7")
                .status,
            Status::NoAnswer
        );
        assert_eq!(
            Grader::new("maze", &o).unwrap().grade_one(&big, "SG").status,
            Status::Limit
        );
        assert_eq!(
            Grader::new("exact", &o).unwrap().grade_one("7", &big).status,
            Status::Limit
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const PIECES: &[&str] = &[
            "\\boxed{",
            "}",
            "{",
            "(",
            ")",
            "####",
            "answer",
            " is ",
            "B",
            "-",
            "1,000",
            "<answer>",
            "</answer>",
            "UP",
            "DOWN",
            "RIGHT",
            "DONE",
            "=",
            "/",
            "*",
            "^",
            "\\frac",
            "S",
            "G",
            "#",
            ".",
            "\n",
            " ",
            "3",
            "8",
            "0",
            "9^{9^9}",
            "\\sqrt",
            "x",
            "$",
            "é",
            "\u{1F642}",
            "\\",
            "\"",
            ":",
            "[",
            "]",
        ];

        fn sample_reference(name: &str) -> &'static str {
            match name {
                "math" => "\\frac{1}{2}",
                "gsm8k" => "18",
                "exact" => "Paris",
                "choice" => "B",
                "maze" => "S.#\n#.#\n#.G",
                _ => r#"{"target": 24, "numbers": [3, 4, 8, 1]}"#,
            }
        }

        fn pieces() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            /// Any text, as response or reference, gives a verdict: no panic, a score in {0, 1} that
            /// agrees with the status. (No panic guard here: a panic fails the property.)
            #[test]
            fn any_text_gets_a_verdict(
                a in any::<String>(),
                b in pieces(),
                c in pieces(),
            ) {
                for name in Verifier::NAMES {
                    let v = Verifier::new(name, &Options::new()).unwrap();
                    for reference in [a.as_str(), b.as_str(), sample_reference(name)] {
                        let Ok(parsed) = v.parse_reference(reference, &mut Budget::new(Limits::default())) else {
                            continue;
                        };
                        for response in [a.as_str(), b.as_str(), c.as_str()] {
                            let verdict = v.grade(response, &parsed, &mut Budget::new(Limits::default()));
                            prop_assert_eq!(verdict.score == 1.0, verdict.status == Status::Correct);
                            prop_assert!(verdict.score == 0.0 || verdict.score == 1.0);
                            prop_assert!(verdict.status != Status::Error);
                        }
                    }
                }
            }
        }
    }
}
