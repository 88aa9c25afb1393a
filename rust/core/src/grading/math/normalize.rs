//! Stage 2: rewrite the many spellings of one LaTeX answer into one, as a single linear pass.
//!
//! What it does and why:
//! * drops math delimiters (`$`, `\(`, `\]`) and `\boxed`/`\fbox` wrappers (their braces stay as a group);
//! * drops sizing and spacing (`\left`, `\right`, `\big`, `\!`, `\,`, `\quad`, `\displaystyle`, `~`) and
//!   empty `\phantom{…}`-like commands that change nothing mathematically;
//! * maps spelling variants to one command (`\dfrac`/`\tfrac`/`\cfrac` → `\frac`, `\leq` → `\le`,
//!   `\varnothing` → `\emptyset`, unicode `−×÷π√≤≥≠∞∪±°` → LaTeX);
//! * marks explicit thousands separators (`{,}` and `,\!`) with [`THOUSANDS`] so the lexer can join
//!   `10{,}000` without guessing;
//! * removes degree marks (`^\circ`, `^{\circ}`, `°`, `\degree`): `90^\circ` is compared as 90;
//! * turns `\%` into `%`, drops `\$`, and collapses white space;
//! * strips trailing sentence punctuation (`90.`, `2^{10}.`).

use crate::grading::verdict::{Budget, LimitHit};

/// Marks a thousands separator the writer made explicit.
pub const THOUSANDS: char = '\u{E000}';

/// Largest answer text parsed; longer answers give `Limit` (they are never real answers).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

pub fn normalize(s: &str, budget: &mut Budget) -> Result<String, LimitHit> {
    if s.len() > MAX_ANSWER_BYTES {
        return Err(LimitHit);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        budget.tick()?;
        let c = b[i];
        if c == b'\\' {
            i = command(s, i, &mut out);
            continue;
        }
        if c == b'$' {
            i += 1;
            continue;
        }
        if c == b'{' {
            if let Some(len) = thousands_group(&s[i..]) {
                // `14{,}916`, also spaced `14 {, }916`.
                if out.ends_with(' ') && out[..out.len() - 1].ends_with(|c: char| c.is_ascii_digit()) {
                    out.pop();
                }
                out.push(THOUSANDS);
                i += len;
                continue;
            }
        }
        if c == b'^' {
            if let Some(skip) = degree_after(s, i + 1) {
                i = skip;
                continue;
            }
        }
        if c == b'n' && s[i..].starts_with("np.") && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            i += 3; // numpy spellings in Minerva answers: np.arcsin(10/13)
            continue;
        }
        if c.is_ascii_whitespace() || c == b'~' {
            push_space(&mut out);
            i += 1;
            continue;
        }
        if (c == b'x' || c == b'X') && times_between_numbers(s, &out, i) {
            // `7 x 8 = 56`: a plain x between two numbers is a times sign, not a variable.
            out.push_str("\\times ");
            i += 1;
            continue;
        }
        if c < 0x80 {
            out.push(c as char);
            i += 1;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        i += ch.len_utf8();
        match ch {
            '−' | '–' | '—' => out.push('-'),
            '×' | '✕' => out.push_str("\\times "),
            '·' | '⋅' => out.push_str("\\cdot "),
            '÷' => out.push('/'),
            'π' => out.push_str("\\pi "),
            '√' => out.push_str("\\sqrt"),
            '∞' => out.push_str("\\infty "),
            '≤' | '⩽' => out.push_str("\\le "),
            '≥' | '⩾' => out.push_str("\\ge "),
            '≠' => out.push_str("\\ne "),
            '≈' => out.push_str("\\approx "),
            '∪' => out.push_str("\\cup "),
            '∩' => out.push_str("\\cap "),
            '±' => out.push_str("\\pm "),
            '∈' => out.push_str("\\in "),
            '∅' => out.push_str("\\emptyset "),
            '°' | '∘' => {}
            '²' => out.push_str("^2"),
            '³' => out.push_str("^3"),
            '½' => out.push_str("\\frac{1}{2}"),
            '¼' => out.push_str("\\frac{1}{4}"),
            '¾' => out.push_str("\\frac{3}{4}"),
            '€' | '£' | '¥' | '₹' => {}
            '\u{a0}' | '\u{2009}' | '\u{202f}' | '\u{2002}' | '\u{2003}' | THOUSANDS => push_space(&mut out),
            '，' => out.push(','),
            '：' => out.push(':'),
            '（' => out.push('('),
            '）' => out.push(')'),
            other => out.push(other),
        }
    }
    let trimmed = trim_answer(&out);
    Ok(if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    })
}

