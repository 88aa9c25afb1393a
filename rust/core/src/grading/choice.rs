//! Multiple-choice answers: one letter out of A–J (or fewer, `num_choices`).
//!
//! The response's letter is read from the most explicit place that has one, in this order:
//! 1. the last `\boxed{...}` (`\boxed{B}`, `\boxed{\text{(B)}}`);
//! 2. the last answer phrase: "The answer is (B)", "Answer: C", "final answer: **D**", "answer is either B";
//! 3. the last marked letter anywhere: bold `**D**` / `**D)**`, parenthesised `(E)` / `[E]`,
//!    "option G" / "choice G" (whichever comes last);
//! 4. the last standalone capital letter that does not start a phrase ("B." counts, "A cat" does not).
//!
//! Rules 2 to 4 look at the last 64 KiB of the response. The pronoun "I" ("I think", "I don't know")
//! is never option I, and a box that starts with an option label and its text (`\boxed{E. A polygenic
//! risk score}`) is that one letter.
//!
//! A letter joined to another by "or", "and", ",", "/" or "&" ("B or C", "(B) and (C)", `\boxed{B, C}`) is a
//! hedge and grades `incorrect` even when one of the letters is right. Letters are ASCII capitals, except
//! that boxes and answer phrases also accept a lower-case letter ("the answer is (b)").

use super::{Budget, OptionReader, Options, Status, Verdict};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceOptions {
    /// Number of options; letters run from A to the `num_choices`-th letter. 2..=26, default 10 (A–J).
    pub num_choices: u8,
}

impl Default for ChoiceOptions {
    fn default() -> Self {
        ChoiceOptions { num_choices: 10 }
    }
}

impl ChoiceOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let mut r = OptionReader::new("choice", opts);
        let n = r.int("num_choices", 10)?;
        r.finish()?;
        if !(2..=26).contains(&n) {
            return Err(Error::InvalidArgument {
                name: "verifier option",
                reason: format!("choice: option 'num_choices' must be in 2..=26, got {n}"),
            });
        }
        Ok(ChoiceOptions { num_choices: n as u8 })
    }

    fn last(&self) -> u8 {
        b'A' + self.num_choices - 1
    }
}

/// What a response answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    One(u8),
    /// Several letters offered at once; sorted, distinct.
    Hedge(Vec<u8>),
}

