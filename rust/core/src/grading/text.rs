//! Small text helpers shared by the answer extractors. All linear in the input, none recursive.

/// Byte offset of the last ASCII-case-insensitive occurrence of `needle` (ASCII) in `hay`.
pub fn rfind_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Byte offsets of every ASCII-case-insensitive occurrence of `needle` in `hay`, left to right.
pub fn find_all_ci<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let last = if n.is_empty() {
        0
    } else {
        (h.len() + 1).saturating_sub(n.len())
    };
    (0..last).filter(move |&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The content of the last `\boxed{...}` or `\fbox{...}` (braces balanced), if any. An unclosed box
/// yields everything after its opening brace.
pub fn last_boxed(text: &str) -> Option<&str> {
    let open = ["\\boxed{", "\\fbox{"]
        .iter()
        .filter_map(|m| text.rfind(m).map(|i| i + m.len()))
        .max()?;
    let mut depth = 1usize;
    for (k, c) in text[open..].bytes().enumerate() {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[open..open + k]);
                }
            }
            _ => {}
        }
    }
    Some(&text[open..])
}

/// The last `max_bytes` bytes of `s`, cut forward to a character boundary.
pub fn tail(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut i = s.len() - max_bytes;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The text from `from` up to the end of its line.
pub fn rest_of_line(s: &str, from: usize) -> &str {
    let rest = &s[from..];
    rest.find('\n').map_or(rest, |i| &rest[..i])
}

/// Special tokens that end a model's turn; text after one is not part of the answer.
const END_TOKENS: [&str; 7] = [
    "<|im_end|>",
    "<|im_start|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end|>",
    "<|user|>",
    "</s>",
];

/// Words that open a new, invented turn when they start a line: `Question:`, `Problem 2:`, `Q:`,
/// `Human:`, `User:`, `### Instruction`.
const TURN_WORDS: [&str; 7] = [
    "question",
    "problem",
    "q",
    "human",
    "user",
    "instruction",
    "exercise",
];

/// Where a run-on continuation starts: an end-of-turn token after some text, or a line that opens a
/// new question (`Question: …`, `Problem 3:`, `Human:`) after an answer was marked (`####`, `\\boxed`,
/// "answer"). `None` when the response is one turn.
/// Linear: a byte search from one `<` or line break to the next.
pub fn run_on_start(text: &str) -> Option<usize> {
    let first = text.len() - text.trim_start().len();
    let b = text.as_bytes();
    // Every end-of-turn token starts with '<': jump from one '<' to the next.
    let mut token = None;
    let mut from = first + text[first..].chars().next().map_or(0, char::len_utf8);
    while let Some(k) = text.get(from..).and_then(|t| t.find('<')) {
        let p = from + k;
        if END_TOKENS.iter().any(|t| b[p..].starts_with(t.as_bytes())) {
            token = Some(p);
            break;
        }
        from = p + 1;
    }
    // A new-question line ends the turn only after an answer was marked (`####`, a box, "answer"):
    // "We have 3 cases.\nProblem: …" restates the problem, it is not a run-on.
    let limit = token.unwrap_or(text.len());
    // Found once, and only when a new-question line turns up.
    let mut first_mark: Option<Option<usize>> = None;
    let mut marked = |end: usize| {
        let m = *first_mark.get_or_insert_with(|| {
            [
                text.find("####"),
                text.find("\\boxed"),
                find_all_ci(text, "answer").next(),
            ]
            .into_iter()
            .flatten()
            .min()
        });
        m.is_some_and(|m| m < end)
    };
    let mut from = first;
    while let Some(k) = text[from..limit].find('\n') {
        let start = from + k + 1;
        if opens_turn(b, start) && marked(start) {
            return Some(start);
        }
        from = start;
    }
    token
}

/// Whether the line starting at `start` opens a new turn: a turn word used as a heading.
fn opens_turn(b: &[u8], start: usize) -> bool {
    let mut i = start;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'#' | b'*' | b'>') {
        i += 1;
    }
    let mut j = i;
    while j < b.len() && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    let word = &b[i..j];
    if !TURN_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w.as_bytes())) {
        return false;
    }
    if word.eq_ignore_ascii_case(b"instruction") {
        return true;
    }
    // The word must be a heading: followed by ':' (after an optional number and `**`).
    while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b' ' | b'*' | b'.')) {
        j += 1;
    }
    b.get(j) == Some(&b':')
}

/// The first turn of a response: the text before [`run_on_start`], or all of it.
pub fn first_turn(text: &str) -> &str {
    run_on_start(text).map_or(text, |p| &text[..p])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed() {
        assert_eq!(
            last_boxed(r"a \boxed{1} b \boxed{\frac{1}{2}} c"),
            Some(r"\frac{1}{2}")
        );
        assert_eq!(last_boxed(r"\fbox{B}"), Some("B"));
        assert_eq!(last_boxed(r"\boxed{7"), Some("7"));
        assert_eq!(last_boxed("none"), None);
    }

    #[test]
    fn case_insensitive_search() {
        assert_eq!(rfind_ci("Answer: 1. The ANSWER is 2", "answer"), Some(15));
        assert_eq!(find_all_ci("aAa", "a").collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(rfind_ci("ab", "abc"), None);
    }

    #[test]
    fn tails() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(rest_of_line("a\nbc\nd", 2), "bc");
    }

    #[test]
    fn run_ons() {
        assert_eq!(
            first_turn("#### 18\n\nQuestion: Tom has 3 apples.\n#### 42"),
            "#### 18\n\n"
        );
        assert_eq!(first_turn("so 4.<|im_start|>user\nmore"), "so 4.");
        assert_eq!(first_turn("\\boxed{x}\n**Problem 2:** next"), "\\boxed{x}\n");
        assert_eq!(first_turn("Answer: x\nHuman: hi"), "Answer: x\n");
        // A problem restated after some text, before any answer, is not a run-on.
        let restated = "We have 3 cases.\nProblem: find x.\nSo \\boxed{5}";
        assert_eq!(first_turn(restated), restated);
        // A question restated at the start, or the word in running text, is not a run-on.
        assert_eq!(
            first_turn("Question: 2+2?\nAnswer: 4"),
            "Question: 2+2?\nAnswer: 4"
        );
        assert_eq!(
            first_turn("a\nquestion marks matter\n4"),
            "a\nquestion marks matter\n4"
        );
    }
}
