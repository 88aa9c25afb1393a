//! Plain decimal numbers as they appear in word-problem answers: `18`, `-3`, `72.0`, `1,000`, `$18`,
//! `10{,}000`, `.5`, `25%`. Compared exactly through a canonical form (no floats, no tolerance), so
//! `72.0 == 72` and `1,000 == 1000` but `9999 != 10000`.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Pow;

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

/// A number as written in an answer: a decimal, or an exact fraction (`3/4`, `\frac{3}{4}`, `1 1/2`).
/// Two numbers are equal when their values are: `3/4 == 0.75`, `6/8 == 3/4`, `3/4 != 3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Number {
    Dec(Decimal),
    /// `num / den` with `den` a positive integer; `num` carries the sign and any whole part.
    Frac(BigRational),
}

impl Number {
    /// Parse a whole string as one number (surrounding whitespace allowed); `Ok(None)` if it is not one.
    pub fn parse(s: &str, style: Style, max_digits: usize) -> Result<Option<Self>, LimitHit> {
        let s = s.trim();
        match scan(s, 0, style) {
            Some(span) if span.start == 0 && span.end == s.len() => span.value(s, max_digits).map(Some),
            _ => Ok(None),
        }
    }

    fn rational(&self) -> BigRational {
        match self {
            Number::Frac(q) => q.clone(),
            Number::Dec(d) => {
                let digits: BigInt = format!("{}{}", d.int, d.frac).parse().unwrap_or_default();
                let q = BigRational::new(digits, BigInt::from(10).pow(d.frac.len() as u32));
                if d.negative {
                    -q
                } else {
                    q
                }
            }
        }
    }

    /// Exact equality of values.
    pub fn same_value(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Dec(a), Number::Dec(b)) => a == b,
            _ => self.rational() == other.rational(),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Dec(d) => d.fmt(f),
            Number::Frac(q) if q.is_integer() => q.numer().fmt(f),
            Number::Frac(q) => write!(f, "{}/{}", q.numer(), q.denom()),
        }
    }
}

/// How a comma followed by one or two digits is read (a comma before exactly three digits is always a
/// thousands separator, and one before four or more ends the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `true`: a decimal comma, `29,50` = 29.5 and `29,00` = 29. `false`: a separator to drop, as
    /// lm-evaluation-harness and verl do (`29,50` = 2950).
    pub decimal_comma: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style { decimal_comma: true }
    }
}

/// Where one number was found in a text. `start..end` covers the whole token (sign, `$`, `%`);
/// `digits_start..digits_end` only the digits, separators and decimal mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    negative: bool,
    digits_start: usize,
    digits_end: usize,
    /// Byte offset of the decimal mark (`.` or a decimal comma) in the digits.
    point: Option<usize>,
    /// The denominator's digits of a fraction; `digits_start..digits_end` is then its numerator.
    den: Option<(usize, usize)>,
    /// The whole part's digits of a mixed number (`1 1/2`).
    whole: Option<(usize, usize)>,
}

