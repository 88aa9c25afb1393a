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
}
