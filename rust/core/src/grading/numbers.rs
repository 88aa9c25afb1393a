//! Plain decimal numbers as they appear in word-problem answers: `18`, `-3`, `72.0`, `1,000`, `$18`,
//! `10{,}000`, `.5`, `25%`. Compared exactly through a canonical form (no floats, no tolerance), so
//! `72.0 == 72` and `1,000 == 1000` but `9999 != 10000`.

use super::verdict::LimitHit;

/// An exact finite decimal in canonical form: no leading zeros in `int`, no trailing zeros in `frac`,
/// and zero is never negative. Two numbers are equal iff their canonical forms are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub negative: bool,
    /// Integer digits, `"0"` for numbers below one.
    pub int: String,
    /// Fraction digits, empty for integers.
    pub frac: String,
}

impl Decimal {
    /// Build from digit strings (other characters already removed), enforcing `max_digits`.
    pub fn from_parts(negative: bool, int: &str, frac: &str, max_digits: usize) -> Result<Self, LimitHit> {
        if int.len() + frac.len() > max_digits {
            return Err(LimitHit);
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        Ok(Decimal {
            negative: negative && !zero,
            int: if int.is_empty() {
                "0".to_string()
            } else {
                int.to_string()
            },
            frac: frac.to_string(),
        })
    }

    /// Parse a whole string as one number (surrounding whitespace allowed); `Ok(None)` if it is not one.
    pub fn parse(s: &str, max_digits: usize) -> Result<Option<Self>, LimitHit> {
        let s = s.trim();
        match scan(s, 0) {
            Some(span) if span.start == 0 && span.end == s.len() => span.value(s, max_digits).map(Some),
            _ => Ok(None),
        }
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(&self.int)?;
        if !self.frac.is_empty() {
            write!(f, ".{}", self.frac)?;
        }
        Ok(())
    }
}

/// Where one number was found in a text. `start..end` covers the whole token (sign, `$`, `%`);
/// `digits_start..digits_end` only the digits, separators and decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    negative: bool,
    digits_start: usize,
    digits_end: usize,
}

impl Span {
    /// The exact value of this token.
    pub fn value(&self, text: &str, max_digits: usize) -> Result<Decimal, LimitHit> {
        let body = &text[self.digits_start..self.digits_end];
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let int: String = int.chars().filter(char::is_ascii_digit).collect();
        Decimal::from_parts(self.negative, &int, frac, max_digits)
    }
}

const MINUS: char = '\u{2212}';

/// True when a '-' at byte `i` is a sign rather than a binary minus: nothing number-like just before it.
fn sign_position(text: &str, i: usize) -> bool {
    match text[..i].chars().next_back() {
        None => true,
        Some(c) => !(c.is_alphanumeric() || c == ')' || c == ']' || c == '}' || c == '.' || c == '_'),
    }
}

/// Length of a thousands separator at `i` followed by exactly three digits: `,` or LaTeX `{,}`.
fn group_separator(b: &[u8], i: usize) -> Option<usize> {
    let sep = if b.get(i) == Some(&b',') {
        1
    } else if b[i..].starts_with(b"{,}") {
        3
    } else {
        return None;
    };
    let d = &b[i + sep..];
    let three = d.len() >= 3 && d[..3].iter().all(u8::is_ascii_digit);
    let fourth_digit = d.get(3).is_some_and(u8::is_ascii_digit);
    (three && !fourth_digit).then_some(sep)
}