impl Span {
    /// The exact value of this token.
    pub fn value(&self, text: &str, max_digits: usize) -> Result<Number, LimitHit> {
        let digits =
            |a: usize, b: usize| -> String { text[a..b].chars().filter(char::is_ascii_digit).collect() };
        let (int, frac) = match self.point {
            Some(p) => (digits(self.digits_start, p), digits(p + 1, self.digits_end)),
            None => (digits(self.digits_start, self.digits_end), String::new()),
        };
        let num = Decimal::from_parts(self.negative, &int, &frac, max_digits)?;
        let Some((a, b)) = self.den else {
            return Ok(Number::Dec(num));
        };
        let whole_len = self.whole.map_or(0, |(x, y)| y - x);
        if int.len() + (b - a) + whole_len > max_digits {
            return Err(LimitHit);
        }
        let big = |s: &str| s.parse::<BigInt>().unwrap_or_default();
        let mut q = BigRational::new(big(&int), big(&text[a..b]));
        if let Some((x, y)) = self.whole {
            q += BigRational::from_integer(big(&text[x..y]));
        }
        Ok(Number::Frac(if self.negative { -q } else { q }))
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

/// Length of a thousands separator at `i` followed by exactly three digits: `,`, LaTeX `{,}`, or (when
/// the number so far is one group of at most three digits, `1 000 000`) a space, a thin space or `\,`.
fn group_separator(b: &[u8], i: usize, first_group: usize) -> Option<usize> {
    let sep = if b.get(i) == Some(&b',') {
        1
    } else if b[i..].starts_with(b"{,}") {
        3
    } else if first_group <= 3 {
        [
            &b" "[..],
            "\u{2009}".as_bytes(),
            "\u{202f}".as_bytes(),
            "\u{a0}".as_bytes(),
            b"\\,",
            b"\\ ",
            b"~",
        ]
        .iter()
        .find(|p| b[i..].starts_with(p))?
        .len()
    } else {
        return None;
    };
    let d = &b[i + sep..];
    let three = d.len() >= 3 && d[..3].iter().all(u8::is_ascii_digit);
    let fourth_digit = d.get(3).is_some_and(u8::is_ascii_digit);
    (three && !fourth_digit).then_some(sep)
}

fn digit_run(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// `/den` at `j` after a plain integer: the denominator's digits, unless zero or part of a date (`1/2/2020`).
/// A single space may surround the slash (`3 / 4`).
fn denominator(b: &[u8], j: usize) -> Option<(usize, usize)> {
    let j = if b.get(j) == Some(&b' ') && b.get(j + 1) == Some(&b'/') {
        j + 1
    } else {
        j
    };
    if b.get(j) != Some(&b'/') {
        return None;
    }
    let s = if b.get(j + 1) == Some(&b' ') { j + 2 } else { j + 1 };
    let e = digit_run(b, s);
    let date = matches!(b.get(e), Some(b'/' | b' ')) && b[e..].iter().find(|&&c| c != b' ') == Some(&b'/');
    let zero = b[s..e].iter().all(|&c| c == b'0');
    // `1/2.5` is not a fraction of integers; `1/4.` ends a sentence.
    let decimal = b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit);
    (e > s && !zero && !date && !decimal).then_some((s, e))
}

/// A byte range `start..end`.
type Range = (usize, usize);

/// `\frac{a}{b}` (also `\dfrac`, `\tfrac`) with integer `a`, `b` at `i`: (numerator, denominator, end).
fn latex_fraction(b: &[u8], i: usize) -> Option<(Range, Range, usize)> {
    let name = [&b"\\frac{"[..], b"\\dfrac{", b"\\tfrac{"]
        .into_iter()
        .find(|p| b[i..].starts_with(p))?;
    let ns = i + name.len();
    let ne = digit_run(b, ns);
    if ne == ns || !b[ne..].starts_with(b"}{") {
        return None;
    }
    let ds = ne + 2;
    let de = digit_run(b, ds);
    let zero = b[ds..de].iter().all(|&c| c == b'0');
    (de > ds && !zero && b.get(de) == Some(&b'}')).then_some(((ns, ne), (ds, de), de + 1))
}

/// The first number token starting at or after byte `from`.
pub fn scan(text: &str, from: usize, style: Style) -> Option<Span> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        let (mut digits_start, mut digits_end, mut point, mut den, mut whole, after) = if c == b'\\' {
            match latex_fraction(b, i) {
                Some((n, d, e)) => (n.0, n.1, None, Some(d), None, e),
                None => {
                    i += 1;
                    continue;
                }
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            (i, i, None, None, None, 0)
        } else {
            i += 1;
            continue;
        };
        let token_start = if den.is_some() { i } else { digits_start };
        if den.is_none() {
            // A digit run right after a letter is still a number ("x2" reads 2).
            let mut j = digit_run(b, digits_start);
            let first_group = j - digits_start;
            let mut grouped = false;
            if j > digits_start {
                while let Some(sep) = group_separator(b, j, first_group) {
                    j += sep + 3;
                    grouped = true;
                }
            }
            let plain_int = !grouped && j > digits_start;
            if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                point = Some(j);
                j = digit_run(b, j + 1);
            } else if b.get(j) == Some(&b',') && !b[digits_start..j].contains(&b',') {
                // One or two digits after a comma: a decimal comma, or a separator to drop.
                let e = digit_run(b, j + 1);
                let next_group = b.get(e) == Some(&b',') && b.get(e + 1).is_some_and(u8::is_ascii_digit);
                if (1..=2).contains(&(e - j - 1)) && !next_group {
                    if style.decimal_comma {
                        point = Some(j);
                    }
                    j = e;
                }
            }
            if plain_int && point.is_none() {
                if let Some(d) = denominator(b, j) {
                    den = Some(d);
                } else if b.get(j) == Some(&b' ') {
                    // `1 1/2`: a whole number and a proper fraction.
                    let ns = j + 1;
                    let ne = digit_run(b, ns);
                    if let Some(d) = (ne > ns).then(|| denominator(b, ne)).flatten() {
                        let num: BigInt = text[ns..ne].parse().unwrap_or_default();
                        let dv: BigInt = text[d.0..d.1].parse().unwrap_or_default();
                        if num < dv {
                            whole = Some((digits_start, j));
                            den = Some(d);
                            digits_start = ns;
                            j = ne;
                        }
                    }
                }
            }
            digits_end = j;
        }
        let end_digits = den.map_or(digits_end, |d| if after > 0 { after } else { d.1 });
        // Prefixes: '$' (or "\$") and a sign, in either order: "-$3", "$-3".
        let before = |k: usize| text[..k].chars().next_back();
        let dollar = |k: usize| match before(k) {
            Some('$') if before(k - 1) == Some('\\') => k - 2,
            Some('$') => k - 1,
            _ => k,
        };
        let first = whole.map_or(token_start, |w| w.0);
        let mut start = dollar(first);
        let mut negative = false;
        if let Some(c @ ('-' | MINUS)) = before(start) {
            let k = start - c.len_utf8();
            if sign_position(text, k) {
                negative = true;
                start = if start == first { dollar(k) } else { k };
            }
        }
        let mut end = end_digits;
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
            point,
            den,
            whole,
        });
    }
    None
}

