//! End-to-end tests of the `math` verifier: response text in, verdict out.

use super::*;
use crate::grading::options::OptValue;
use crate::grading::verdict::Limits;

fn budget() -> Budget {
    Budget::new(Limits::default())
}

fn grade_with(gold: &str, response: &str, opts: &MathOptions) -> Status {
    let mut b = budget();
    let r = match parse_reference(gold, opts, &mut b) {
        Ok(r) => r,
        Err(s) => return s,
    };
    grade(response, &r, opts, &mut budget()).status
}

fn yes(gold: &str, response: &str) {
    let s = grade_with(gold, response, &MathOptions::default());
    assert_eq!(s, Status::Correct, "gold {gold:?} vs response {response:?}");
}

fn no(gold: &str, response: &str) {
    let s = grade_with(gold, response, &MathOptions::default());
    assert_eq!(s, Status::Incorrect, "gold {gold:?} vs response {response:?}");
}

fn boxed(s: &str) -> String {
    format!("The answer is $\\boxed{{{s}}}$.")
}

#[test]
fn numbers() {
    yes("90", &boxed("90."));
    yes("1024", "so we get $2^{10}.$");
    yes("10{,}000", &boxed("10000"));
    yes("10000", &boxed("10{,}000"));
    yes("1234", &boxed("1,234"));
    yes("1234", &boxed("1 234"));
    yes("0.5", &boxed(r"\frac12"));
    yes(r"\frac{1}{2}", &boxed("0.5"));
    yes("72", &boxed("72.0"));
    no("10000", &boxed("9999"));
    no("50", &boxed("0.5"));
    no(r"\frac13", &boxed("0.333"));
    yes("18", &boxed(r"\$18"));
    yes("1000000", &boxed(r"1 \text{ million}"));
    yes("1000000", "It is 1 million.");
}

#[test]
fn fractions_and_mixed_numbers() {
    yes(r"\frac{40}{9}", &boxed("4 4/9"));
    yes(r"4\frac{4}{9}", &boxed(r"\frac{40}{9}"));
    yes(r"12\frac{3}{5}", &boxed("12.6"));
    yes(r"\dfrac{3}{4}", &boxed(r"\tfrac34"));
    yes("3/4", &boxed(r"\frac{3}{4}"));
    no(r"\frac{3}{4}", &boxed(r"\frac{4}{3}"));
}

#[test]
fn radicals_constants_functions() {
    yes(r"3\sqrt{13}", &boxed(r"\sqrt{117}"));
    yes(r"\frac{\sqrt{3}}{2}", &boxed(r"\frac{1}{2}\sqrt3"));
    yes(r"\frac{9}{4}\pi", &boxed(r"\frac94\pi"));
    yes(r"2 \sin b \cos a", &boxed(r"\sin(a+b) - \sin(a-b)"));
    yes(r"\tan^2(y)+1", &boxed(r"\sec^2(y)"));
    yes(r"\sqrt[3]{8}", &boxed("2"));
    yes("e^{-1}", &boxed(r"\frac{1}{e}"));
    no(r"\pi", &boxed("3.14"));
    yes("116 - 75i", &boxed("116-75i"));
    yes("1-i", &boxed(r"\frac{2}{1+i}"));
}

#[test]
fn expressions_with_variables() {
    yes("2 x^3-10x^2-24x+72", &boxed("2(x^3 - 5x^2 - 12x + 36)"));
    yes(r"\frac{x+2}{7}", &boxed(r"\frac{x}{7}+\frac{2}{7}"));
    no("x+1", &boxed("x+2"));
    no("4t", &boxed("4s"));
    yes("4a-2", &boxed("-2+4a"));
}

#[test]
fn percent_and_degrees() {
    yes(r"28\%", &boxed("28"));
    yes("28", &boxed(r"28\%"));
    yes(r"30^\circ", &boxed("30"));
    yes("30", &boxed(r"30^{\circ}"));
    yes("30", &boxed("30°"));
    no("0.28", &boxed("28"));
}

