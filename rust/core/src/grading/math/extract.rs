//! Stage 1: find the final answer in a response, as text.
//!
//! Priority (highest first): the last `\boxed{}`/`\fbox{}` group, a "final answer is …" / "answer: …"
//! phrase, then the rightmost math span (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) or bare number. Boxes and spans
//! that follow one another joined only by connectors ("and", "or", commas, `\quad`) form one group: the
//! answer is then a list, so that hedging (`\boxed{2} or \boxed{3}`) is compared as two answers, not one.
//!
//! Everything here is a linear scan over bytes: no regular expressions, no backtracking, and each
//! "find the closing delimiter" search is cached so that adversarial inputs stay O(n).

use super::{BoxedMode, MathOptions};

/// Where the answer was found; later stages treat them alike, it is kept for display and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Boxed,
    Phrase,
    Math,
    Bare,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// One entry per answer in the final group (usually one).
    pub parts: Vec<String>,
    pub source: Source,
}

impl Extracted {
    /// The parts joined for display and for the single-string API.
    pub fn joined(&self) -> String {
        self.parts.join(", ")
    }
}

/// A located piece of the text: `start..end` is the whole thing, `inner` its content.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    inner: (usize, usize),
}

pub fn extract(response: &str, opts: &MathOptions) -> Option<Extracted> {
    // Reasoning models: only the text after the last `</think>` is the answer.
    let text = match response.rfind("</think>") {
        Some(i) => &response[i + 8..],
        None => response,
    };
    // A run-on (an end-of-turn token, an invented next "Question:") is not part of the answer, unless
    // the first turn has none.
    if opts.ignore_run_on {
        if let Some(p) = crate::grading::text::run_on_start(text) {
            if let Some(e) = extract_turn(&text[..p], opts) {
                return Some(e);
            }
        }
    }
    extract_turn(text, opts)
}

fn extract_turn(text: &str, opts: &MathOptions) -> Option<Extracted> {
    let mut empty_box = false;
    if opts.boxed == BoxedMode::First {
        let found = boxed(text, opts);
        empty_box = matches!(found, Err(true));
        if let Ok((e, end)) = found {
            // "\boxed{255} … The final answer is $10,455$": a final-answer statement after the last box
            // is the later, final word.
            if let Some(p) = text.get(end..).and_then(|rest| final_answer_phrase(rest, opts)) {
                return Some(p);
            }
            return Some(e);
        }
    }
    // Without a box the answer is near the end: phrases and spans are looked for in the last
    // SEARCH_TAIL bytes only, which keeps megabyte inputs cheap.
    let near_end = super::tail(text, SEARCH_TAIL);
    if let Some(e) = phrase(near_end, opts) {
        if !e.parts.iter().all(|p| blank(p)) {
            return Some(e);
        }
        // "The answer is $\boxed{}$.": the answer was marked and left empty. A stray `$` is not.
        if e.parts.iter().any(|p| p.contains('{')) {
            return None;
        }
    }
    if opts.boxed == BoxedMode::AfterPhrase {
        match boxed(text, opts) {
            Ok((e, _)) => return Some(e),
            Err(empty) => empty_box = empty,
        }
    }
    // `\boxed{}`: the response marked its answer and left it empty.
    if empty_box {
        return None;
    }
    fallback(near_end, opts)
}

/// Whether an answer holds nothing but braces, boxes, math delimiters and spaces: `{}`, `{ }`, `\boxed{}`.
fn blank(t: &str) -> bool {
    let mut rest = t;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || "{}$.".contains(c));
        match ["\\boxed", "\\fbox", "\\(", "\\)", "\\[", "\\]", "\\,", "\\ "]
            .iter()
            .find(|m| rest.starts_with(**m))
        {
            Some(m) => rest = &rest[m.len()..],
            None => return rest.is_empty(),
        }
    }
}

/// Bytes at the end of a response searched for an unboxed answer.
pub const SEARCH_TAIL: usize = 64 * 1024;

/// Most answers in one group (boxes or spans joined by connectors); earlier ones are not looked at.
const MAX_GROUP: usize = 32;

// ---------------------------------------------------------------------------------------------------
// Boxes

/// All top-level `\boxed{…}` / `\fbox{…}` (also `\boxed 5`), in order. Boxes nested in a box are part of
/// the outer one; an unclosed box runs to the end of the text.
fn find_boxes(s: &str) -> Vec<Span> {
    let b = s.as_bytes();
    let mut out: Vec<Span> = Vec::new();
    let mut i = 0;
    // Look for "box" rather than for every backslash: LaTeX-heavy text has many backslashes.
    while let Some(off) = s[i..].find("box") {
        let q = i + off;
        let (p, name_len) = if q >= 1 && b[q - 1] == b'\\' && b[q..].starts_with(b"boxed") {
            (q - 1, 5)
        } else if q >= 2 && &b[q - 2..q] == b"\\f" {
            (q - 2, 4)
        } else {
            i = q + 1;
            continue;
        };
        let mut j = p + 1 + name_len;
        if j < b.len() && b[j].is_ascii_alphabetic() {
            i = j;
            continue;
        }
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < b.len() && b[j] == b'{' {
            let (close, closed) = match_brace(b, j);
            let end = if closed { close + 1 } else { b.len() };
            out.push(Span {
                start: p,
                end,
                inner: (j + 1, close),
            });
            i = end;
        } else if j > p + 1 + name_len {
            // `\boxed 5`: one token up to white space or a delimiter.
            let k = b[j..]
                .iter()
                .position(|&c| c.is_ascii_whitespace() || c == b'$' || c == b'\\')
                .map_or(b.len(), |k| j + k);
            if k > j {
                out.push(Span {
                    start: p,
                    end: k,
                    inner: (j, k),
                });
            }
            i = k.max(j);
        } else {
            i = j;
        }
    }
    out
}