/// The first number token starting at or after byte `from`.
pub fn scan(text: &str, from: usize) -> Option<Span> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        let starts_digits = c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts_digits {
            i += 1;
            continue;
        }
        // A digit run right after a letter is still a number ("x2" reads 2).
        let digits_start = i;
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits_start {
            while let Some(sep) = group_separator(b, j) {
                j += sep + 3;
            }
        }
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let digits_end = j;
        // Prefixes: '$' (or "\$") and a sign, in either order: "-$3", "$-3".
        let before = |k: usize| text[..k].chars().next_back();
        let dollar = |k: usize| match before(k) {
            Some('$') if before(k - 1) == Some('\\') => k - 2,
            Some('$') => k - 1,
            _ => k,
        };
        let mut start = dollar(digits_start);
        let mut negative = false;
        if let Some(c @ ('-' | MINUS)) = before(start) {
            let k = start - c.len_utf8();
            if sign_position(text, k) {
                negative = true;
                start = if start == digits_start { dollar(k) } else { k };
            }
        }
        let mut end = digits_end;
        if b.get(end) == Some(&b'%') {
            end += 1;
        } else if b[end..].starts_with(b"\\%") {
            end += 2;
        }
        return Some(Span {
            start,
            end,
            negative,
            digits_start,
            digits_end,
        });
    }
    None
}

/// Every number token in `text`, left to right.
pub fn spans(text: &str) -> impl Iterator<Item = Span> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let s = scan(text, at)?;
        at = s.digits_end.max(s.end);
        Some(s)
    })
}

/// The first number in `text`, if any.
pub fn first_number(text: &str, max_digits: usize) -> Result<Option<Decimal>, LimitHit> {
    scan(text, 0).map(|s| s.value(text, max_digits)).transpose()
}

/// The last number in `text`, if any. Linear in the text; only the last token is converted.
pub fn last_number(text: &str, max_digits: usize) -> Result<Option<Decimal>, LimitHit> {
    spans(text).last().map(|s| s.value(text, max_digits)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Option<String> {
        Decimal::parse(s, 100).unwrap().map(|d| d.to_string())
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(one("72.0").as_deref(), Some("72"));
        assert_eq!(one("072.50").as_deref(), Some("72.5"));
        assert_eq!(one("1,000").as_deref(), Some("1000"));
        assert_eq!(one("10{,}000").as_deref(), Some("10000"));
        assert_eq!(one("1,234,567.25").as_deref(), Some("1234567.25"));
        assert_eq!(one("$18").as_deref(), Some("18"));
        assert_eq!(one("\\$18").as_deref(), Some("18"));
        assert_eq!(one("-3").as_deref(), Some("-3"));
        assert_eq!(one("\u{2212}3").as_deref(), Some("-3"));
        assert_eq!(one("-$3").as_deref(), Some("-3"));
        assert_eq!(one("$-3").as_deref(), Some("-3"));
        assert_eq!(one("-0.0").as_deref(), Some("0"));
        assert_eq!(one(".5").as_deref(), Some("0.5"));
        assert_eq!(one("25%").as_deref(), Some("25"));
        assert_eq!(one(" 7 ").as_deref(), Some("7"));
        assert_eq!(one("7 apples"), None);
        assert_eq!(one("1,00"), None);
        assert_eq!(one("abc"), None);
        assert_eq!(one(""), None);
    }

    #[test]
    fn binary_minus_is_not_a_sign() {
        let t = "5-3=2 and x-4";
        let v: Vec<String> = spans(t).map(|s| s.value(t, 100).unwrap().to_string()).collect();
        assert_eq!(v, ["5", "3", "2", "4"]);
        assert_eq!(last_number("it is -3.", 100).unwrap().unwrap().to_string(), "-3");
        assert_eq!(last_number("costs (-3)", 100).unwrap().unwrap().to_string(), "-3");
    }

    #[test]
    fn lists_and_sentences() {
        assert_eq!(last_number("1, 2, 3.", 100).unwrap().unwrap().to_string(), "3");
        assert_eq!(
            last_number("so 1,000 dollars.", 100)
                .unwrap()
                .unwrap()
                .to_string(),
            "1000"
        );
        assert_eq!(last_number("12,3456", 100).unwrap().unwrap().to_string(), "3456");
        assert_eq!(first_number("no digits", 100).unwrap(), None);
    }

    #[test]
    fn digit_bound() {
        let big = "9".repeat(101);
        assert_eq!(Decimal::parse(&big, 100), Err(LimitHit));
        assert!(Decimal::parse(&big, 200).unwrap().is_some());
    }
}