#[test]
fn structures() {
    yes("(3,2)", &boxed(r"\left(3, 2\right)"));
    no("(3,2)", &boxed("(2,3)"));
    yes("6, -2", &boxed("-2, 6"));
    yes(r"\{1,2\}", &boxed(r"\{2, 1\}"));
    yes("[0,1)", &boxed("[0, 1)"));
    no("[0,1)", &boxed("(0, 1)"));
    yes(r"(-\infty, -2) \cup (0, 1)", &boxed(r"(0,1)\cup(-\infty,-2)"));
    yes(
        r"\begin{pmatrix} 1 \\ 7 \end{pmatrix}",
        &boxed(r"\begin{pmatrix}1\\7\end{pmatrix}"),
    );
    no(
        r"\begin{pmatrix} 1 \\ 7 \end{pmatrix}",
        &boxed(r"\begin{pmatrix}1\\8\end{pmatrix}"),
    );
    yes(r"\emptyset", &boxed(r"\varnothing"));
    yes(r"1 \pm \sqrt{19}", &boxed(r"1+\sqrt{19}, 1-\sqrt{19}"));
    no(r"\pm 2021", &boxed("2021"));
    yes("1:2", &boxed("1:2"));
}

#[test]
fn equations_and_relations() {
    yes("4", &boxed("x=4"));
    yes("x = -1", &boxed("-1"));
    no("3x+4y+14=0", &boxed("3x+4y+15=0"));
    no("3x+4y+14=0", &boxed("x=0"));
    no("3x+4y+14=0", &boxed("0"));
    yes("3x+4y+14=0", &boxed("-6x-8y-28=0"));
    yes("2x+4y-3=0", &boxed(r"y=-\frac{1}{2}x+\frac{3}{4}"));
    yes("x > 5", &boxed(r"5 < x"));
    yes("x < 1", &boxed(r"-x > -1"));
    no("x < 1", &boxed(r"x > -1"));
    no("x \\le 1", &boxed(r"x < 1"));
    yes(r"\{x|-2\leq x < 1\}", &boxed("[-2, 1)"));
}

#[test]
fn the_bare_word_answer_needs_an_answer_right_after_it() {
    yes(
        "12",
        "To answer this, we compute $x^2$ for each case. So there are 12 ways.",
    );
    yes("5", "The answer is 5.");
    yes("9", "Answer: $9$");
}

#[test]
fn a_final_answer_after_the_box_must_be_an_answer() {
    yes("12", r"So \boxed{12}. The final answer has 2 digits.");
    yes(
        "12",
        r"So \boxed{12}. The final answer is correct since $3 \times 4 = 12$.",
    );
    yes(
        "10455",
        r"so \boxed{255} in interest. The final answer is $10,455$. I hope it is correct.",
    );
    no("12", r"So \boxed{12}. The final answer is 12 or 13.");
}

#[test]
fn hedging_is_incorrect() {
    no("2", r"The answer is \boxed{2} or \boxed{3}.");
    no("2", &boxed("x=2 or x=3"));
    yes("2", r"\boxed{2} and again \boxed{2}");
    yes("2, 3", r"\boxed{2} and \boxed{3}");
}

#[test]
fn text_answers() {
    yes(r"\text{Evelyn}", &boxed(r"\text{Evelyn}"));
    yes(r"\text{(B)}", &boxed("B"));
    yes("A", &boxed(r"\text{A}"));
    no("A", &boxed("C"));
    yes(r"\text{odd}", &boxed("odd"));
    yes(r"8\text{ meals}", &boxed("8"));
}

#[test]
fn statuses() {
    let o = MathOptions::default();
    let mut b = budget();
    assert_eq!(
        parse_reference("", &o, &mut b).unwrap_err(),
        Status::InvalidReference
    );
    let r = parse_reference("5", &o, &mut b).unwrap();
    assert_eq!(
        grade("no numbers at all", &r, &o, &mut budget()).status,
        Status::NoAnswer
    );
    assert_eq!(grade("", &r, &o, &mut budget()).status, Status::NoAnswer);
    let v = grade(&boxed("5"), &r, &o, &mut budget());
    assert_eq!((v.score, v.extracted.as_deref()), (1.0, Some("5")));
    let r = parse_reference("10000", &o, &mut b).unwrap();
    let v = grade(&boxed("10{,}000"), &r, &o, &mut budget());
    assert_eq!(
        (v.status, v.extracted.as_deref()),
        (Status::Correct, Some("10,000"))
    );
}

