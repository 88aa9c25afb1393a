//! Accuracy of the `math` verifier on the grading data the repository ships in `tests/data/` (sources and
//! licences in tests/data/README.md): agreement per file, every miss listed. A missing or unreadable file
//! fails the test with its path.
//!
//! Run with `cargo test -p maxrl-core --release --test math_data -- --nocapture` to see the report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use maxrl_core::grading::math::{self, BoxedMode, MathOptions};
use maxrl_core::grading::{choice, Budget, Limits, Options, Status};
use serde_json::Value;

/// `tests/data` at the repository root (this crate is `rust/core`).
fn data_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).unwrap().join("tests/data")
}

/// The rows of `tests/data/<name>`, one JSON object per non-blank line; panics naming the file (and line)
/// when it is missing, unreadable, not JSON Lines or empty.
fn rows(name: &str) -> Vec<Value> {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test data {} is not readable ({e}); it ships with the repository (see tests/data/README.md): \
             restore it with `git checkout -- tests/data`",
            path.display()
        )
    });
    let rows: Vec<Value> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not valid JSON ({e})", path.display(), i + 1))
        })
        .collect();
    assert!(!rows.is_empty(), "test data {} holds no rows", path.display());
    rows
}

fn budget() -> Budget {
    Budget::new(Limits::default())
}

fn grade(gold: &str, response: &str, opts: &MathOptions) -> (Status, Option<String>) {
    match math::parse_reference(gold, opts, &mut budget()) {
        Ok(r) => {
            let v = math::grade(response, &r, opts, &mut budget());
            (v.status, v.extracted)
        }
        Err(s) => (s, None),
    }
}

fn short(s: &str) -> String {
    let s: String = s
        .chars()
        .rev()
        .take(160)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    s.replace('\n', "\\n")
}