/// Whether the `x` (or `X`) at `i` stands alone between two numbers (`7 x 8`, `2x3`, `4 X 5`).
fn times_between_numbers(s: &str, out: &str, i: usize) -> bool {
    let b = s.as_bytes();
    let alone = (i == 0 || !b[i - 1].is_ascii_alphabetic() && b[i - 1] != b'\\')
        && b.get(i + 1).is_none_or(|c| !c.is_ascii_alphabetic());
    alone
        && out.trim_end().ends_with(|c: char| c.is_ascii_digit())
        && s[i + 1..].trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// Length of a `{,}` group (inner spaces allowed) at the start of `t`.
fn thousands_group(t: &str) -> Option<usize> {
    let inner = t.strip_prefix('{')?;
    let after_comma = inner.trim_start_matches(' ').strip_prefix(',')?;
    let rest = after_comma.trim_start_matches(' ').strip_prefix('}')?;
    Some(t.len() - rest.len())
}

fn push_space(out: &mut String) {
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
}

/// Strip white space and sentence punctuation around an answer: `90.` → `90`, `x=3;` → `x=3`.
fn trim_answer(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let before = t.len();
        t = t.trim_end_matches(['.', ',', ';', ':', ' ']);
        t = t.trim_start_matches([',', ';', ':', ' ']);
        if t.ends_with("\\") && !t.ends_with("\\\\") {
            t = &t[..t.len() - 1];
        }
        if t.len() == before {
            return t;
        }
    }
}

/// If a degree mark follows a `^` at `i` (`\circ`, `{\circ}`, `{}^\circ` handled by the caller), the
/// index after it.
fn degree_after(s: &str, i: usize) -> Option<usize> {
    let t = s[i..].trim_start();
    let skipped = s.len() - i - t.len();
    for pat in [
        "\\circ",
        "{\\circ}",
        "{ \\circ }",
        "{\\circ }",
        "{ \\circ}",
        "\\degree",
        "{\\degree}",
        "°",
    ] {
        if let Some(rest) = t.strip_prefix(pat) {
            if pat == "\\circ" && rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return None;
            }
            return Some(i + skipped + pat.len());
        }
    }
    None
}

/// Handle the command starting at `i` (a backslash); returns the index after what was consumed.
fn command(s: &str, i: usize, out: &mut String) -> usize {
    let b = s.as_bytes();
    let mut j = i + 1;
    while j < b.len() && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    if j == i + 1 {
        // Control symbol.
        let Some(&c) = b.get(i + 1) else {
            return i + 1;
        };
        // `\\frac`, `\\left(`: backslashes doubled by an extra round of string escaping. A real line
        // break is followed by white space, a digit or a single letter, not by a command name.
        if c == b'\\'
            && b.get(i + 2).is_some_and(u8::is_ascii_alphabetic)
            && b.get(i + 3).is_some_and(u8::is_ascii_alphabetic)
        {
            return command(s, i + 1, out);
        }
        match c {
            b'!' => {
                // `1,\!000`: an explicit thousands separator.
                if out.ends_with(',') && next_is_digit(s, i + 2) {
                    out.pop();
                    out.push(THOUSANDS);
                }
            }
            b',' | b';' | b':' | b' ' | b'>' => push_space(out),
            b'(' | b')' | b'[' | b']' | b'$' => {}
            b'%' => out.push('%'),
            _ => {
                out.push('\\');
                if c < 0x80 {
                    out.push(c as char);
                } else {
                    return i + 1;
                }
            }
        }
        return i + 2;
    }
    let name = &s[i + 1..j];
    match name {
        "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "biggl" | "biggr" | "Biggl" | "Biggr"
        | "big" | "Big" | "bigg" | "Bigg" | "middle" => {
            // `\left.` and `\right.` are invisible delimiters.
            let rest = &s[j..];
            let t = rest.trim_start();
            if t.starts_with('.') {
                return j + (rest.len() - t.len()) + 1;
            }
            j
        }
        "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "nolimits" | "boxed" | "fbox"
        | "mathstrut" | "strut" | "degree" | "textdegree" | "noindent" | "newline" | "nonumber" | "notag"
        | "allowbreak" | "mkern" => j,
        "quad" | "qquad" | "enspace" | "thinspace" => {
            push_space(out);
            j
        }
        "phantom" | "hphantom" | "vphantom" | "hspace" | "vspace" | "label" | "tag" | "color" => {
            skip_group(s, j)
        }
        "circ" => j, // a stray degree mark
        "dfrac" | "tfrac" | "cfrac" => {
            out.push_str("\\frac");
            j
        }
        "dbinom" | "tbinom" => {
            out.push_str("\\binom");
            j
        }
        "varnothing" => {
            out.push_str("\\emptyset");
            j
        }
        "operatorname" | "mathrm" | "textrm" | "rm" | "mathbf" | "mathit" | "mathsf" | "boldsymbol"
        | "bm" | "bf" | "it" | "mathnormal" | "textbf" | "textit" | "emph" | "textsf" | "texttt" => {
            // A font change: keep the content. `\operatorname{sech}` and `\mathrm{e}` read as the bare
            // word.
            j
        }
        "lt" => {
            out.push('<');
            j
        }
        "gt" => {
            out.push('>');
            j
        }
        _ => {
            out.push_str(&s[i..j]);
            j
        }
    }
}