#[test]
fn options_are_read_and_checked() {
    let mut m = Options::new();
    m.insert("float_rounding".into(), OptValue::Int(3));
    m.insert("boxed".into(), OptValue::Str("off".into()));
    let o = MathOptions::from_options(&m).unwrap();
    assert_eq!((o.float_rounding, o.boxed), (Some(3), BoxedMode::Off));
    m.insert("float_roundng".into(), OptValue::Int(3));
    assert!(MathOptions::from_options(&m)
        .unwrap_err()
        .to_string()
        .contains("float_roundng"));
    let mut m = Options::new();
    m.insert("boxed".into(), OptValue::Str("sometimes".into()));
    assert!(MathOptions::from_options(&m).is_err());
    assert_eq!(
        MathOptions::from_options(&Options::new()).unwrap(),
        MathOptions::default()
    );
}

#[test]
fn float_rounding_option() {
    let o3 = MathOptions {
        float_rounding: Some(3),
        ..MathOptions::default()
    };
    let o4 = MathOptions {
        float_rounding: Some(4),
        ..MathOptions::default()
    };
    assert_eq!(grade_with("1/3", &boxed("0.333"), &o3), Status::Correct);
    assert_eq!(grade_with("1/3", &boxed("0.333"), &o4), Status::Incorrect);
    assert_eq!(
        grade_with(
            r"\sqrt{17}",
            &boxed("4.12311"),
            &MathOptions {
                float_rounding: Some(5),
                ..o3
            }
        ),
        Status::Correct
    );
}

#[test]
fn leniency_options() {
    let d = MathOptions::default();
    assert_eq!(
        grade_with(
            "10000",
            &boxed("9999"),
            &MathOptions {
                numeric_leniency: 1e-4,
                ..d.clone()
            }
        ),
        Status::Correct
    );
    assert_eq!(
        grade_with(
            "50",
            &boxed("0.5"),
            &MathOptions {
                percent_leniency: true,
                ..d
            }
        ),
        Status::Correct
    );
}

// ---------------------------------------------------------------------------------------------------
// Bounds: adversarial inputs finish fast with a verdict or `Limit`, never a panic or stack overflow.

/// Grade on a thread with a small (1 MiB) stack, as a worker thread might have, and time it.
fn grade_small_stack(gold: String, response: String) -> (Status, std::time::Duration) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let start = std::time::Instant::now();
            let opts = MathOptions::default();
            let status = match parse_reference(&gold, &opts, &mut budget()) {
                Ok(r) => grade(&response, &r, &opts, &mut budget()).status,
                Err(s) => s,
            };
            (status, start.elapsed())
        })
        .unwrap()
        .join()
        .unwrap()
}

fn fast(gold: &str, response: &str) -> Status {
    let (status, t) = grade_small_stack(gold.to_string(), response.to_string());
    assert!(
        t.as_millis() < 50,
        "{:?}… took {t:?}",
        &response.chars().take(40).collect::<String>()
    );
    status
}

#[test]
fn towers_of_powers_are_bounded() {
    let tower = r"9^{9^{9^{9^9}}}";
    // Identical spelling is still recognised; a different value cannot be decided exactly.
    assert_eq!(fast(tower, &boxed(tower)), Status::Correct);
    assert!(matches!(
        fast(tower, &boxed("3")),
        Status::Limit | Status::Incorrect
    ));
    assert!(matches!(
        fast("3", &boxed(tower)),
        Status::Limit | Status::Incorrect
    ));
    assert_eq!(fast("1", &boxed(r"1^{9^{9^{9^9}}}")), Status::Correct);
    assert!(matches!(
        fast("5", &boxed("10^{100000}")),
        Status::Limit | Status::Incorrect
    ));
    assert!(matches!(
        fast("5", &boxed("1000!")),
        Status::Limit | Status::Incorrect
    ));
}

