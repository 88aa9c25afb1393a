//! Tokens of a normalised answer. Numbers absorb their thousands separators here (explicit `{,}`
//! marks always; `1,234` and `1 234` only outside brackets, where a comma is not an item separator).

use super::normalize::THOUSANDS;
use crate::grading::verdict::{Budget, LimitHit};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Digits with an optional `.fraction` and `e±exponent`, separators removed.
    Num(String),
    /// A single-letter symbol.
    Letter(char),
    /// A run of letters that is a word (units, "and", "percent", text).
    Word(String),
    /// `\name` without the backslash.
    Cmd(String),
    /// The content of `\text{…}`, `\mbox{…}`, `\textbf{…}`.
    Text(String),
    /// One-character operators and punctuation: `+ - * / ^ _ = < > ! % , ; : | & ' .`
    Op(char),
    LParen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    /// `\{` and `\}`.
    LSet,
    RSet,
    /// `\\` (matrix row separator).
    RowSep,
    Begin(String),
    End(String),
}

/// Function names recognised without a backslash (`sin x`, `arcsin(…)`, `sqrt(2)`), longest first.
const BARE_FUNCS: [&str; 21] = [
    "arcsin", "arccos", "arctan", "sqrt", "sinh", "cosh", "tanh", "sin", "cos", "tan", "sec", "csc", "cot",
    "log", "exp", "ln", "min", "max", "abs", "gcd", "lcm",
];

/// Two- and three-letter runs that are words rather than products of variables.
const SHORT_WORDS: [&str; 37] = [
    "and", "or", "cm", "mm", "km", "kg", "mg", "ml", "ft", "yd", "mi", "hr", "hrs", "sec", "mph", "lb",
    "lbs", "oz", "sq", "deg", "pct", "cts", "kph", "min", "mins", "mol", "kj", "kw", "in", "is", "of", "to",
    "the", "are", "for", "per", "inf",
];

/// Commands split off when glued to following letters (`\cdotC` is `\cdot C`).
const GLUED: [&str; 7] = ["cdot", "times", "div", "pi", "infty", "sqrt", "frac"];

pub fn lex(s: &str, decimal_comma: bool, budget: &mut Budget) -> Result<Vec<Tok>, LimitHit> {
    let b = s.as_bytes();
    let mut toks = Vec::with_capacity(s.len() / 2 + 1);
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < s.len() {
        budget.tick()?;
        let c = b[i];
        match c {
            b' ' => i += 1,
            b'0'..=b'9' => i = number(s, i, depth == 0, decimal_comma, &mut toks),
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = number(s, i, depth == 0, decimal_comma, &mut toks)
            }
            b'a'..=b'z' | b'A'..=b'Z' => i = letters(s, i, &mut toks),
            b'\\' => i = backslash(s, i, &mut toks, &mut depth),
            b'(' => {
                depth += 1;
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                depth -= 1;
                toks.push(Tok::RParen);
                i += 1;
            }
            b'[' => {
                depth += 1;
                toks.push(Tok::LBrack);
                i += 1;
            }
            b']' => {
                depth -= 1;
                toks.push(Tok::RBrack);
                i += 1;
            }
            b'{' => {
                toks.push(Tok::LBrace);
                i += 1;
            }
            b'}' => {
                toks.push(Tok::RBrace);
                i += 1;
            }
            b'<' | b'>' | b'!' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Cmd(
                    match c {
                        b'<' => "le",
                        b'>' => "ge",
                        _ => "ne",
                    }
                    .into(),
                ));
                i += 2;
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Op('='));
                i += 2;
            }
            b'*' if b.get(i + 1) == Some(&b'*') => {
                toks.push(Tok::Op('^'));
                i += 2;
            }
            b'+' | b'-' | b'*' | b'/' | b'^' | b'_' | b'=' | b'<' | b'>' | b'!' | b'%' | b',' | b';'
            | b':' | b'|' | b'&' | b'\'' | b'.' | b'?' | b'#' | b'"' | b'@' | b'`' => {
                toks.push(Tok::Op(c as char));
                i += 1;
            }
            _ if c >= 0x80 => {
                let ch = s[i..].chars().next().unwrap_or(' ');
                i += ch.len_utf8();
                if ch == THOUSANDS {
                    continue;
                }
                if ch.is_alphabetic() {
                    toks.push(Tok::Letter(ch));
                } else {
                    toks.push(Tok::Op(ch));
                }
            }
            _ => {
                toks.push(Tok::Op(c as char));
                i += 1;
            }
        }
    }
    Ok(toks)
}