fn next_is_digit(s: &str, i: usize) -> bool {
    s[i..]
        .trim_start()
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_digit)
}

/// Index after an optional white space and one braced group at `j` (or `j` if none).
fn skip_group(s: &str, j: usize) -> usize {
    let t = s[j..].trim_start();
    let start = s.len() - t.len();
    if t.starts_with('{') {
        let (close, closed) = super::extract::match_brace(s.as_bytes(), start);
        if closed {
            return close + 1;
        }
        return s.len();
    }
    j
}

/// Whether a reference without math delimiters is a worked solution (prose) rather than an answer:
/// eight or more words of two or more letters outside commands.
pub fn is_prose(s: &str) -> bool {
    let b = s.as_bytes();
    let mut words = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 1;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            continue;
        }
        if b[i].is_ascii_alphabetic() {
            let st = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            if i - st >= 2 {
                words += 1;
                if words >= 8 {
                    return true;
                }
            }
            continue;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::verdict::Limits;

    fn n(s: &str) -> String {
        normalize(s, &mut Budget::new(Limits::default())).unwrap()
    }

    #[test]
    fn spelling_variants() {
        assert_eq!(n(r"\dfrac{1}{2}"), r"\frac{1}{2}");
        assert_eq!(n(r"\left( \frac{1}{3} \right)"), r"( \frac{1}{3} )");
        assert_eq!(n(r"\left\{ 1 \right."), r"\{ 1");
        assert_eq!(n(r"$\boxed{28}$"), "{28}");
        assert_eq!(n(r"90^\circ"), "90");
        assert_eq!(n(r"90^{\circ}."), "90");
        assert_eq!(n("90°"), "90");
        assert_eq!(n(r"28\%"), "28%");
        assert_eq!(n(r"\$18"), "18");
        assert_eq!(n(r"\varnothing"), r"\emptyset");
        assert_eq!(n("−3 × 4"), r"-3 \times 4");
        assert_eq!(n(r"2^{10}."), "2^{10}");
        assert_eq!(n(r"x\,=\!3"), "x =3");
        assert_eq!(n(r"\phantom{2}4"), "4");
        assert_eq!(n("np.arcsin(10/13)"), "arcsin(10/13)");
        assert_eq!(n(r"\mathrm{e}"), "{e}");
    }

    #[test]
    fn explicit_thousands_are_marked() {
        assert_eq!(n("10{,}000"), format!("10{THOUSANDS}000"));
        assert_eq!(n(r"10,\!080"), format!("10{THOUSANDS}080"));
        assert_eq!(n(r"11,\! 111"), format!("11{THOUSANDS} 111"));
        assert_eq!(n("14 {, }916"), format!("14{THOUSANDS}916"));
        assert_eq!(n(r"\\left( 3, \\frac{\\pi}{2} \\right)"), r"( 3, \frac{\pi}{2} )");
    }

    #[test]
    fn prose() {
        assert!(is_prose(
            "Let the percentage of people who are children be x, so the answer is 5"
        ));
        assert!(!is_prose(r"\text{a necessary condition}"));
        assert!(!is_prose(r"\frac{\sqrt{3}}{2}"));
    }

    #[test]
    fn long_answers_are_a_limit() {
        let long = "1".repeat(MAX_ANSWER_BYTES + 1);
        assert!(normalize(&long, &mut Budget::new(Limits::default())).is_err());
    }
}