#[test]
fn deep_nesting_is_a_limit() {
    for (open, close) in [
        ("{", "}"),
        ("(", ")"),
        ("[", "]"),
        (r"\{", r"\}"),
        (r"\sqrt{", "}"),
        (r"\frac{1}{", "}"),
    ] {
        let deep = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        let s = fast("1", &boxed(&deep));
        assert!(matches!(s, Status::Limit | Status::Incorrect), "{open}: {s:?}");
        let s = fast(&deep, &boxed("1"));
        assert!(
            matches!(s, Status::Limit | Status::Incorrect),
            "{open} as reference: {s:?}"
        );
    }
    for chain in [
        "-".repeat(10_000) + "1",
        "2^".repeat(5_000) + "2",
        "|".repeat(10_000),
        r"\sin ".repeat(5000) + "x",
    ] {
        let s = fast("1", &boxed(&chain));
        assert!(
            matches!(s, Status::Limit | Status::Incorrect | Status::NoAnswer),
            "{s:?}"
        );
    }
    // Within the depth bound, nesting still works.
    let ok = format!("{}1{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(fast("1", &boxed(&ok)), Status::Correct);
}

#[test]
fn megabyte_responses_are_fast() {
    let filler = "Some reasoning with $x_1 = 3$ and \\(y\\) and numbers 12, 13. ".repeat(17_000);
    assert!(filler.len() > 1_000_000);
    assert_eq!(fast("42", &format!("{filler} so \\boxed{{42}}")), Status::Correct);
    assert_eq!(
        fast("42", &format!("{filler} The final answer is 42.")),
        Status::Correct
    );
    assert!(matches!(fast("42", &filler), Status::Incorrect));
    for unit in [
        "\\boxed{",
        "$",
        "\\(",
        "\\[",
        "{",
        "\\boxed{1} or ",
        "$$",
        "\\frac{",
        "answer is ",
    ] {
        let s = unit.repeat(1_000_000 / unit.len());
        let st = fast("1", &s);
        assert!(st != Status::Error, "{unit}");
    }
    let big_box = format!("\\boxed{{{}}}", "1+".repeat(400_000));
    assert_eq!(fast("1", &big_box), Status::Limit);
    let digits = format!("\\boxed{{{}}}", "9".repeat(5_000));
    assert!(matches!(fast("1", &digits), Status::Limit | Status::Incorrect));
}

#[test]
fn random_bytes_and_unicode_are_fast() {
    // Deterministic pseudo-random bytes, read as lossy UTF-8.
    let mut rnd = crate::test_rng(0x2545_F491_4F6C_DD1D);
    let bytes: Vec<u8> = (0..1 << 20).map(|_| rnd(256) as u8).collect();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let _ = fast("1", &text);
    let cut = (0..=10_000)
        .rev()
        .find(|&k| text.is_char_boundary(k))
        .unwrap_or(0);
    let _ = fast(&text[..cut], "1");
    // Mostly ASCII LaTeX-ish noise.
    let alphabet: Vec<char> = "\\{}()[]$^_+-*/=<>,.;:|&!%0123456789abcxyz \n".chars().collect();
    let noise: String = bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()])
        .collect();
    let _ = fast("1", &noise);
    let uni = "πα≤∞√±×÷°²∪∈∅ 数学 😀 \u{E000}".repeat(30_000);
    let _ = fast("1", &uni);
    let _ = fast("1", &boxed(&uni[..uni.char_indices().nth(4000).unwrap().0]));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn latexish() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "\\boxed{",
            "}",
            "{",
            "\\frac",
            "\\sqrt",
            "[",
            "]",
            "(",
            ")",
            "$",
            "\\(",
            "\\)",
            "^",
            "_",
            "1",
            "2",
            "0.5",
            ",",
            " ",
            "x",
            "=",
            "<",
            "\\le",
            "\\pm",
            "\\text{ cm}",
            "\\%",
            "\\{",
            "\\}",
            "&",
            "\\\\",
            "\\begin{pmatrix}",
            "\\end{pmatrix}",
            "|",
            "-",
            "+",
            "\\cdot",
            "\\pi",
            "e",
            "i",
            "!",
            "{,}",
            ".",
            "\\cup",
            "\\infty",
            "answer is",
            ":",
            ";",
            "and",
            "\\sin",
            "\\log_2",
            "9^",
            "π",
            "√",
        ]);
        prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_strings_never_panic_and_finish_fast(s in any::<String>(), gold in any::<String>()) {
            let start = std::time::Instant::now();
            let opts = MathOptions::default();
            let _ = extract_answer(&s, &opts);
            if let Ok(r) = parse_reference(&gold, &opts, &mut budget()) {
                let _ = grade(&s, &r, &opts, &mut budget());
            }
            prop_assert!(start.elapsed().as_millis() < 50);
        }

        #[test]
        fn latex_like_strings_never_panic_and_finish_fast(s in latexish(), gold in latexish()) {
            let start = std::time::Instant::now();
            let opts = MathOptions::default();
            if let Ok(r) = parse_reference(&gold, &opts, &mut budget()) {
                let v = grade(&s, &r, &opts, &mut budget());
                prop_assert!((0.0..=1.0).contains(&v.score));
            }
            prop_assert!(start.elapsed().as_millis() < 50);
        }

        #[test]
        fn a_boxed_reference_matches_itself(s in latexish()) {
            let opts = MathOptions::default();
            if let Ok(r) = parse_reference(&s, &opts, &mut budget()) {
                if !s.contains('$') && !s.contains("\\(") && !s.contains("\\[") && !s.contains("\\boxed") && !s.contains('}') && !s.contains('{') {
                    let v = grade(&format!("\\boxed{{{s}}}"), &r, &opts, &mut budget());
                    prop_assert!(v.status != Status::Incorrect || r.text().is_empty(), "{:?} -> {:?}", s, v);
                }
            }
        }

        #[test]
        fn integers_and_their_spellings_agree(n in 0u64..10_000_000) {
            let plain = n.to_string();
            let commas = {
                let mut out = String::new();
                for (k, c) in plain.chars().enumerate() {
                    if k > 0 && (plain.len() - k) % 3 == 0 {
                        out.push_str("{,}");
                    }
                    out.push(c);
                }
                out
            };
            let opts = MathOptions::default();
            let r = parse_reference(&plain, &opts, &mut budget()).unwrap();
            for resp in [boxed(&commas), boxed(&format!("{plain}.0")), format!("The final answer is {plain}.")] {
                prop_assert_eq!(grade(&resp, &r, &opts, &mut budget()).status, Status::Correct, "{}", resp);
            }
            prop_assert_eq!(grade(&boxed(&(n + 1).to_string()), &r, &opts, &mut budget()).status, Status::Incorrect);
        }

        #[test]
        fn fractions_equal_their_decimals(a in 1i64..1000, k in 0u32..4) {
            // a / 2^k has a finite decimal expansion: exact equality, no tolerance needed.
            let d = 1i64 << k;
            let dec = format!("{}", a as f64 / d as f64);
            let opts = MathOptions::default();
            let r = parse_reference(&format!("\\frac{{{a}}}{{{d}}}"), &opts, &mut budget()).unwrap();
            prop_assert_eq!(grade(&boxed(&dec), &r, &opts, &mut budget()).status, Status::Correct, "{}", dec);
        }
    }
}