/// Every number token in `text`, left to right.
pub fn spans(text: &str, style: Style) -> impl Iterator<Item = Span> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let s = scan(text, at, style)?;
        at = s.end.max(s.digits_end).max(s.den.map_or(0, |d| d.1));
        Some(s)
    })
}

/// The first number in `text`, if any.
pub fn first_number(text: &str, style: Style, max_digits: usize) -> Result<Option<Number>, LimitHit> {
    scan(text, 0, style)
        .map(|s| s.value(text, max_digits))
        .transpose()
}

/// The last number in `text`, if any. Linear in the text; only the last token is converted.
pub fn last_number(text: &str, style: Style, max_digits: usize) -> Result<Option<Number>, LimitHit> {
    spans(text, style)
        .last()
        .map(|s| s.value(text, max_digits))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_number_d(s: &str, max: usize) -> Result<Option<Number>, LimitHit> {
        last_number(s, Style::default(), max)
    }

    fn one(s: &str) -> Option<String> {
        Number::parse(s, Style::default(), 100)
            .unwrap()
            .map(|d| d.to_string())
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
        assert_eq!(one("1,00").as_deref(), Some("1"));
        assert_eq!(one("1 000 000").as_deref(), Some("1000000"));
        assert_eq!(one("3/4").as_deref(), Some("3/4"));
        assert_eq!(one("-\\frac{6}{8}").as_deref(), Some("-3/4"));
        assert_eq!(one("1 1/2").as_deref(), Some("3/2"));
        assert_eq!(one("abc"), None);
        assert_eq!(one(""), None);
    }

    #[test]
    fn binary_minus_is_not_a_sign() {
        let t = "5-3=2 and x-4";
        let v: Vec<String> = spans(t, Style::default())
            .map(|s| s.value(t, 100).unwrap().to_string())
            .collect();
        assert_eq!(v, ["5", "3", "2", "4"]);
        assert_eq!(
            last_number_d("it is -3.", 100).unwrap().unwrap().to_string(),
            "-3"
        );
        assert_eq!(
            last_number_d("costs (-3)", 100).unwrap().unwrap().to_string(),
            "-3"
        );
    }

    #[test]
    fn lists_and_sentences() {
        assert_eq!(last_number_d("1, 2, 3.", 100).unwrap().unwrap().to_string(), "3");
        assert_eq!(
            last_number_d("so 1,000 dollars.", 100)
                .unwrap()
                .unwrap()
                .to_string(),
            "1000"
        );
        assert_eq!(
            last_number_d("12,3456", 100).unwrap().unwrap().to_string(),
            "3456"
        );
        assert_eq!(first_number("no digits", Style::default(), 100).unwrap(), None);
    }

    #[test]
    fn digit_bound() {
        let big = "9".repeat(101);
        assert_eq!(Number::parse(&big, Style::default(), 100), Err(LimitHit));
        assert!(Number::parse(&big, Style::default(), 200).unwrap().is_some());
    }
}