impl Choice {
    pub fn display(&self) -> String {
        match self {
            Choice::One(l) => (*l as char).to_string(),
            Choice::Hedge(ls) => ls
                .iter()
                .map(|&l| (l as char).to_string())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

fn word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Byte `i` is a letter that stands alone: no letter, digit, '_' or apostrophe on either side.
fn lone(b: &[u8], i: usize) -> bool {
    let before_ok = i == 0 || !word_byte(b[i - 1]);
    let after_ok = b.get(i + 1).is_none_or(|&c| !word_byte(c) && c != b'\'');
    before_ok && after_ok
}

/// The next non-space byte after `i` is not a letter: "B." or "B is" is not a phrase start, "A cat" is.
fn not_phrase_start(b: &[u8], i: usize) -> bool {
    let mut j = i + 1;
    while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
        j += 1;
    }
    j == i + 1 || b.get(j).is_none_or(|c| !c.is_ascii_alphabetic()) || b[j..].starts_with(b"is ")
}

/// Words that may follow the option letter I ("I is correct", "I because …"); after any other
/// lower-case word, "I" is the pronoun ("I think", "I don't know").
const AFTER_LETTER_I: &[&str] = &[
    "is", "was", "seems", "because", "since", "as", "and", "or", "but", "for", "with", "which", "that",
    "from", "here", "only", "fits", "matches", "holds",
];

/// Length of the pronoun "I" and the word after it at `i` ("I think", "I'm", "i'd"), if it is one.
fn pronoun(b: &[u8], i: usize) -> Option<usize> {
    if !matches!(b.get(i), Some(b'I' | b'i')) || (i > 0 && word_byte(b[i - 1])) {
        return None;
    }
    if b.get(i + 1) == Some(&b'\'') {
        let mut j = i + 2;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        return (j > i + 2).then_some(j - i);
    }
    let mut j = i + 1;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    if j == i + 1 || !b.get(j).is_some_and(u8::is_ascii_lowercase) {
        return None;
    }
    let mut k = j;
    while k < b.len() && (b[k].is_ascii_alphabetic() || b[k] == b'\'') {
        k += 1;
    }
    let word = std::str::from_utf8(&b[j..k]).unwrap_or("");
    (!AFTER_LETTER_I.contains(&word)).then_some(k - i)
}

/// The option letter at `i`, if it is one: a lone capital in range, or (when `lower`) a lone lower-case
/// letter in range that does not start a phrase. The pronoun "I" is never one.
fn letter(b: &[u8], i: usize, last: u8, lower: bool) -> Option<u8> {
    let c = *b.get(i)?;
    if !lone(b, i) || pronoun(b, i).is_some() {
        return None;
    }
    if (b'A'..=last).contains(&c) {
        return Some(c);
    }
    let up = c.to_ascii_uppercase();
    (lower && c.is_ascii_lowercase() && (b'A'..=last).contains(&up) && not_phrase_start(b, i)).then_some(up)
}

const MARKUP: &[u8] = b" \t*([{$:";

/// Words that may sit between an answer keyword and its letter ("answer is either the option (B)",
/// "Answer: I think it is B", "answer: we pick B").
const FILLERS: &[&str] = &[
    "is",
    "would",
    "will",
    "should",
    "must",
    "be",
    "either",
    "the",
    "correct",
    "option",
    "choice",
    "letter",
    "it's",
    "it",
    "that's",
    "that",
    "this",
    "we",
    "probably",
    "likely",
    "clearly",
    "definitely",
    "go",
    "with",
    "pick",
    "choose",
    "select",
    "say",
];

/// Skip markup, filler words and LaTeX command names after a keyword; the position of what follows.
fn skip_fillers(b: &[u8], mut i: usize) -> usize {
    let stop = (i + 80).min(b.len());
    loop {
        let start = i;
        while i < stop && MARKUP.contains(&b[i]) {
            i += 1;
        }
        if i < stop && b[i] == b'\\' {
            i += 1;
            while i < stop && b[i].is_ascii_alphabetic() {
                i += 1;
            }
        }
        if let Some(n) = pronoun(b, i) {
            i += n;
            continue;
        }
        for w in FILLERS {
            let end = i + w.len();
            if end <= b.len()
                && b[i..end].eq_ignore_ascii_case(w.as_bytes())
                && b.get(end).is_none_or(|&c| !word_byte(c))
            {
                i = end;
                break;
            }
        }
        if i == start || i >= stop {
            return i;
        }
    }
}

/// Length of a connective starting at `i` (",", "/", "&", "or", "and").
fn connective_at(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b',' | b'/' | b'&' => return Some(1),
        _ => {}
    }
    ["or", "and"].iter().find_map(|w| {
        let end = i + w.len();
        (end <= b.len()
            && b[i..end].eq_ignore_ascii_case(w.as_bytes())
            && b.get(end).is_none_or(|&c| !word_byte(c)))
        .then_some(w.len())
    })
}

/// Length of a connective ending just before `i`.
fn connective_before(b: &[u8], i: usize) -> Option<usize> {
    if i == 0 {
        return None;
    }
    if matches!(b[i - 1], b',' | b'/' | b'&') {
        return Some(1);
    }
    ["or", "and"].iter().find_map(|w| {
        let n = w.len();
        (i >= n && b[i - n..i].eq_ignore_ascii_case(w.as_bytes()) && (i == n || !word_byte(b[i - n - 1])))
            .then_some(n)
    })
}

const AROUND: &[u8] = b" \t*()[]{}$";

/// The other letter in "X or Y" / "Y, X" around the letter at `i`, if any.
fn hedge_partner(b: &[u8], i: usize, last: u8) -> Option<u8> {
    let mut j = i + 1;
    while j < b.len() && AROUND.contains(&b[j]) {
        j += 1;
    }
    if let Some(n) = connective_at(b, j) {
        j += n;
        while j < b.len() && AROUND.contains(&b[j]) {
            j += 1;
        }
        if let Some(l) = letter(b, j, last, false) {
            return Some(l);
        }
    }
    let mut k = i;
    while k > 0 && AROUND.contains(&b[k - 1]) {
        k -= 1;
    }
    if let Some(n) = connective_before(b, k) {
        k -= n;
        while k > 0 && AROUND.contains(&b[k - 1]) {
            k -= 1;
        }
        if k > 0 {
            return letter(b, k - 1, last, false);
        }
    }
    None
}

/// The answer at letter position `i`, checking for a hedge around it.
fn answer_at(b: &[u8], i: usize, l: u8, last: u8) -> Choice {
    match hedge_partner(b, i, last) {
        Some(other) if other != l => {
            let mut ls = vec![l, other];
            ls.sort_unstable();
            Choice::Hedge(ls)
        }
        _ => Choice::One(l),
    }
}

/// A letter written as an option label: `E.`, `E)`, `E:` before a space or the end, or `(E)`.
fn is_label(b: &[u8], i: usize) -> bool {
    let closed = matches!(b.get(i + 1), Some(b'.' | b')' | b':'))
        && b.get(i + 2)
            .is_none_or(|&c| matches!(c, b' ' | b'}' | b'*' | b'$' | b'\\'));
    closed || (i > 0 && b[i - 1] == b'(' && b.get(i + 1) == Some(&b')'))
}

/// A capital that starts words ("A polygenic risk score"): an article, not a letter; "A and C",
/// "B or D" and "B is right" still name letters.
fn starts_words(b: &[u8], i: usize) -> bool {
    let mut j = i + 1;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    if j == i + 1 || !b.get(j).is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    connective_at(b, j).is_none() && !b[j..].starts_with(b"is ")
}

/// Letters inside the last `\boxed{}`: one letter is the answer, several distinct letters a hedge.
/// When the box starts with an option label followed by the option's text (`\boxed{E. A polygenic risk
/// score}`), only labels count: the text is part of the one answer.
fn from_box(text: &str, last: u8) -> Option<Choice> {
    let inner = super::text::last_boxed(text)?.as_bytes();
    let letters: Vec<usize> = (0..inner.len())
        .filter(|&i| letter(inner, i, last, true).is_some())
        .collect();
    let labelled = letters.first().is_some_and(|&i| is_label(inner, i));
    let mut found: Vec<u8> = letters
        .into_iter()
        .filter(|&i| {
            if labelled {
                is_label(inner, i)
            } else {
                !starts_words(inner, i)
            }
        })
        .filter_map(|i| letter(inner, i, last, true))
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.len() {
        0 => None,
        1 => Some(Choice::One(found[0])),
        _ => Some(Choice::Hedge(found)),
    }
}

/// The letter after the last answer phrase that is followed by one.
fn from_phrase(text: &str, last: u8) -> Option<Choice> {
    let b = text.as_bytes();
    let hits: Vec<usize> = super::text::find_all_ci(text, "answer").collect();
    hits.iter().rev().find_map(|&k| {
        let mut i = k + "answer".len();
        if b.get(i).is_some_and(|c| c.eq_ignore_ascii_case(&b's')) {
            i += 1;
        }
        let j = skip_fillers(b, i);
        letter(b, j, last, true).map(|l| answer_at(b, j, l, last))
    })
}

/// The last marked letter: `**D**`, `**D)**`, `(E)`, `[E]`, "option G", "choice G".
fn from_marks(text: &str, last: u8) -> Option<Choice> {
    let b = text.as_bytes();
    let mut best: Option<usize> = None;
    let mut note = |i: usize| best = Some(best.map_or(i, |p: usize| p.max(i)));
    for (i, w) in b.windows(3).enumerate() {
        // "(E)" / "[E]"
        if matches!((w[0], w[2]), (b'(', b')') | (b'[', b']')) && letter(b, i + 1, last, false).is_some() {
            note(i + 1);
        }
    }
    for k in super::text::find_all_ci(text, "**") {
        let mut i = k + 2;
        if b.get(i) == Some(&b'(') {
            i += 1;
        }
        if letter(b, i, last, false).is_some() && matches!(b.get(i + 1), Some(b')' | b'.' | b':' | b'*')) {
            note(i);
        }
    }
    for kw in ["option", "choice"] {
        for k in super::text::find_all_ci(text, kw) {
            if k > 0 && word_byte(b[k - 1]) {
                continue;
            }
            let j = skip_fillers(b, k + kw.len());
            if letter(b, j, last, false).is_some() {
                note(j);
            }
        }
    }
    best.map(|i| answer_at(b, i, b[i], last))
}

/// The last lone capital letter that is not the start of a phrase.
fn from_standalone(text: &str, last: u8) -> Option<Choice> {
    let b = text.as_bytes();
    (0..b.len())
        .rev()
        .find(|&i| (b'A'..=last).contains(&b[i]) && lone(b, i) && not_phrase_start(b, i))
        .map(|i| answer_at(b, i, b[i], last))
}

/// The response's answer by the rules in the module docs.
pub fn extract(response: &str, opts: &ChoiceOptions) -> Option<Choice> {
    let last = opts.last();
    // Phrases, marks and lone letters are looked for near the end only, which keeps megabyte
    // responses cheap; a box is found anywhere.
    let near_end = super::text::tail(response, SEARCH_TAIL);
    from_box(response, last)
        .or_else(|| from_phrase(near_end, last))
        .or_else(|| from_marks(near_end, last))
        .or_else(|| from_standalone(near_end, last))
}

/// Bytes at the end of a response searched for an unboxed letter.
pub const SEARCH_TAIL: usize = 64 * 1024;

pub fn extract_answer(response: &str, opts: &ChoiceOptions) -> Option<String> {
    extract(response, opts).map(|c| c.display())
}

/// A reference letter: "B", "b", "(B)", "B." (in range of `num_choices`).
pub fn parse_reference(reference: &str, opts: &ChoiceOptions) -> std::result::Result<u8, Status> {
    let t = reference.trim_matches(|c: char| c.is_whitespace() || "()[]{}*.:$".contains(c));
    match t.as_bytes() {
        [c] if c.is_ascii_alphabetic() && (b'A'..=opts.last()).contains(&c.to_ascii_uppercase()) => {
            Ok(c.to_ascii_uppercase())
        }
        _ => Err(Status::InvalidReference),
    }
}

pub fn compare(answer: &Choice, reference: u8) -> bool {
    *answer == Choice::One(reference)
}

pub fn grade(response: &str, reference: u8, opts: &ChoiceOptions, budget: &mut Budget) -> Verdict {
    if budget.expired() {
        return Verdict::limit();
    }
    match extract(response, opts) {
        None => Verdict::no_answer(),
        Some(c) if compare(&c, reference) => Verdict::correct(c.display()),
        Some(c) => Verdict::incorrect(c.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Option<String> {
        extract_answer(s, &ChoiceOptions::default())
    }

    #[test]
    fn usual_phrasings() {
        assert_eq!(ex("The answer is (B).").as_deref(), Some("B"));
        assert_eq!(ex("Answer: C").as_deref(), Some("C"));
        assert_eq!(ex("I pick **D**").as_deref(), Some("D"));
        assert_eq!(ex("It must be (E) since...").as_deref(), Some("E"));
        assert_eq!(ex(r"Thus \boxed{F}").as_deref(), Some("F"));
        assert_eq!(ex(r"Thus \boxed{\text{(F)}}").as_deref(), Some("F"));
        assert_eq!(ex("so option G is right").as_deref(), Some("G"));
        assert_eq!(ex("Everything points to H.").as_deref(), Some("H"));
        assert_eq!(ex("The correct answer is option J").as_deref(), Some("J"));
        assert_eq!(ex("the answer is (b)").as_deref(), Some("B"));
        assert_eq!(ex("Final answer: **A) 42**").as_deref(), Some("A"));
    }

    #[test]
    fn priorities() {
        // A box beats a later phrase; a phrase beats later marks and letters.
        assert_eq!(ex(r"\boxed{C}. (A) was tempting").as_deref(), Some("C"));
        assert_eq!(
            ex("The answer is B. (A) is wrong and so is C.").as_deref(),
            Some("B")
        );
        // Marks: the last one wins, whichever kind.
        assert_eq!(ex("(A) fails, (B) fails, so option D").as_deref(), Some("D"));
        assert_eq!(ex("option A fails, so (C)").as_deref(), Some("C"));
        // Articles and pronouns are not answers.
        assert_eq!(ex("A cat and I think"), None);
        assert_eq!(ex("I'm not sure"), None);
        assert_eq!(ex("The answer depends on B and more"), None);
    }

    #[test]
    fn hedges() {
        assert_eq!(ex("The answer is B or C.").as_deref(), Some("B,C"));
        assert_eq!(ex("The answer is (C) or (B)").as_deref(), Some("B,C"));
        assert_eq!(ex(r"\boxed{B, D}").as_deref(), Some("B,D"));
        assert_eq!(ex("either A and C").as_deref(), Some("A,C"));
        assert_eq!(ex("The answer is B, not A.").as_deref(), Some("B"));
        let o = ChoiceOptions::default();
        let mut b = Budget::new(Default::default());
        assert_eq!(grade("B or C", b'B', &o, &mut b).status, Status::Incorrect);
    }

    #[test]
    fn range_and_references() {
        let o = ChoiceOptions { num_choices: 4 };
        assert_eq!(extract_answer("The answer is E", &o), None);
        assert_eq!(parse_reference(" (b). ", &o), Ok(b'B'));
        assert_eq!(parse_reference("E", &o), Err(Status::InvalidReference));
        assert_eq!(parse_reference("AB", &o), Err(Status::InvalidReference));
        assert_eq!(parse_reference("", &o), Err(Status::InvalidReference));
        let mut m = Options::new();
        m.insert("num_choices".into(), super::super::OptValue::Int(30));
        assert!(ChoiceOptions::from_options(&m).is_err());
    }

    #[test]
    fn grading() {
        let o = ChoiceOptions::default();
        let mut b = Budget::new(Default::default());
        assert_eq!(grade("Answer: B", b'B', &o, &mut b).status, Status::Correct);
        assert_eq!(grade("Answer: C", b'B', &o, &mut b).status, Status::Incorrect);
        assert_eq!(grade("no idea", b'B', &o, &mut b).status, Status::NoAnswer);
    }

    fn verdict(response: &str, gold: u8) -> (Status, Option<String>) {
        let v = grade(
            response,
            gold,
            &ChoiceOptions::default(),
            &mut Budget::new(Default::default()),
        );
        (v.status, v.extracted)
    }

    fn check(cases: &[(&str, u8, Status, Option<&str>)]) {
        for &(response, gold, status, extracted) in cases {
            assert_eq!(
                verdict(response, gold),
                (status, extracted.map(String::from)),
                "{response:?} vs {}",
                gold as char
            );
        }
    }

    #[test]
    fn the_pronoun_i_is_not_option_i() {
        use Status::{Correct, Incorrect, NoAnswer};
        check(&[
            ("Answer: I think it is B", b'B', Correct, Some("B")),
            ("Answer: I don't know.", b'I', NoAnswer, None),
            ("Answer: I'm fairly sure it's (C).", b'C', Correct, Some("C")),
            ("The answer is: I believe D", b'D', Correct, Some("D")),
            ("Answer: I would go with **E**", b'E', Correct, Some("E")),
            ("I think the answer is A.", b'A', Correct, Some("A")),
            ("Final answer: i guess it is b", b'B', Correct, Some("B")),
            ("I am not sure, I guess.", b'I', NoAnswer, None),
            // The letter I itself.
            ("Answer: I", b'I', Correct, Some("I")),
            ("The answer is I because the rest fail.", b'I', Correct, Some("I")),
            ("Answer: (I)", b'I', Correct, Some("I")),
            ("Answer: I is correct", b'I', Correct, Some("I")),
            (r"\boxed{I}", b'I', Correct, Some("I")),
            ("Answer: I think it is B", b'I', Incorrect, Some("B")),
        ]);
    }

    #[test]
    fn option_text_after_a_label_is_one_answer() {
        use Status::{Correct, Incorrect, NoAnswer};
        check(&[
            (r"\boxed{E. A polygenic risk score}", b'E', Correct, Some("E")),
            (r"\boxed{E. A polygenic risk score}", b'A', Incorrect, Some("E")),
            (r"\boxed{\text{B) A decrease in price}}", b'B', Correct, Some("B")),
            (r"\boxed{(C) I and II only}", b'C', Correct, Some("C")),
            (r"\boxed{D: A and B are both false}", b'D', Correct, Some("D")),
            (r"\boxed{A. 12}", b'A', Correct, Some("A")),
            // Two labels are still a hedge; plain letters joined as before.
            (r"\boxed{A. 3 or C. 5}", b'A', Incorrect, Some("A,C")),
            (r"\boxed{B, D}", b'B', Incorrect, Some("B,D")),
            (r"\boxed{A and C}", b'A', Incorrect, Some("A,C")),
            // Option text without its label names no letter.
            (r"\boxed{\text{A polygenic risk score}}", b'A', NoAnswer, None),
            ("Answer: E. A polygenic risk score", b'E', Correct, Some("E")),
        ]);
    }
}