/// Index of the brace closing the one at `open` (escaped `\{` `\}` do not count), and whether it closed.
pub(crate) fn match_brace(b: &[u8], open: usize) -> (usize, bool) {
    let mut depth = 0usize;
    let mut k = open;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return (k, true);
                }
            }
            _ => {}
        }
        k += 1;
    }
    (b.len(), false)
}

/// The last group of boxes, and where the last box ends. `Err(true)` when every box is empty
/// (`\boxed{}`), `Err(false)` when there is none. Empty boxes are skipped.
fn boxed(s: &str, opts: &MathOptions) -> Result<(Extracted, usize), bool> {
    let mut boxes = find_boxes(s);
    let any = !boxes.is_empty();
    boxes.retain(|b| !blank(&s[b.inner.0..b.inner.1]));
    let Some(last) = boxes.len().checked_sub(1) else {
        return Err(any);
    };
    let mut first = last;
    if last > 0 {
        // Boxes inside math spans are joined when the spans are:
        // `\(y_1 = \boxed{a}\) and \(y_2 = \boxed{b}\)`.
        // Spans are computed from the start of the line of the earliest box that may join the group.
        let earliest = boxes[last.saturating_sub(MAX_GROUP)].start;
        let base = s[..earliest].rfind('\n').map_or(0, |k| k + 1);
        let spans: Vec<Span> = math_spans(&s[base..])
            .into_iter()
            .map(|sp| Span {
                start: sp.start + base,
                end: sp.end + base,
                inner: (sp.inner.0 + base, sp.inner.1 + base),
            })
            .collect();
        let container = |b: &Span| {
            let k = spans.partition_point(|sp| sp.start <= b.start);
            k.checked_sub(1).map(|k| spans[k]).filter(|sp| b.end <= sp.end)
        };
        while first > 0 && last - first < MAX_GROUP - 1 {
            let (a, b) = (boxes[first - 1], boxes[first]);
            let (ca, cb) = (container(&a), container(&b));
            let (lo, hi) = match (ca, cb) {
                (Some(x), Some(y)) if x.start == y.start => (a.end, b.start),
                _ => (ca.map_or(a.end, |x| x.end), cb.map_or(b.start, |y| y.start)),
            };
            // Mismatched `$` can make a span end inside the next box: fall back to the plain gap.
            let gap = if lo <= hi { &s[lo..hi] } else { &s[a.end..b.start] };
            if !is_connector(gap, opts.self_correction) {
                break;
            }
            first -= 1;
        }
    }
    let parts: Vec<String> = boxes[first..=last]
        .iter()
        .map(|b| s[b.inner.0..b.inner.1].trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    Ok((
        Extracted {
            parts,
            source: Source::Boxed,
        },
        boxes[last].end,
    ))
}

/// Walk back from `spans[last]` while the text between neighbours is only a connector.
fn group_start(s: &str, spans: &[Span], last: usize, opts: &MathOptions) -> usize {
    let mut first = last;
    while first > 0
        && last - first < MAX_GROUP - 1
        && is_connector(&s[spans[first - 1].end..spans[first].start], opts.self_correction)
    {
        first -= 1;
    }
    first
}

/// Words that take back what came before: `\boxed{3} Hmm, actually \boxed{4}` is a correction, not a
/// hedge between 3 and 4.
const CORRECTION_WORDS: [&str; 12] = [
    "actually",
    "wait",
    "hmm",
    "no",
    "correction",
    "oops",
    "sorry",
    "mistake",
    "instead",
    "rather",
    "redo",
    "recheck",
];

/// Text allowed between two answers of one group: white space, punctuation, math delimiters, spacing
/// commands, `\text{…}`, and at most four words (`and`, `or`, `for part (a) and`). A sentence end, a
/// paragraph break, or (when `corrections_split`) a correction word separates statements.
fn is_connector(gap: &str, corrections_split: bool) -> bool {
    if gap.len() > 80 || gap.contains("\n\n") {
        return false;
    }
    let mut words = 0;
    let b = gap.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            // A command: spacing, delimiters and text wrappers are fine; skip its name.
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            let name = &gap[i + 1..j];
            if j == i + 1 {
                j += 1; // control symbol such as `\,` `\(` `\]` `\\`
            } else if !matches!(
                name,
                "quad" | "qquad" | "text" | "textbf" | "mbox" | "textrm" | "hspace"
            ) {
                return false;
            }
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            words += 1;
            if words > 4
                || corrections_split && CORRECTION_WORDS.iter().any(|w| gap[i..j].eq_ignore_ascii_case(w))
            {
                return false;
            }
            i = j;
            continue;
        }
        if c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_whitespace() {
            return false; // "... \boxed{2}. Or maybe \boxed{3}" are two statements
        }
        if c.is_ascii_digit() || c == b'=' {
            return false;
        }
        i += 1;
    }
    true
}