#[test]
fn spellings_found_by_cross_checking() {
    yes(
        r"\frac{a M^{1 / 3}}{G M^{2 / 3}+b}",
        &boxed(r"\frac{aM^{1/3}}{GM^{2/3}+b}"),
    );
    yes("4343_6", &boxed("x = 4343_{6}"));
    no("4343_6", &boxed("4343"));
    yes("-1./3", &boxed(r"-\frac{1}{3}"));
    yes(r"$\{x|-2\leq x < 1\}$", &boxed(r"x = $\{x|-2\leq x < 1\}$"));
    yes("$Quadrant I$", &boxed("x = $Quadrant I$"));
    yes(
        r"$C_{400}^{40} \cdot C_{200}^{20}$",
        &boxed(r"C_{400}^{40}\cdotC_{200}^{20}"),
    );
    yes(r"50\%", &boxed("0.5"));
    yes("0.5", &boxed(r"50\%"));
    yes("(2,3)", &boxed("x = 2, y = 3"));
    yes("320000", &boxed(r"3.2 \times 10^{5}"));
    yes(r"(x-2)(x-3)", &boxed("x^2 - 5x + 6"));
    yes(r"\text{B}", &boxed(r"\textbf{(B)}"));
    yes("113", &boxed(r"\textbf{(113) }"));
    yes("6", "So $4.00 + $2.00 = $6.00\n#### 6");
    yes("5", &boxed(r"\text{5 cm}"));
    yes("-3", &boxed(r"\text{-3}"));
    yes("5", &boxed(r"5\,\mathrm{cm}"));
    yes("5", &boxed(r"5 \mathrm{~cm}"));
    yes(r"(-\infty, 2)", &boxed(r"x \in (-\infty, 2)"));
    yes("y = 3x - 2", &boxed("3x-2"));
    yes("3x - 2", &boxed("y = 3x-2"));
    yes(r"f(x) = x^2", &boxed("x^2"));
    yes(r"1\frac{1}{4}", &boxed(r"\frac54"));
    yes("37.50", &boxed("37.5"));
    yes(
        r"\frac{2 \pi c^{2}}{\lambda^{5}\left[e^{h c /(\lambda k T)}-1\right]}",
        &boxed(r"\frac{2\pi c^2}{\lambda^5 (e^{hc/(\lambda kT)}-1)}"),
    );
}

#[test]
fn references_are_shareable_across_threads() {
    fn check<T: Clone + Send + Sync>() {}
    check::<MathReference>();
    check::<MathOptions>();
}