#[test]
fn qwen25_math_responses() {
    let rows = rows("qwen25_math_responses.jsonl");
    let opts = MathOptions::default();
    let mut agree = 0;
    let mut misses = Vec::new();
    let start = Instant::now();
    for r in &rows {
        let gold = r["gold"].as_str().unwrap();
        let response = r["response"].as_str().unwrap();
        let label = r["label"].as_bool().unwrap();
        let (status, extracted) = grade(gold, response, &opts);
        if (status == Status::Correct) == label {
            agree += 1;
        } else {
            misses.push(format!(
                "  {} gold {gold:?} label {label} -> {} (extracted {extracted:?})",
                r["id"].as_str().unwrap(),
                status.name()
            ));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "qwen25_math_responses.jsonl: {agree}/{} agree with the labels ({:.0} items/s, one thread, reference parsed per item)",
        rows.len(),
        rows.len() as f64 / secs
    );
    for m in &misses {
        println!("{m}");
    }
    assert!(agree + 1 >= rows.len(), "{} misses", misses.len());
}

/// math-verify's configuration of one case, mapped to our options.
fn mathverify_options(config: &Value) -> MathOptions {
    let mut o = MathOptions {
        float_rounding: Some(6),
        ..MathOptions::default()
    };
    if let Some(fr) = config["float_rounding"].as_u64() {
        o.float_rounding = Some(fr as u32);
    }
    if config["strict"].as_bool() == Some(false) {
        o.strict_variables = false;
    }
    if config["allow_set_relation_comp"].as_bool() == Some(true) {
        o.set_relation = true;
    }
    let types: Vec<&str> = config["match_types"]
        .as_array()
        .map_or(vec![], |a| a.iter().filter_map(Value::as_str).collect());
    if !types.contains(&"expr") {
        o.plain_numbers = false;
    }
    if types == ["expr"] {
        o.decimal_comma = true;
    }
    o.boxed = match config["latex_boxed_match_priority"].as_i64() {
        Some(p) if p < 0 => BoxedMode::Off,
        Some(p) if p > 0 => BoxedMode::AfterPhrase,
        _ => BoxedMode::First,
    };
    o
}

#[test]
fn mathverify_release_cases() {
    let rows = rows("mathverify_release_cases.jsonl");
    let mut per_file: Vec<(String, usize, usize)> = Vec::new();
    let mut misses = Vec::new();
    for r in &rows {
        let config = &r["config"];
        let expected = r["expected"].as_bool().unwrap();
        let gold = r["gold"].as_str();
        let pred = r["pred"].as_str().unwrap_or("");
        let types: Vec<&str> = config["match_types"]
            .as_array()
            .map_or(vec![], |a| a.iter().filter_map(Value::as_str).collect());
        let (status, extracted) = if types == ["string"] {
            // math-verify's string extraction is multiple choice: the `choice` verifier.
            let copts = choice::ChoiceOptions::from_options(&Options::new()).unwrap();
            match gold.map(|g| choice::parse_reference(g, &copts)) {
                Some(Ok(g)) => {
                    let v = choice::grade(pred, g, &copts, &mut budget());
                    (v.status, v.extracted)
                }
                Some(Err(s)) => (s, None),
                None => (Status::InvalidReference, None),
            }
        } else {
            grade(gold.unwrap_or(""), pred, &mathverify_options(config))
        };
        let ok = (status == Status::Correct) == expected;
        let file = r["source_file"].as_str().unwrap_or("?").to_string();
        match per_file.iter_mut().find(|(f, _, _)| *f == file) {
            Some(e) => {
                e.1 += ok as usize;
                e.2 += 1;
            }
            None => per_file.push((file, ok as usize, 1)),
        }
        if !ok {
            misses.push(format!(
                "  {} expected {expected} -> {} | gold {:?} | pred {:?} | extracted {extracted:?}",
                r["id"].as_str().unwrap(),
                status.name(),
                short(gold.unwrap_or("")),
                short(pred)
            ));
        }
    }
    let agree: usize = per_file.iter().map(|e| e.1).sum();
    println!(
        "mathverify_release_cases.jsonl: {agree}/{} match `expected`",
        rows.len()
    );
    for (f, a, n) in &per_file {
        println!("  {f}: {a}/{n}");
    }
    for m in &misses {
        println!("{m}");
    }
    assert!(
        agree * 100 >= rows.len() * 95,
        "{agree}/{} is under 95%",
        rows.len()
    );
}

#[test]
fn gold_answers_parse_and_grade_against_themselves() {
    let rows = rows("gold_answers.jsonl");
    let opts = MathOptions::default();
    let mut failures = Vec::new();
    let mut as_text = Vec::new();
    for r in &rows {
        let gold = r["gold"].as_str().unwrap();
        let reference = match math::parse_reference(gold, &opts, &mut budget()) {
            Ok(x) => x,
            Err(s) => {
                failures.push(format!(
                    "  {} {gold:?}: reference not read ({})",
                    r["id"].as_str().unwrap(),
                    s.name()
                ));
                continue;
            }
        };
        if reference.is_text() {
            as_text.push(format!("  {} {gold:?}", r["id"].as_str().unwrap()));
        }
        let response = format!("The answer is $\\boxed{{{gold}}}$");
        let v = math::grade(&response, &reference, &opts, &mut budget());
        if v.status != Status::Correct {
            failures.push(format!(
                "  {} {gold:?}: {} (extracted {:?})",
                r["id"].as_str().unwrap(),
                v.status.name(),
                v.extracted
            ));
        }
    }
    println!(
        "gold_answers.jsonl: {}/{} parse and grade correct against themselves; {} read as text",
        rows.len() - failures.len(),
        rows.len(),
        as_text.len()
    );
    for f in failures.iter().chain(&as_text) {
        println!("{f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn reference_solutions_grade_correct_against_their_gold() {
    let rows = rows("gold_answers.jsonl");
    let opts = MathOptions::default();
    let mut per_kind: Vec<(String, usize, usize)> = Vec::new();
    let mut misses = Vec::new();
    for r in &rows {
        let gold = r["gold"].as_str().unwrap();
        let Some(solution) = r["reference_solution"].as_str() else {
            continue;
        };
        let kind = r["kind"].as_str().unwrap_or("?").to_string();
        let (status, extracted) = grade(gold, solution, &opts);
        let ok = status == Status::Correct;
        match per_kind.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(e) => {
                e.1 += ok as usize;
                e.2 += 1;
            }
            None => per_kind.push((kind, ok as usize, 1)),
        }
        if !ok {
            misses.push(format!(
                "  {} gold {gold:?} -> {} (extracted {extracted:?})",
                r["id"].as_str().unwrap(),
                status.name()
            ));
        }
    }
    let ok: usize = per_kind.iter().map(|e| e.1).sum();
    let n: usize = per_kind.iter().map(|e| e.2).sum();
    println!("gold_answers.jsonl reference solutions: {ok}/{n} grade correct against their gold");
    for (k, a, n) in &per_kind {
        println!("  {k}: {a}/{n}");
    }
    for m in &misses {
        println!("{m}");
    }
    assert!(
        misses.is_empty(),
        "{} of {n} reference solutions do not grade correct",
        misses.len()
    );
}