// ---------------------------------------------------------------------------------------------------
// Math spans

/// Cached "next occurrence of `pat` at or after `from`": `from` only grows, so the total work over a
/// scan is linear in the text length.
struct NextFinder {
    pat: &'static str,
    cached: Option<Option<usize>>,
}

impl NextFinder {
    fn new(pat: &'static str) -> Self {
        NextFinder { pat, cached: None }
    }
    fn next(&mut self, s: &str, from: usize) -> Option<usize> {
        match self.cached {
            Some(None) => return None,
            Some(Some(p)) if p >= from => return Some(p),
            _ => {}
        }
        let found = s.get(from..).and_then(|t| t.find(self.pat)).map(|k| from + k);
        self.cached = Some(found);
        found
    }
}

fn escaped(b: &[u8], i: usize) -> bool {
    i > 0 && b[i - 1] == b'\\'
}

/// All math spans, in order, not overlapping. Inline `$…$` and `\(…\)` stay on one line.
fn math_spans(s: &str) -> Vec<Span> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut dd = NextFinder::new("$$");
    let mut d = NextFinder::new("$");
    let mut paren = NextFinder::new("\\)");
    let mut brack = NextFinder::new("\\]");
    let mut nl = NextFinder::new("\n");
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'$' && !escaped(b, i) {
            if b.get(i + 1) == Some(&b'$') {
                if let Some(close) = dd.next(s, i + 2) {
                    out.push(Span {
                        start: i,
                        end: close + 2,
                        inner: (i + 2, close),
                    });
                    i = close + 2;
                    continue;
                }
                i += 2;
                continue;
            }
            let mut from = i + 1;
            let close = loop {
                match d.next(s, from) {
                    Some(c) if escaped(b, c) => from = c + 1,
                    other => break other,
                }
            };
            let line_end = nl.next(s, i + 1).unwrap_or(b.len());
            match close {
                Some(c) if c < line_end && c > i + 1 => {
                    out.push(Span {
                        start: i,
                        end: c + 1,
                        inner: (i + 1, c),
                    });
                    i = c + 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if c == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'(' => {
                    let line_end = nl.next(s, i + 2).unwrap_or(b.len());
                    if let Some(close) = paren.next(s, i + 2).filter(|&c| c < line_end) {
                        out.push(Span {
                            start: i,
                            end: close + 2,
                            inner: (i + 2, close),
                        });
                        i = close + 2;
                        continue;
                    }
                }
                b'[' => {
                    if let Some(close) = brack.next(s, i + 2) {
                        out.push(Span {
                            start: i,
                            end: close + 2,
                            inner: (i + 2, close),
                        });
                        i = close + 2;
                        continue;
                    }
                }
                _ => {}
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}

/// A reference made only of math spans joined by connectors (`$2$ or $-2$`, `$48$, $384$`,
/// `$125$ miles`): the span contents. None when prose surrounds them.
pub fn spans_if_only_connected(r: &str) -> Option<Vec<String>> {
    let spans = math_spans(r);
    let first = spans.first()?;
    let last = spans.last()?;
    let words = |t: &str| {
        t.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
            .count()
    };
    if words(&r[..first.start]) > 0 || words(&r[last.end..]) > 3 {
        return None;
    }
    if spans
        .windows(2)
        .any(|w| !is_connector(&r[w[0].end..w[1].start], true))
    {
        return None;
    }
    let mut parts: Vec<String> = spans
        .iter()
        .map(|sp| r[sp.inner.0..sp.inner.1].trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(p) = parts.last_mut() {
        if r[last.end..].trim_start().starts_with('%') {
            p.push('%');
        }
    }
    (!parts.is_empty()).then_some(parts)
}

// ---------------------------------------------------------------------------------------------------
// "final answer is …", "Answer: …"

/// Only the strong anchor "final answer".
/// Used after the last box, where it overrides the box: so the answer must follow the anchor at once
/// ("final answer is $x$", "final answer: 42"), not somewhere later in a sentence about it ("the final
/// answer has 2 digits").
fn final_answer_phrase(s: &str, opts: &MathOptions) -> Option<Extracted> {
    let lower = s.to_ascii_lowercase();
    let pos = lower.rfind("final answer")?;
    let lead = strip_markup(skip_lead(&s[pos + 12..]));
    let lead = skip_lead(&lead);
    if !starts_like_answer(lead) {
        return None;
    }
    answer_in_segment(sentence(lead), opts, Source::Phrase)
}

fn phrase(s: &str, opts: &MathOptions) -> Option<Extracted> {
    let lower = s.to_ascii_lowercase();
    // GSM8K solutions end with `#### 18`; whichever of that and "final answer" comes last counts.
    let strong = [("final answer", 12), ("####", 4)]
        .iter()
        .filter_map(|(w, n)| lower.rfind(w).map(|p| (p, *n)))
        .max();
    if let Some((pos, len)) = strong {
        return answer_in_segment(sentence(skip_lead(&s[pos + len..])), opts, Source::Phrase);
    }
    // The bare word "answer" is weaker ("To answer this, we compute …"): the answer must follow at once
    // ("The answer is 5", "Answer: $9$", "Answer \[ 9 \]").
    let after = &s[last_word(&lower, "answer")? + 6..];
    let skipped = skip_lead(after);
    // "Answer: The probability is 1/6": a colon makes the phrase an anchor even before prose.
    let marker = after[..after.len() - skipped.len()].trim();
    let colon = marker.contains(':');
    let lead = strip_markup(skipped);
    let lead = skip_lead(&lead);
    if !starts_like_answer(lead) {
        // "The answer is odd.", "Answer: Monday", "The answer is No, it is not": a short word answer.
        let sent = sentence(lead);
        let clause = sent.split([',', ';', '(']).next().unwrap_or(sent);
        // Only after "is" or ":" ("To answer this, …" is not an answer).
        let word = (!marker.is_empty())
            .then(|| word_answer(sent, 3).or_else(|| word_answer(clause, 3)))
            .flatten();
        if let Some(w) = word {
            return Some(Extracted {
                parts: vec![w],
                source: Source::Phrase,
            });
        }
        if !colon {
            return None;
        }
    }
    answer_in_segment(sentence(lead), opts, Source::Phrase)
}

/// The answer in the sentence after an answer phrase when that sentence is prose (a restatement such as
/// "After 3 days, Tom has 15 apples" or "The store had 120 and sold 45, so 75 remain"), by the clause
/// rules of `answer_in_segment`; `None` when the sentence starts with its answer.
pub fn restated_answer(after_phrase: &str) -> Option<String> {
    let lead = strip_markup(after_phrase);
    let lead = skip_lead(&lead);
    if !lead.starts_with(|c: char| c.is_ascii_alphabetic()) || starts_like_answer(lead) {
        return None;
    }
    answer_in_segment(sentence(lead), &MathOptions::default(), Source::Phrase).map(|e| e.joined())
}

/// A short answer in words (`odd`, `Monday`, `Yes`, `no solution`): one to `max_words` words of
/// letters, no digits, no math. Compared by spelling, case-insensitively.
fn word_answer(t: &str, max_words: usize) -> Option<String> {
    if t.len() > 64 {
        return None;
    }
    let t = t.trim().trim_end_matches(['.', ',', ';', '!', '?']).trim();
    let t = t.trim_matches(['"', '\'', '\u{201c}', '\u{201d}']);
    let words = t.split_whitespace().count();
    let letters = t
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\''));
    ((1..=max_words).contains(&words) && letters && t.len() <= 40).then(|| t.to_string())
}

/// Remove Markdown emphasis and code marks outside math spans: `**7**`, `__7__`, `*7*`, `` `42` ``.
/// A `*` or `_` between two characters (`2*3`, `a_1`) is math and stays.
fn strip_markup(t: &str) -> std::borrow::Cow<'_, str> {
    if !t.contains(['*', '_', '`']) {
        return std::borrow::Cow::Borrowed(t);
    }
    let spans = math_spans(t);
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len());
    let mut si = 0;
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if si < spans.len() && i == spans[si].start {
            i = spans[si].end;
            si += 1;
            continue;
        }
        let c = b[i];
        if c == b'`' {
            out.push_str(&t[copied..i]);
            i += 1;
            copied = i;
            continue;
        }
        if c == b'*' || c == b'_' {
            // A run of marks, mixed ones too (`__**3.5**__`), opens or closes as one.
            let mut j = i;
            while j < b.len() && matches!(b[j], b'*' | b'_') {
                j += 1;
            }
            let before = (i > 0).then(|| b[i - 1]);
            let after = b.get(j).copied();
            let edge_before = before.is_none_or(|x| x.is_ascii_whitespace() || b"([:>\"'".contains(&x));
            let edge_after = after.is_none_or(|x| x.is_ascii_whitespace() || b".,;:!?)]\"'".contains(&x));
            let opening = edge_before && after.is_some_and(|x| !x.is_ascii_whitespace());
            let closing = !edge_before && edge_after;
            if opening || closing {
                out.push_str(&t[copied..i]);
                copied = j;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(t);
    }
    out.push_str(&t[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Whether text starts the way an answer does: a digit, a sign, a math delimiter, a bracket, or a
/// variable in an expression (`x = 5`, `a_1 + 1`, `f(2)`; not the word "a").
fn starts_like_answer(t: &str) -> bool {
    let b = t.as_bytes();
    let variable = b.first().is_some_and(u8::is_ascii_alphabetic)
        && match b.get(1) {
            None => false,
            Some(b'_' | b'^' | b'=' | b'(' | b'+' | b'<' | b'>') => true,
            Some(b' ') => t[2..].trim_start().starts_with(['=', '+', '<', '>', '\\']),
            _ => false,
        };
    variable || t.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '$' | '\\' | '-' | '(' | '[' | '.'))
}

/// Last occurrence of `word` not inside a longer word ("answered" does not count).
fn last_word(lower: &str, word: &str) -> Option<usize> {
    let b = lower.as_bytes();
    let mut end = lower.len();
    while let Some(p) = lower[..end].rfind(word) {
        let before_ok = p == 0 || !b[p - 1].is_ascii_alphabetic();
        let after = p + word.len();
        let after_ok = after >= b.len() || !b[after].is_ascii_alphabetic();
        if before_ok && after_ok {
            return Some(p);
        }
        end = p;
    }
    None
}

/// Skip `:`, `**`, white space and a leading "is"/"was"/"would be"/"it is" after the anchor.
fn skip_lead(t: &str) -> &str {
    let mut t = t;
    loop {
        let before = t.len();
        t = t.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '*');
        for w in [
            "is",
            "was",
            "would be",
            "will be",
            "should be",
            "it is",
            "it's",
            "that is",
            "that's",
            "this is",
            "simply",
            "either",
            "equal to",
        ] {
            if t.get(..w.len()).is_some_and(|p| p.eq_ignore_ascii_case(w))
                && t.as_bytes()
                    .get(w.len())
                    .is_some_and(|c| !c.is_ascii_alphanumeric())
            {
                t = &t[w.len()..];
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// The text up to the end of the sentence: a newline outside display math, or a full stop followed by
/// white space, outside math spans. Capped at 400 bytes.
fn sentence(t: &str) -> &str {
    let cap = floor_char(t, 400);
    let t = &t[..cap];
    let spans = math_spans(t);
    let b = t.as_bytes();
    let mut k = 0;
    let mut si = 0;
    while k < b.len() {
        if si < spans.len() && k == spans[si].start {
            k = spans[si].end;
            si += 1;
            continue;
        }
        let c = b[k];
        // "i.e." and "e.g." do not end a sentence.
        let abbreviation = k >= 3 && matches!(&b[k - 3..k], b"i.e" | b"e.g" | b"I.e" | b"E.g");
        if c == b'\n' || c == b'.' && !abbreviation && (k + 1 == b.len() || b[k + 1].is_ascii_whitespace()) {
            return &t[..k];
        }
        k += 1;
    }
    t
}

fn floor_char(t: &str, mut i: usize) -> usize {
    if i >= t.len() {
        return t.len();
    }
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The answer within a short segment: after its last " is ", the math spans there (joined when
/// connected), else the segment itself when it reads as math, else its last number.
fn answer_in_segment(seg: &str, opts: &MathOptions, source: Source) -> Option<Extracted> {
    let seg = strip_markup(seg);
    let seg = first_clause(after_conclusion(drop_condition(&seg)));
    let spans = math_spans(seg);
    // Cut after the first " is " / " are " / " was " / " equals " outside math that an answer follows
    // at once ("the sum is 45, and the product is 12" is 45; "the $n$ that is largest is 34" is 34).
    let mut cut = None;
    let lower = seg.to_ascii_lowercase();
    for verb in [" is ", " are ", " was ", " equals "] {
        let mut from = 0;
        while let Some(k) = lower[from..].find(verb) {
            let p = from + k;
            let end = p + verb.len();
            if !spans.iter().any(|s| s.start <= p && p < s.end)
                && starts_like_answer(skip_lead(&seg[end..]))
                && cut.is_none_or(|c| end < c)
            {
                cut = Some(end);
            }
            from = p + 1;
        }
    }
    let seg = &seg[cut.unwrap_or(0)..];
    let spans: Vec<Span> = math_spans(seg);
    if !spans.is_empty() {
        // The first span and those connected to it.
        let mut last = 0;
        while last + 1 < spans.len()
            && is_connector(&seg[spans[last].end..spans[last + 1].start], opts.self_correction)
        {
            last += 1;
        }
        let mut parts: Vec<String> = spans[..=last]
            .iter()
            .map(|sp| seg[sp.inner.0..sp.inner.1].trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        // A percent sign right after the span belongs to the answer: `$20$%`.
        if let Some(p) = parts.last_mut() {
            let after = seg[spans[last].end..].trim_start();
            if after.starts_with('%') || after.to_ascii_lowercase().starts_with("percent") {
                p.push('%');
            }
        }
        if !parts.is_empty() {
            return Some(Extracted { parts, source });
        }
    }
    if !opts.plain_numbers {
        return None;
    }
    let trimmed = seg.trim().trim_end_matches(['.', ',', ';', '!', '*']).trim();
    if trimmed.is_empty() {
        return None;
    }
    if reads_as_math(trimmed) {
        return Some(Extracted {
            parts: vec![trimmed.to_string()],
            source,
        });
    }
    // "12 apples", "3/4 of the pie", "7 x 8 = 56 cookies": the math that the text starts with.
    if starts_like_answer(trimmed) {
        let head = trim_connectors(&trimmed[..math_prefix_end(trimmed)]);
        if head.bytes().any(|c| c.is_ascii_digit()) {
            return Some(Extracted {
                parts: vec![head.to_string()],
                source,
            });
        }
    }
    if let Some(n) = last_number(trimmed) {
        return Some(Extracted {
            parts: vec![n],
            source,
        });
    }
    word_answer(trimmed, 3).map(|w| Extracted {
        parts: vec![w],
        source,
    })
}

/// Words that open a remark after the answer: "12 apples, not 15", "5 (we used 234 pairs)"; "i.e." and
/// "e.g." do too ("1/2, i.e. 0.5" is 1/2).
const REMARK_WORDS: [&str; 16] = [
    "not", "because", "since", "which", "rather", "instead", "but", "although", "though", "whereas",
    "compared", "as", "so", "while", "where", "hence",
];

/// The answer's clause: the text before the first remark that follows some answer (a digit or a math
/// span): `;`, a parenthesis, a dash, or a remark word ("not", "which", "because", …). Later remarks
/// do not override the answer.
fn first_clause(seg: &str) -> &str {
    let spans = math_spans(seg);
    let b = seg.as_bytes();
    let mut seen = false;
    let mut si = 0;
    let mut k = 0;
    while k < b.len() {
        if si < spans.len() && k == spans[si].start {
            k = spans[si].end;
            si += 1;
            seen = true;
            continue;
        }
        let c = b[k];
        if c.is_ascii_digit() {
            seen = true;
        } else if seen && k > 0 {
            let boundary = c == b';'
                || c == b'(' && b[k - 1] == b' '
                || b[k..].starts_with("\u{2014}".as_bytes())
                || b[k..].starts_with(b" -- ")
                || (c == b' ' || c == b',') && {
                    let rest = seg[k + 1..].trim_start();
                    let w = rest
                        .split(|c: char| !c.is_ascii_alphabetic())
                        .next()
                        .unwrap_or("");
                    REMARK_WORDS.iter().any(|r| w.eq_ignore_ascii_case(r))
                        || new_clause(rest)
                        || ["i.e", "e.g"]
                            .iter()
                            .any(|a| rest.get(..3).is_some_and(|r| r.eq_ignore_ascii_case(a)))
                };
            if boundary {
                return &seg[..k];
            }
        }
        k += 1;
    }
    seg
}

/// Words that conclude a restatement: "Sarah has 3 times as many as Tom, who has 4, so she has 12".
const CONCLUSION_WORDS: [&str; 4] = ["so", "hence", "thus", "therefore"];

/// In a restatement (text that does not start with its answer), the text after the last conclusion
/// word that a number follows; else all of it.
fn after_conclusion(seg: &str) -> &str {
    if starts_like_answer(skip_lead(seg.trim_start())) {
        return seg;
    }
    let spans = math_spans(seg);
    let mut best = None;
    let mut k = 0;
    for w in seg.split_inclusive(|c: char| !c.is_ascii_alphabetic()) {
        let word = w.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
        let end = k + word.len();
        let boundary = k == 0 || !seg.as_bytes()[k - 1].is_ascii_alphabetic();
        if boundary
            && CONCLUSION_WORDS.iter().any(|c| word.eq_ignore_ascii_case(c))
            && !spans.iter().any(|s| s.start <= k && k < s.end)
            && seg[end..].bytes().any(|c| c.is_ascii_digit())
        {
            best = Some(end);
        }
        k += w.len();
    }
    best.map_or(seg, |e| &seg[e..])
}

/// Whether `rest` opens a new clause with "and" and a word ("5, and the remainder is 2"), not a list
/// ("2 and 3", "x = 2 and y = 3", "odd and even" has no number before it).
fn new_clause(rest: &str) -> bool {
    let Some(after) = rest
        .get(..4)
        .filter(|w| w.eq_ignore_ascii_case("and "))
        .map(|_| rest[4..].trim_start())
    else {
        return false;
    };
    let w = after
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    w.len() >= 2 && !after[w.len()..].starts_with(['(', '_', '^', '{']) && !w.eq_ignore_ascii_case("or")
}

/// Words that open a condition before the result: "If the area is 16, the side is 4".
const CONDITION_WORDS: [&str; 8] = [
    "if", "when", "since", "because", "given", "assuming", "after", "as",
];

/// The text after a leading condition clause ("If …, ", "Since …, "), or all of it.
fn drop_condition(seg: &str) -> &str {
    let t = seg.trim_start();
    let w = t.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    if !CONDITION_WORDS.iter().any(|c| w.eq_ignore_ascii_case(c)) {
        return seg;
    }
    let spans = math_spans(t);
    let mut from = 0;
    while let Some(k) = t[from..].find(", ") {
        let p = from + k;
        if !spans.iter().any(|s| s.start <= p && p < s.end) {
            return &t[p + 2..];
        }
        from = p + 1;
    }
    seg
}

/// Drop trailing "and"/"or", commas and white space from a cut-off answer: `12 and` → `12`.
fn trim_connectors(t: &str) -> &str {
    let mut t = t.trim_end();
    loop {
        let before = t.len();
        t = t.trim_end_matches([',', ';', ' ', '.']);
        for w in [" and", " or"] {
            if t.len() >= w.len() && t.as_bytes()[t.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes()) {
                t = &t[..t.len() - w.len()];
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// A bare segment reads as math when every run of two or more letters outside a command is a math
/// word (a function name, "and"/"or", "percent"): `\frac{10}{9}`, `28 percent`, `x \ge 5`, but not
/// `is -5` or `Jane started 3 hours ago`.
fn reads_as_math(t: &str) -> bool {
    math_prefix_end(t) == t.len()
}

/// Commands whose braced argument is a name or words, not math: `\text{ cm}`, `\begin{pmatrix}`.
const WORD_ARG_COMMANDS: [&str; 16] = [
    "text",
    "mbox",
    "textbf",
    "textrm",
    "textit",
    "texttt",
    "textsf",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "operatorname",
    "begin",
    "end",
    "emph",
    "mathtt",
];

/// Where the math at the start of `t` ends: the start of the first prose word (two or more letters
/// outside a command and not a math word, or a lone "a"/"I" before a word), or `t.len()`.
fn math_prefix_end(t: &str) -> usize {
    const OK: [&str; 34] = [
        "sqrt", "frac", "dfrac", "tfrac", "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp",
        "and", "or", "percent", "pct", "pi", "cdot", "times", "infty", "boxed", "left", "right", "quad",
        "circ", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "min", "max",
    ];
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let command = b[i] == b'\\';
        if command {
            i += 1;
        }
        let st = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        if i == st {
            i += 1;
            continue;
        }
        let word = &t[st..i];
        if command {
            if WORD_ARG_COMMANDS.contains(&word) && b.get(i) == Some(&b'{') {
                let (close, closed) = match_brace(b, i);
                i = if closed { close + 1 } else { b.len() };
            }
            continue;
        }
        let lone_word = i - st == 1
            && matches!(b[st], b'a' | b'A' | b'I')
            && b.get(i) == Some(&b' ')
            && b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
            && !(t[i + 1..].starts_with("and ") || t[i + 1..].starts_with("or "))
            && (st == 0 || b[st - 1] == b' ');
        if lone_word || i - st >= 2 && !OK.contains(&word.to_ascii_lowercase().as_str()) {
            return st;
        }
    }
    b.len()
}

/// The last bare number in plain text: optional sign, digits with `,` or thin-space groups, a decimal
/// part, an optional `/denominator` or mixed-number fraction, and a trailing `%`/"percent". A number
/// glued to a preceding letter (`K2A`) does not count.
fn last_number(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let mut end = b.len();
    loop {
        // Find the last digit before `end`.
        let last_digit = b[..end].iter().rposition(|c| c.is_ascii_digit())?;
        // Walk back over the number body.
        let mut start = last_digit;
        while start > 0 {
            let c = b[start - 1];
            let prev_digit = start >= 2 && b[start - 2].is_ascii_digit();
            if c.is_ascii_digit()
                || (c == b'.' || c == b',' || c == b'/') && prev_digit
                || c == b' '
                    && prev_digit
                    && start + 3 <= b.len()
                    && b[start..start + 3].iter().all(u8::is_ascii_digit)
            {
                start -= 1;
            } else {
                break;
            }
        }
        // An exponent or a subscript is not an answer of its own: `5 cm^2` reads 5, `a_1` nothing;
        // a number raised to a number is read whole (`2^{10}`).
        let open = usize::from(start > 0 && b[start - 1] == b'{');
        if start > open && matches!(b[start - 1 - open], b'^' | b'_') {
            let mark = start - 1 - open;
            if b[mark] == b'^' && mark > 0 && b[mark - 1].is_ascii_digit() {
                let mut base = mark;
                while base > 0 && (b[base - 1].is_ascii_digit() || b[base - 1] == b'.') {
                    base -= 1;
                }
                if base == 0 || !b[base - 1].is_ascii_alphabetic() {
                    let close = usize::from(open == 1 && b.get(last_digit + 1) == Some(&b'}'));
                    return Some(t[base..last_digit + 1 + close].to_string());
                }
            }
            end = mark;
            continue;
        }
        if start == 0 || !b[start - 1].is_ascii_alphabetic() {
            if start > 0 && b[start - 1] == b'-' && (start == 1 || !b[start - 2].is_ascii_alphanumeric()) {
                start -= 1;
            } else if start == 0 && b[0] == b'.' {
                // ".4"
            } else if start > 0 && b[start - 1] == b'.' && (start == 1 || !b[start - 2].is_ascii_digit()) {
                start -= 1;
            }
            let mut stop = last_digit + 1;
            // Trailing percent.
            let rest = &t[stop..];
            let rest_trim = rest.trim_start();
            let lower: String = rest_trim
                .chars()
                .take(10)
                .collect::<String>()
                .to_ascii_lowercase();
            if rest_trim.starts_with('%') || rest_trim.starts_with("\\%") {
                stop = t.len() - rest_trim.len() + if rest_trim.starts_with('%') { 1 } else { 2 };
            } else if let Some(w) = ["percent", "pct", "million", "billion", "thousand"]
                .iter()
                .find(|w| lower.starts_with(**w))
            {
                stop = t.len() - rest_trim.len() + w.len();
            }
            let num = t[start..stop].trim().trim_end_matches([',', '.', '/']);
            return Some(num.to_string());
        }
        end = start;
        // Skip the letter-glued run entirely.
        while end > 0 && b[end - 1].is_ascii_alphanumeric() {
            end -= 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Nothing anchored: the rightmost math group or bare number.

fn fallback(s: &str, opts: &MathOptions) -> Option<Extracted> {
    let spans = math_spans(s);
    // A short response that is all math (`\frac{10}{9}`, `-5`, `x \ge 5`, a bare matrix) is its own
    // answer.
    let whole = strip_markup(s.trim());
    let whole = whole.trim();
    let boxes_off = opts.boxed == BoxedMode::Off && (whole.contains("\\boxed") || whole.contains("\\fbox"));
    if spans.is_empty() && !whole.is_empty() && whole.len() <= 2000 && reads_as_math(whole) && !boxes_off {
        return Some(Extracted {
            parts: vec![whole.to_string()],
            source: Source::Math,
        });
    }
    let math = spans.len().checked_sub(1).map(|last| {
        let first = group_start(s, &spans, last, opts);
        let parts: Vec<String> = spans[first..=last]
            .iter()
            .map(|sp| s[sp.inner.0..sp.inner.1].trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        (spans[last].end, parts)
    });
    let bare = if opts.plain_numbers {
        last_number_outside(s, &spans)
    } else {
        None
    };
    match (math, bare) {
        (Some((mend, parts)), Some((bend, n))) => {
            if bend > mend || parts.is_empty() {
                Some(Extracted {
                    parts: vec![n],
                    source: Source::Bare,
                })
            } else {
                Some(Extracted {
                    parts,
                    source: Source::Math,
                })
            }
        }
        (Some((_, parts)), None) if !parts.is_empty() => Some(Extracted {
            parts,
            source: Source::Math,
        }),
        (_, Some((_, n))) => Some(Extracted {
            parts: vec![n],
            source: Source::Bare,
        }),
        // A response that is one word (`Yes`, `Monday.`, `**odd**`): a word answer.
        _ if spans.is_empty() => word_answer(whole, 1).map(|w| Extracted {
            parts: vec![w],
            source: Source::Bare,
        }),
        _ => None,
    }
}

/// The last bare number in the text outside math spans, with the byte offset where it ends.
fn last_number_outside(s: &str, spans: &[Span]) -> Option<(usize, String)> {
    let mut end = s.len();
    for sp in spans.iter().rev() {
        let region = &s[sp.end.min(end)..end];
        if let Some(n) = last_number(region) {
            return Some((end, n));
        }
        end = sp.start;
    }
    last_number(&s[..end]).map(|n| (end, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Option<Vec<String>> {
        extract(s, &MathOptions::default()).map(|e| e.parts)
    }

    fn one(s: &str) -> String {
        let p = ex(s).unwrap_or_default();
        assert_eq!(p.len(), 1, "{s:?} gave {p:?}");
        p[0].clone()
    }

    #[test]
    fn last_box_wins_and_nested_braces_balance() {
        assert_eq!(one(r"so \boxed{3}. Then \boxed{\frac{1}{2}}"), r"\frac{1}{2}");
        assert_eq!(one(r"\boxed{\{1,2\}}"), r"\{1,2\}");
        assert_eq!(one(r"\fbox{90.}"), "90.");
        assert_eq!(one(r"\boxed 5$"), "5");
        assert_eq!(one(r"\boxed{\boxed{7}}"), r"\boxed{7}");
        assert_eq!(one(r"\boxed{1+"), "1+");
    }

    #[test]
    fn connected_boxes_form_a_group() {
        assert_eq!(ex(r"\boxed{1} and \boxed{2}").unwrap(), ["1", "2"]);
        assert_eq!(
            ex(r"\[\boxed{-2} \quad \text{and} \quad \boxed{1}.\]").unwrap(),
            ["-2", "1"]
        );
        assert_eq!(
            ex(r"\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}").unwrap(),
            ["(3, 3)", "(1, 1)"]
        );
        assert_eq!(ex(r"\boxed{1} no no no no no \boxed{2}").unwrap(), ["2"]);
        assert_eq!(ex("\\boxed{2}. So the answer is \\boxed{3}").unwrap(), ["3"]);
    }

    #[test]
    fn phrases() {
        assert_eq!(
            one("The final answer is $(0, 1)$. I hope it is correct."),
            "(0, 1)"
        );
        assert_eq!(one("Final Answer: The largest $n$ is 34."), "34");
        assert_eq!(
            one("Final Answer: Jane started growing Sphere 3 hours ago. I hope"),
            "3"
        );
        assert_eq!(
            one("Final Answer: The final answer is 12,000,023. I hope it is correct."),
            "12,000,023"
        );
        assert_eq!(one("Answer \\[ 9 \\]"), "9");
        assert_eq!(
            ex("$21,16$ or $11$ is the answer: $21,16$ or $11$").unwrap(),
            ["21,16", "11"]
        );
    }

    #[test]
    fn fallbacks() {
        assert_eq!(one("so $x = 2$ and then 2/3. <|im_start|>user"), "2/3");
        assert_eq!(one("the pair is $(7, 6)$."), "(7, 6)");
        assert_eq!(one("the number is not 10 which is 1,000.99€"), "1,000.99");
        assert_eq!(one("increases by 100%."), "100%");
        assert_eq!(one("28 percent"), "28 percent");
        assert_eq!(one("1 000"), "1 000");
        assert_eq!(ex("AZYUK2A"), None);
        assert_eq!(ex("no digits here"), None);
        assert_eq!(one(".4"), ".4");
        assert_eq!(one("is -5."), "-5");
        assert_eq!(ex("Answer $ \n 9 \n $").map(|p| p.len()), Some(1));
    }

    #[test]
    fn inline_dollars_stay_on_one_line() {
        let spans = math_spans("a $x\ny$ b $z$");
        assert_eq!(spans.len(), 1);
        let spans = math_spans("cost \\$5 and $x$");
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn think_block_is_skipped() {
        assert_eq!(one(r"<think>\boxed{1}</think> The answer is \boxed{2}"), "2");
    }
}