fn digits_at(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// A number starting at `i`. Thousands groups: explicit marks always; `,ddd` and ` ddd` only at top
/// level (`top`), after a first group of one to three digits, and only when exactly three digits follow.
fn number(s: &str, i: usize, top: bool, decimal_comma: bool, toks: &mut Vec<Tok>) -> usize {
    let b = s.as_bytes();
    let mut text = String::new();
    let mut j = i;
    let first = digits_at(b, j);
    text.push_str(&s[j..j + first]);
    j += first;
    let mut grouped = false;
    if first > 0 {
        loop {
            // Explicit mark, possibly followed by a space: `11,\! 111`.
            let mark_len = THOUSANDS.len_utf8();
            if s[j..].starts_with(THOUSANDS) {
                let mut k = j + mark_len;
                if b.get(k) == Some(&b' ') {
                    k += 1;
                }
                if digits_at(b, k) == 3 {
                    text.push_str(&s[k..k + 3]);
                    j = k + 3;
                    grouped = true;
                    continue;
                }
                break;
            }
            let sep = b.get(j).copied();
            let implicit_ok = top && (grouped || first <= 3) && !(first == 1 && b[i] == b'0' && !grouped);
            if implicit_ok && (sep == Some(b',') || sep == Some(b' ')) && digits_at(b, j + 1) == 3 {
                let after = b.get(j + 4).copied();
                let digit_after = after.is_some_and(|c| c.is_ascii_digit());
                // `1 000` but not `4 4/9` or `2 100/3`; `1,000.5` is fine, `1 000.5` too.
                let blocks_space = sep == Some(b' ') && matches!(after, Some(b'/'));
                let comma_ok =
                    sep == Some(b',') && !(decimal_comma && !grouped && first == 1 && b[i] == b'0');
                if !digit_after && !blocks_space && (sep == Some(b' ') || comma_ok) {
                    text.push_str(&s[j + 1..j + 4]);
                    j += 4;
                    grouped = true;
                    continue;
                }
            }
            break;
        }
    }
    // Decimal part: `.ddd`, or `,dd` in decimal-comma mode when it is not a thousands group.
    if b.get(j) == Some(&b'.') && digits_at(b, j + 1) > 0 {
        let n = digits_at(b, j + 1);
        text.push('.');
        text.push_str(&s[j + 1..j + 1 + n]);
        j += 1 + n;
    } else if b.get(j) == Some(&b'.')
        && first > 0
        && matches!(b.get(j + 1), Some(b'/' | b'*' | b')' | b'^' | b'+' | b'-' | b']'))
    {
        // `-1./3` (Python-style `1.` = 1.0, as in Minerva answers).
        text.push('.');
        j += 1;
    } else if decimal_comma && !grouped && b.get(j) == Some(&b',') && digits_at(b, j + 1) > 0 {
        let n = digits_at(b, j + 1);
        text.push('.');
        text.push_str(&s[j + 1..j + 1 + n]);
        j += 1 + n;
    }
    // Scientific notation: `4.5e33`, `1e-5`, but not `2e^x` or `3ex`.
    if matches!(b.get(j), Some(b'e') | Some(b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+') | Some(b'-')) {
            k += 1;
        }
        let n = digits_at(b, k);
        if n > 0 && !b.get(k + n).is_some_and(|c| c.is_ascii_alphabetic()) {
            text.push('e');
            text.push_str(&s[j + 1..k + n]);
            j = k + n;
        }
    }
    if text.starts_with('.') {
        text.insert(0, '0');
    }
    toks.push(Tok::Num(text));
    j
}

/// A run of ASCII letters: bare function names, words, or single-letter symbols (`xy` is x·y).
fn letters(s: &str, i: usize, toks: &mut Vec<Tok>) -> usize {
    let b = s.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    let run = &s[i..j];
    let lower = run.to_ascii_lowercase();
    let next = b.get(j).copied();
    if run.len() == 1 {
        toks.push(Tok::Letter(b[i] as char));
        return j;
    }
    match lower.as_str() {
        "pi" => {
            toks.push(Tok::Cmd("pi".into()));
            return j;
        }
        "infty" | "infinity" | "inf" | "oo" => {
            toks.push(Tok::Cmd("infty".into()));
            return j;
        }
        "sec" | "min" if next != Some(b'(') && next != Some(b'^') => {
            toks.push(Tok::Word(lower));
            return j;
        }
        _ => {}
    }
    if let Some(f) = BARE_FUNCS.iter().find(|f| lower.starts_with(**f)) {
        // `sinx` is sin x; only when followed by an argument, so that "expected" is not e·x·p…
        let rest_len = run.len() - f.len();
        if rest_len <= 1 {
            toks.push(Tok::Cmd(f.to_string()));
            if rest_len == 1 {
                toks.push(Tok::Letter(b[i + f.len()] as char));
            }
            return j;
        }
    }
    if run.len() <= 3 && !SHORT_WORDS.contains(&lower.as_str()) {
        for ch in run.chars() {
            toks.push(Tok::Letter(ch));
        }
    } else {
        toks.push(Tok::Word(run.to_string()));
    }
    j
}

fn backslash(s: &str, i: usize, toks: &mut Vec<Tok>, depth: &mut i32) -> usize {
    let b = s.as_bytes();
    let mut j = i + 1;
    while j < b.len() && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    if j == i + 1 {
        let Some(&c) = b.get(i + 1) else {
            return i + 1;
        };
        match c {
            b'{' => {
                *depth += 1;
                toks.push(Tok::LSet);
            }
            b'}' => {
                *depth -= 1;
                toks.push(Tok::RSet);
            }
            b'\\' => toks.push(Tok::RowSep),
            b'|' => toks.push(Tok::Op('|')),
            b'&' | b'#' | b'_' => toks.push(Tok::Op(c as char)),
            // A backslash before a non-ASCII character: drop the backslash, keep the character.
            _ if c >= 0x80 => return i + 1,
            _ => {}
        }
        return i + 2;
    }
    let name = &s[i + 1..j];
    match name {
        "text" | "textbf" | "mbox" | "textnormal" | "textit" | "texttt" | "textsf" | "hbox" | "emph" => {
            let t = s[j..].trim_start();
            let start = s.len() - t.len();
            if let Some(after) = t.strip_prefix('{') {
                // `\text{5 cm}`, `\text{-3}`: a number inside text is math; lex the group normally.
                let inner = after.trim_start();
                let inner = inner.strip_prefix('-').unwrap_or(inner);
                if inner.starts_with(|c: char| c.is_ascii_digit()) {
                    return start;
                }
                let (close, closed) = super::extract::match_brace(b, start);
                toks.push(Tok::Text(s[start + 1..close].trim().to_string()));
                return if closed { close + 1 } else { s.len() };
            }
            j
        }
        "begin" | "end" => {
            let t = &s[j..];
            if t.starts_with('{') {
                if let Some(close) = t.find('}') {
                    let env = t[1..close].trim().trim_end_matches('*').to_string();
                    let mut k = j + close + 1;
                    if name == "begin" {
                        // Skip an array's column spec: `\begin{array}{cc}`.
                        if env == "array" && s[k..].starts_with('{') {
                            let (c2, closed) = super::extract::match_brace(b, k);
                            k = if closed { c2 + 1 } else { s.len() };
                        }
                        toks.push(Tok::Begin(env));
                    } else {
                        toks.push(Tok::End(env));
                    }
                    return k;
                }
            }
            toks.push(Tok::Cmd(name.to_string()));
            j
        }
        "lbrace" => {
            *depth += 1;
            toks.push(Tok::LSet);
            j
        }
        "rbrace" => {
            *depth -= 1;
            toks.push(Tok::RSet);
            j
        }
        "lvert" | "rvert" | "vert" | "mid" | "lVert" | "rVert" | "Vert" => {
            toks.push(Tok::Op('|'));
            j
        }
        "langle" => {
            *depth += 1;
            toks.push(Tok::LParen);
            j
        }
        "rangle" => {
            *depth -= 1;
            toks.push(Tok::RParen);
            j
        }
        _ => {
            // `\cdotC`, `\piG`: a common command run into the next letters (LaTeX would reject it;
            // the writer meant `\cdot C`).
            if let Some(p) = GLUED
                .iter()
                .find(|p| name.len() > p.len() && name.starts_with(**p))
            {
                toks.push(Tok::Cmd(p.to_string()));
                return letters(s, i + 1 + p.len(), toks);
            }
            toks.push(Tok::Cmd(name.to_string()));
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::verdict::Limits;

    fn l(s: &str) -> Vec<Tok> {
        lex(s, false, &mut Budget::new(Limits::default())).unwrap()
    }

    fn num(s: &str) -> Tok {
        Tok::Num(s.into())
    }

    #[test]
    fn numbers_and_separators() {
        assert_eq!(l("1,234"), [num("1234")]);
        assert_eq!(l("1,234,567.5"), [num("1234567.5")]);
        assert_eq!(l("1 000"), [num("1000")]);
        assert_eq!(l(&format!("10{THOUSANDS}000")), [num("10000")]);
        assert_eq!(l(&format!("11{THOUSANDS} 111{THOUSANDS} 100")), [num("11111100")]);
        assert_eq!(
            l("(4,100)"),
            [Tok::LParen, num("4"), Tok::Op(','), num("100"), Tok::RParen]
        );
        assert_eq!(l("6, -2"), [num("6"), Tok::Op(','), Tok::Op('-'), num("2")]);
        assert_eq!(l("32, 349"), [num("32"), Tok::Op(','), num("349")]);
        assert_eq!(l(".38"), [num("0.38")]);
        assert_eq!(l("4.5e33"), [num("4.5e33")]);
        assert_eq!(l("1e-5"), [num("1e-5")]);
        assert_eq!(l("90."), [num("90"), Tok::Op('.')]);
        assert_eq!(l("4 4/9"), [num("4"), num("4"), Tok::Op('/'), num("9")]);
        assert_eq!(
            lex("1,22", true, &mut Budget::new(Limits::default())).unwrap(),
            [num("1.22")]
        );
        assert_eq!(
            lex("0,111", true, &mut Budget::new(Limits::default())).unwrap(),
            [num("0.111")]
        );
        assert_eq!(
            lex("1000,99", true, &mut Budget::new(Limits::default())).unwrap(),
            [num("1000.99")]
        );
    }

    #[test]
    fn letters_and_commands() {
        assert_eq!(l("xy"), [Tok::Letter('x'), Tok::Letter('y')]);
        assert_eq!(l("sin x"), [Tok::Cmd("sin".into()), Tok::Letter('x')]);
        assert_eq!(l("miles"), [Tok::Word("miles".into())]);
        assert_eq!(l("cm"), [Tok::Word("cm".into())]);
        assert_eq!(
            l(r"\text{ cm}^2"),
            [Tok::Text("cm".into()), Tok::Op('^'), num("2")]
        );
        assert_eq!(l(r"\{1\}"), [Tok::LSet, num("1"), Tok::RSet]);
        assert_eq!(
            l(r"\begin{array}{cc}1\end{array}"),
            [Tok::Begin("array".into()), num("1"), Tok::End("array".into())]
        );
        assert_eq!(
            l("a<=b"),
            [Tok::Letter('a'), Tok::Cmd("le".into()), Tok::Letter('b')]
        );
    }
}
