//! Stage 3: a recursive-descent parser from tokens to a [`Node`].
//!
//! Grammar, loosest binding first:
//! ```text
//! list   := item ((',' | ';' | "and" | "or") item)*         several answers
//! item   := union (relop union)*                            a = b < c, x \in S
//! union  := ratio (\cup ratio)*
//! ratio  := sum (':' sum)*
//! sum    := term (('+' | '-' | \pm | \mp) term)*
//! term   := ('-' | '+' | \pm) term | power (('*' | '/' | \cdot | \times | \div | juxtaposition) power)*
//! power  := postfix ('^' exponent)?                          right-associative
//! postfix:= primary ('!' | '%' | unit | "percent")*
//! ```
//! Recursion depth is counted in `term` and `primary` (every cycle of the grammar passes through one
//! of them) and bounded by `Limits::max_depth`, so `{{{{…}}}}` or `------x` cannot overflow the stack.
//! A syntax error is not a failure: the answer becomes [`Node::Text`] of its normalised spelling and is
//! compared as text.

use super::expr::{Const, Func, Node, RelOp};
use super::lex::{lex, Tok};
use super::number;
use super::MathOptions;
use crate::grading::verdict::{Budget, LimitHit};

enum PErr {
    Limit,
    Syntax,
}

impl From<LimitHit> for PErr {
    fn from(_: LimitHit) -> Self {
        PErr::Limit
    }
}

type PResult<T> = Result<T, PErr>;

/// Parse a normalised answer. Syntax errors give `Node::Text`; only bounds give `Err`.
pub fn parse(norm: &str, opts: &MathOptions, budget: &mut Budget) -> Result<Node, LimitHit> {
    let toks = lex(norm, opts.decimal_comma, budget)?;
    let max_depth = budget.limits.max_depth;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        max_depth,
        budget,
    };
    match p.answer() {
        Ok(n) => Ok(n),
        Err(PErr::Limit) => Err(LimitHit),
        Err(PErr::Syntax) => Ok(Node::Text(text_key(norm))),
    }
}

/// The spelling used to compare answers as text: lower case, no white space, no text/font commands,
/// no braces.
pub fn text_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = ["\\text", "\\mbox", "\\textbf", "\\textnormal", "\\textit"]
            .iter()
            .find_map(|p| {
                rest.strip_prefix(p)
                    .filter(|r| !r.starts_with(|c: char| c.is_ascii_alphabetic()))
            })
        {
            rest = r;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        rest = &rest[c.len_utf8()..];
        if c.is_whitespace() || c == '{' || c == '}' {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    let t = out.trim_end_matches('.');
    // A choice written `(C)` reads as `c`.
    let t = match t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) if inner.chars().count() == 1 => inner,
        _ => t,
    };
    t.to_string()
}

const GREEK: [&str; 40] = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "varrho",
    "sigma",
    "varsigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
    "hbar",
    "aleph",
];

/// Commands that are operators, relations or separators: they never start an implicit product.
const INFIX_CMDS: [&str; 40] = [
    "cdot",
    "times",
    "div",
    "ast",
    "pm",
    "mp",
    "le",
    "leq",
    "leqslant",
    "ge",
    "geq",
    "geqslant",
    "ne",
    "neq",
    "approx",
    "equiv",
    "sim",
    "simeq",
    "cong",
    "in",
    "notin",
    "cup",
    "cap",
    "setminus",
    "to",
    "rightarrow",
    "Rightarrow",
    "implies",
    "Longrightarrow",
    "iff",
    "Leftrightarrow",
    "lt",
    "gt",
    "subset",
    "subseteq",
    "rfloor",
    "rceil",
    "colon",
    "propto",
    "mid",
];

fn func_of(name: &str) -> Option<Func> {
    Some(match name {
        "sqrt" => Func::Sqrt,
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" | "tg" => Func::Tan,
        "sec" => Func::Sec,
        "csc" | "cosec" => Func::Csc,
        "cot" | "ctg" => Func::Cot,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" | "arctg" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" => Func::Ln,
        "log" | "lg" => Func::Log,
        "exp" => Func::Exp,
        "abs" => Func::Abs,
        "min" => Func::Min,
        "max" => Func::Max,
        _ => return None,
    })
}

fn inverse(f: Func) -> Option<Func> {
    Some(match f {
        Func::Sin => Func::Asin,
        Func::Cos => Func::Acos,
        Func::Tan => Func::Atan,
        _ => return None,
    })
}

struct Parser<'b> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    max_depth: usize,
    budget: &'b mut Budget,
}

fn is_connector_word(w: &str) -> bool {
    let w = w.trim().trim_matches(',').trim();
    w.is_empty()
        || ["and", "or", "and/or", "as well as", "also"]
            .iter()
            .any(|c| w.eq_ignore_ascii_case(c))
        || w.eq_ignore_ascii_case("or also")
}

fn relop(t: &Tok) -> Option<RelOp> {
    Some(match t {
        Tok::Op('=') => RelOp::Eq,
        Tok::Op('<') => RelOp::Lt,
        Tok::Op('>') => RelOp::Gt,
        Tok::Cmd(c) => match c.as_str() {
            "le" | "leq" | "leqslant" => RelOp::Le,
            "ge" | "geq" | "geqslant" => RelOp::Ge,
            "ne" | "neq" => RelOp::Ne,
            "approx" | "simeq" | "sim" | "cong" | "equiv" => RelOp::Approx,
            "in" => RelOp::In,
            _ => return None,
        },
        _ => return None,
    })
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Num(s) | Tok::Word(s) => s.clone(),
        Tok::Letter(c) | Tok::Op(c) => c.to_string(),
        Tok::Cmd(c) => format!("\\{c}"),
        Tok::Text(s) => s.clone(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::LBrack => "[".into(),
        Tok::RBrack => "]".into(),
        Tok::LBrace => "{".into(),
        Tok::RBrace => "}".into(),
        Tok::LSet => "\\{".into(),
        Tok::RSet => "\\}".into(),
        Tok::RowSep => "\\\\".into(),
        Tok::Begin(e) => format!("\\begin{{{e}}}"),
        Tok::End(e) => format!("\\end{{{e}}}"),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k)
    }
    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        self.budget.tick()?;
        if self.depth > self.max_depth {
            return Err(PErr::Limit);
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn at_stop(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) => {
                matches!(
                    t,
                    Tok::RParen
                        | Tok::RBrack
                        | Tok::RBrace
                        | Tok::RSet
                        | Tok::End(_)
                        | Tok::RowSep
                        | Tok::Op('&')
                ) || matches!(t, Tok::Cmd(c) if c == "rfloor" || c == "rceil")
            }
        }
    }

    fn answer(&mut self) -> PResult<Node> {
        let n = self.list(true)?;
        // Trailing punctuation is fine; anything else means we did not understand the answer.
        while let Some(t) = self.peek() {
            match t {
                Tok::Op('.') | Tok::Op(',') | Tok::Op(';') | Tok::Op('!') | Tok::Op('?') => self.pos += 1,
                Tok::Text(t) if is_connector_word(t) => self.pos += 1,
                _ => return Err(PErr::Syntax),
            }
        }
        Ok(n)
    }

    /// Eat a list separator; `Some(true)` for `;`.
    fn separator(&mut self) -> Option<bool> {
        let mut found = None;
        loop {
            match self.peek() {
                Some(Tok::Op(',')) => found = Some(found.unwrap_or(false)),
                Some(Tok::Op(';')) => found = Some(true),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                    found = Some(found.unwrap_or(false))
                }
                Some(Tok::Text(t)) if is_connector_word(t) => found = Some(found.unwrap_or(false)),
                _ => return found,
            }
            self.pos += 1;
        }
    }

    /// Items separated by commas etc. At the top level, `;` separates groups of comma lists
    /// (`p=5,q=2;p=7,q=2`); inside brackets it is a plain separator (`(0;-2;0)`).
    fn list(&mut self, top: bool) -> PResult<Node> {
        let mut groups: Vec<Node> = Vec::new();
        let mut items: Vec<Node> = Vec::new();
        let mut semis = false;
        loop {
            if self.at_stop() {
                break;
            }
            items.push(self.item()?);
            match self.separator() {
                None => break,
                Some(true) if top => {
                    semis = true;
                    groups.push(Node::joined(std::mem::take(&mut items)));
                }
                Some(_) => {}
            }
        }
        if semis {
            if !items.is_empty() {
                groups.push(Node::joined(items));
            }
            return Ok(if groups.len() == 1 {
                groups.pop().unwrap_or(Node::List(vec![]))
            } else {
                Node::List(groups)
            });
        }
        match items.len() {
            0 => Err(PErr::Syntax),
            1 => Ok(items.pop().unwrap_or(Node::List(vec![]))),
            _ => Ok(Node::List(items)),
        }
    }

    /// A relation chain; `A \Rightarrow B` keeps B.
    fn item(&mut self) -> PResult<Node> {
        loop {
            let first = self.union()?;
            let mut members = vec![first];
            let mut ops = Vec::new();
            while let Some(op) = self.peek().and_then(relop) {
                self.pos += 1;
                // `\not=`-like spellings are rare; `=` followed by nothing is a syntax error.
                members.push(self.union()?);
                ops.push(op);
            }
            if matches!(self.peek(), Some(Tok::Cmd(c)) if matches!(c.as_str(), "Rightarrow" | "implies" | "Longrightarrow" | "rightarrow" | "to"))
            {
                self.pos += 1;
                continue;
            }
            return Ok(if ops.is_empty() {
                members.pop().unwrap_or(Node::List(vec![]))
            } else {
                Node::Rel(members, ops)
            });
        }
    }

    fn union(&mut self) -> PResult<Node> {
        let first = self.ratio()?;
        let mut parts = vec![first];
        while let Some(Tok::Cmd(c)) = self.peek() {
            match c.as_str() {
                "cup" => {
                    self.pos += 1;
                    parts.push(self.ratio()?);
                }
                "cap" | "setminus" => {
                    let name = c.clone();
                    self.pos += 1;
                    let rhs = self.ratio()?;
                    let lhs = Node::Union(std::mem::take(&mut parts));
                    parts.push(Node::Apply(name, vec![lhs, rhs]));
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::List(vec![]))
        } else {
            Node::Union(parts)
        })
    }

    fn ratio(&mut self) -> PResult<Node> {
        let first = self.sum()?;
        let mut parts = vec![first];
        while self.peek() == Some(&Tok::Op(':')) {
            self.pos += 1;
            parts.push(self.sum()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::List(vec![]))
        } else {
            Node::Ratio(parts)
        })
    }

    fn sum(&mut self) -> PResult<Node> {
        let mut terms = vec![self.term()?];
        loop {
            match self.peek() {
                Some(Tok::Op('+')) => {
                    self.pos += 1;
                    terms.push(self.term()?);
                }
                Some(Tok::Op('-')) => {
                    self.pos += 1;
                    let t = self.term()?;
                    terms.push(Node::Neg(Box::new(t)));
                }
                Some(Tok::Cmd(c)) if c == "pm" || c == "mp" => {
                    let minus = c == "mp";
                    self.pos += 1;
                    let t = self.term()?;
                    let t = if minus { Node::Neg(Box::new(t)) } else { t };
                    let left = add(std::mem::take(&mut terms));
                    terms.push(Node::PlusMinus(Box::new(left), Box::new(t)));
                }
                _ => break,
            }
        }
        Ok(add(terms))
    }

    fn term(&mut self) -> PResult<Node> {
        self.enter()?;
        let r = self.term_inner();
        self.leave();
        r
    }

    fn term_inner(&mut self) -> PResult<Node> {
        match self.peek() {
            Some(Tok::Op('-')) => {
                self.pos += 1;
                return Ok(Node::Neg(Box::new(self.term()?)));
            }
            Some(Tok::Op('+')) => {
                self.pos += 1;
                return self.term();
            }
            Some(Tok::Cmd(c)) if c == "pm" || c == "mp" => {
                self.pos += 1;
                let t = self.term()?;
                return Ok(Node::PlusMinus(Box::new(Node::int(0)), Box::new(t)));
            }
            _ => {}
        }
        let mut factors = vec![self.power()?];
        loop {
            match self.peek() {
                Some(Tok::Op('*')) => {
                    self.pos += 1;
                    factors.push(self.signed_power()?);
                }
                Some(Tok::Cmd(c)) if c == "cdot" || c == "times" || c == "ast" => {
                    self.pos += 1;
                    factors.push(self.signed_power()?);
                }
                Some(Tok::Op('/')) => {
                    self.pos += 1;
                    let d = self.signed_power()?;
                    let n = mul(std::mem::take(&mut factors));
                    factors.push(Node::Div(Box::new(n), Box::new(d)));
                }
                Some(Tok::Cmd(c)) if c == "div" => {
                    self.pos += 1;
                    let d = self.signed_power()?;
                    let n = mul(std::mem::take(&mut factors));
                    factors.push(Node::Div(Box::new(n), Box::new(d)));
                }
                _ if self.starts_primary() => {
                    if factors.len() == 1 {
                        if let Some(frac) = self.mixed_fraction(&factors[0])? {
                            let whole = factors.pop().unwrap_or(Node::int(0));
                            factors.push(Node::Add(vec![whole, frac]));
                            continue;
                        }
                    }
                    factors.push(self.power()?);
                }
                _ => break,
            }
        }
        Ok(mul(factors))
    }

    fn signed_power(&mut self) -> PResult<Node> {
        if self.eat(&Tok::Op('-')) {
            self.enter()?;
            let r = self.signed_power();
            self.leave();
            return Ok(Node::Neg(Box::new(r?)));
        }
        self.power()
    }

    /// `4\frac{4}{9}` and `4 4/9` are mixed numbers (4 + 4/9), not products: after a lone integer,
    /// a proper fraction of integer literals.
    fn mixed_fraction(&mut self, whole: &Node) -> PResult<Option<Node>> {
        let Node::Num(w, false) = whole else {
            return Ok(None);
        };
        if !w.is_integer() || w < &number::int(0) {
            return Ok(None);
        }
        let int_tok = |t: Option<&Tok>| match t {
            Some(Tok::Num(s)) if s.bytes().all(|b| b.is_ascii_digit()) => Some(s.clone()),
            _ => None,
        };
        let (a, b, len) = match self.peek() {
            Some(Tok::Cmd(c)) if c == "frac" => {
                match (
                    self.peek_at(1),
                    self.peek_at(2),
                    self.peek_at(3),
                    self.peek_at(4),
                    self.peek_at(5),
                    self.peek_at(6),
                ) {
                    (Some(Tok::LBrace), a, Some(Tok::RBrace), Some(Tok::LBrace), b, Some(Tok::RBrace)) => {
                        match (int_tok(a), int_tok(b)) {
                            (Some(a), Some(b)) => (a, b, 7),
                            _ => return Ok(None),
                        }
                    }
                    (Some(Tok::Num(ab)), ..) if ab.len() == 2 && ab.bytes().all(|b| b.is_ascii_digit()) => {
                        (ab[..1].to_string(), ab[1..].to_string(), 2)
                    }
                    _ => return Ok(None),
                }
            }
            Some(Tok::Num(_)) => match (int_tok(self.peek()), self.peek_at(1), int_tok(self.peek_at(2))) {
                // `4 4/9` ends the term; in `4 4/9 x` the juxtaposition is a product.
                (Some(a), Some(Tok::Op('/')), Some(b))
                    if !matches!(
                        self.peek_at(3),
                        Some(Tok::Num(_) | Tok::Letter(_) | Tok::LParen | Tok::LBrace)
                    ) =>
                {
                    (a, b, 3)
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let (Ok(an), Ok(bn)) = (a.parse::<u64>(), b.parse::<u64>()) else {
            return Ok(None);
        };
        if bn == 0 || an >= bn || an == 0 {
            return Ok(None);
        }
        self.pos += len;
        Ok(Some(Node::Div(
            Box::new(Node::Num(number::int(an as i64), false)),
            Box::new(Node::Num(number::int(bn as i64), false)),
        )))
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Some(Tok::Num(_) | Tok::Letter(_) | Tok::LParen | Tok::LBrack | Tok::LBrace | Tok::Begin(_)) => {
                true
            }
            Some(Tok::Cmd(c)) => !INFIX_CMDS.contains(&c.as_str()) && c != "pm" && c != "mp",
            _ => false,
        }
    }

    fn power(&mut self) -> PResult<Node> {
        let base = self.primary()?;
        let base = self.postfix(base)?;
        if self.eat(&Tok::Op('^')) {
            let e = self.exponent()?;
            let p = Node::Pow(Box::new(base), Box::new(e));
            return self.postfix(p);
        }
        Ok(base)
    }

    /// The exponent after `^`: an optional sign, a primary, and a further `^` (right-associative).
    fn exponent(&mut self) -> PResult<Node> {
        self.enter()?;
        let r = (|| {
            if self.eat(&Tok::Op('-')) {
                return Ok(Node::Neg(Box::new(self.exponent()?)));
            }
            if self.eat(&Tok::Op('+')) {
                return self.exponent();
            }
            // LaTeX reads `2^10` as 2^1·0, but people mean 2^{10}: the lexer keeps the number whole.
            let base = self.primary()?;
            if self.eat(&Tok::Op('^')) {
                let e = self.exponent()?;
                return Ok(Node::Pow(Box::new(base), Box::new(e)));
            }
            Ok(base)
        })();
        self.leave();
        r
    }

    /// Factorial, percent, primes, and units or scale words after a value.
    fn postfix(&mut self, mut n: Node) -> PResult<Node> {
        loop {
            // A braced group of words after a value (`\frac13 \textbf{meters}` normalises to
            // `\frac13 {meters}`) is a unit, like a bare word.
            if self.peek() == Some(&Tok::LBrace) {
                let mut k = 1;
                let mut first: Option<String> = None;
                while let Some(Tok::Word(w) | Tok::Text(w)) = self.peek_at(k) {
                    first.get_or_insert_with(|| w.to_ascii_lowercase());
                    k += 1;
                }
                match first {
                    Some(w) if self.peek_at(k) == Some(&Tok::RBrace) && !is_connector_word(&w) => {
                        self.pos += k + 1;
                        n = self.apply_word(n, w.trim());
                        continue;
                    }
                    _ => {}
                }
            }
            match self.peek() {
                Some(Tok::Op('!')) if self.peek_at(1) != Some(&Tok::Op('=')) => {
                    self.pos += 1;
                    n = Node::Func(Func::Factorial, vec![n]);
                }
                Some(Tok::Op('%')) => {
                    self.pos += 1;
                    n = Node::Percent(Box::new(n));
                }
                Some(Tok::Op('\'')) => {
                    self.pos += 1;
                    n = match n {
                        Node::Sym(s) => Node::Sym(format!("{s}'")),
                        Node::Apply(s, a) => Node::Apply(format!("{s}'"), a),
                        other => Node::Apply("prime".into(), vec![other]),
                    };
                }
                Some(Tok::Word(w)) => {
                    let lw = w.to_ascii_lowercase();
                    if lw == "and" || lw == "or" {
                        return Ok(n);
                    }
                    self.pos += 1;
                    n = self.apply_word(n, &lw);
                }
                Some(Tok::Text(t)) => {
                    if is_connector_word(t) {
                        return Ok(n);
                    }
                    let lw = t.to_ascii_lowercase();
                    self.pos += 1;
                    n = self.apply_word(n, lw.trim());
                }
                _ => return Ok(n),
            }
        }
    }

    /// A word after a value: percent, a scale word, or a unit (dropped, with its `^2`).
    fn apply_word(&mut self, n: Node, w: &str) -> Node {
        match w {
            "percent" | "pct" | "percentage" | "%" => return Node::Percent(Box::new(n)),
            "thousand" => return scale(n, 3),
            "million" | "millions" => return scale(n, 6),
            "billion" | "billions" => return scale(n, 9),
            "trillion" => return scale(n, 12),
            _ => {}
        }
        // Unit: drop it, and a power on it (`\text{ cm}^2`).
        if self.peek() == Some(&Tok::Op('^')) && matches!(self.peek_at(1), Some(Tok::Num(_))) {
            self.pos += 2;
        } else if self.peek() == Some(&Tok::Op('^'))
            && self.peek_at(1) == Some(&Tok::LBrace)
            && matches!(self.peek_at(2), Some(Tok::Num(_)))
            && self.peek_at(3) == Some(&Tok::RBrace)
        {
            self.pos += 4;
        }
        n
    }

    fn primary(&mut self) -> PResult<Node> {
        self.enter()?;
        let r = self.primary_inner();
        self.leave();
        r
    }

    fn primary_inner(&mut self) -> PResult<Node> {
        let Some(t) = self.bump() else {
            return Err(PErr::Syntax);
        };
        match t {
            Tok::Num(s) => {
                if self.eat(&Tok::Op('_')) {
                    // `4343_6`: a numeral in another base, compared by spelling.
                    let base = self.raw_group()?;
                    return Ok(Node::Sym(format!("{s}_{base}")));
                }
                let decimal = s.contains(['.', 'e', 'E']);
                match number::parse_decimal(&s, self.budget)? {
                    Some(q) => Ok(Node::Num(q, decimal)),
                    None => Err(PErr::Syntax),
                }
            }
            Tok::Letter(c) => self.symbol(c.to_string(), true),
            Tok::Cmd(name) => self.command(name),
            Tok::LParen => self.bracketed('('),
            Tok::LBrack => self.bracketed('['),
            Tok::LBrace => {
                if self.eat(&Tok::RBrace) {
                    // `{}` before `^\circ` or as an empty group: nothing.
                    return self.primary();
                }
                let inner = self.list(false)?;
                if !self.eat(&Tok::RBrace) && self.peek().is_some() {
                    return Err(PErr::Syntax);
                }
                // `{1,2,3}` written without `\{` is still a set.
                Ok(match inner {
                    Node::List(items) => Node::Set(items),
                    other => other,
                })
            }
            Tok::LSet => self.set(),
            Tok::Op('|') => {
                let inner = self.sum()?;
                if !self.eat(&Tok::Op('|')) {
                    return Err(PErr::Syntax);
                }
                Ok(Node::Func(Func::Abs, vec![inner]))
            }
            Tok::Begin(env) => self.environment(env),
            Tok::Text(t) => {
                let trimmed = t.trim();
                // `\text{(113)}` is the number 113, as AMC/AIME solutions write it.
                let bare = trimmed
                    .strip_prefix('(')
                    .and_then(|x| x.strip_suffix(')'))
                    .unwrap_or(trimmed)
                    .trim();
                if !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) {
                    if let Some(q) = number::parse_decimal(bare, self.budget)? {
                        return Ok(Node::Num(q, false));
                    }
                }
                if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                    if let Some(q) = number::parse_decimal(trimmed, self.budget)? {
                        return Ok(Node::Num(q, false));
                    }
                }
                let mut text = trimmed.to_string();
                // A word answer may continue: `\text{Quadrant} I`.
                self.absorb_words(&mut text);
                Ok(Node::Text(text_key(&text)))
            }
            Tok::Word(w) => {
                let mut text = w;
                self.absorb_words(&mut text);
                Ok(Node::Text(text_key(&text)))
            }
            _ => Err(PErr::Syntax),
        }
    }

    /// Append following words and letters to a text answer.
    fn absorb_words(&mut self, text: &mut String) {
        while let Some(t) = self.peek() {
            match t {
                Tok::Word(w) if !w.eq_ignore_ascii_case("and") && !w.eq_ignore_ascii_case("or") => {
                    text.push(' ');
                    text.push_str(w);
                }
                Tok::Letter(c) => {
                    text.push(' ');
                    text.push(*c);
                }
                Tok::Text(w) if !is_connector_word(w) => {
                    text.push(' ');
                    text.push_str(w);
                }
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// A symbol with an optional subscript; `e` and `i` are the constants; `f(x)` is an application.
    fn symbol(&mut self, mut name: String, letter: bool) -> PResult<Node> {
        let mut subscripted = false;
        if self.eat(&Tok::Op('_')) {
            let sub = self.raw_group()?;
            name.push('_');
            name.push_str(&sub);
            subscripted = true;
        }
        if letter && !subscripted {
            match name.as_str() {
                "e" => return Ok(Node::Const(Const::E)),
                "i" => return Ok(Node::Const(Const::I)),
                _ => {}
            }
        }
        let first = name.chars().next().unwrap_or(' ');
        if letter && matches!(first, 'f' | 'g' | 'h') && self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let args = self.list(false)?;
            if !self.eat(&Tok::RParen) {
                return Err(PErr::Syntax);
            }
            let args = match args {
                Node::List(v) => v,
                one => vec![one],
            };
            return Ok(Node::Apply(name, args));
        }
        Ok(Node::Sym(name))
    }

    /// The raw text of one token or braced group (subscripts, decorations): compared by spelling.
    fn raw_group(&mut self) -> PResult<String> {
        let mut out = String::new();
        match self.bump() {
            Some(Tok::LBrace) => {
                let mut depth = 1;
                while let Some(t) = self.bump() {
                    self.budget.tick()?;
                    match t {
                        Tok::LBrace => depth += 1,
                        Tok::RBrace => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(out);
                            }
                        }
                        _ => {}
                    }
                    out.push_str(&tok_text(&t));
                }
                Ok(out)
            }
            Some(t) => Ok(tok_text(&t)),
            None => Err(PErr::Syntax),
        }
    }

    /// One argument of `\frac`, `\sqrt`, `\binom`: a braced group, or a single token (`\frac12`).
    fn arg(&mut self) -> PResult<Node> {
        match self.peek().cloned() {
            Some(Tok::LBrace) => {
                self.pos += 1;
                let inner = self.list(false)?;
                if !self.eat(&Tok::RBrace) && self.peek().is_some() {
                    return Err(PErr::Syntax);
                }
                Ok(inner)
            }
            Some(Tok::Num(s)) if s.len() > 1 && s.as_bytes()[0].is_ascii_digit() => {
                // `\frac12`: one digit per argument.
                let (first, rest) = s.split_at(1);
                self.toks[self.pos] = Tok::Num(rest.to_string());
                let q = number::parse_decimal(first, self.budget)?.ok_or(PErr::Syntax)?;
                Ok(Node::Num(q, false))
            }
            Some(_) => self.primary(),
            None => Err(PErr::Syntax),
        }
    }

    fn command(&mut self, name: String) -> PResult<Node> {
        match name.as_str() {
            "frac" | "over" => {
                let a = self.arg()?;
                let b = self.arg()?;
                Ok(Node::Div(Box::new(a), Box::new(b)))
            }
            "sqrt" => {
                if self.eat(&Tok::LBrack) {
                    let k = self.list(false)?;
                    if !self.eat(&Tok::RBrack) {
                        return Err(PErr::Syntax);
                    }
                    let x = self.arg()?;
                    return Ok(Node::Func(Func::Root, vec![k, x]));
                }
                if self.peek() == Some(&Tok::LParen) {
                    return self.func_app(Func::Sqrt);
                }
                let x = self.arg()?;
                Ok(Node::Func(Func::Sqrt, vec![x]))
            }
            "binom" | "choose" => {
                let n = self.arg()?;
                let k = self.arg()?;
                Ok(Node::Func(Func::Binom, vec![n, k]))
            }
            "pi" => Ok(Node::Const(Const::Pi)),
            "infty" | "infin" => Ok(Node::Const(Const::Inf)),
            "imath" | "jmath" => Ok(Node::Const(Const::I)),
            "emptyset" => Ok(Node::Set(Vec::new())),
            "lfloor" | "lceil" => {
                let inner = self.sum()?;
                let close = if name == "lfloor" { "rfloor" } else { "rceil" };
                if !matches!(self.bump(), Some(Tok::Cmd(c)) if c == close) {
                    return Err(PErr::Syntax);
                }
                Ok(Node::Func(
                    if name == "lfloor" { Func::Floor } else { Func::Ceil },
                    vec![inner],
                ))
            }
            "dots" | "ldots" | "cdots" => Ok(Node::Sym("...".into())),
            "sum" | "prod" | "int" | "lim" | "oint" | "iint" => {
                // Opaque: the operator with its limits is a name; the body its argument.
                let mut label = name.clone();
                while let Some(Tok::Op(c @ ('_' | '^'))) = self.peek().cloned() {
                    self.pos += 1;
                    label.push(c);
                    label.push_str(&self.raw_group()?);
                }
                let body = self.term()?;
                Ok(Node::Apply(label, vec![body]))
            }
            "overline" | "vec" | "hat" | "bar" | "widehat" | "overrightarrow" | "overleftrightarrow"
            | "tilde" | "widetilde" | "dot" | "ddot" | "mathbb" | "mathcal" | "mathfrak" | "mathscr"
            | "underline" | "overarc" | "arc" | "angle" | "triangle" | "measuredangle" => {
                let inner = if matches!(name.as_str(), "angle" | "triangle" | "measuredangle") {
                    self.raw_letters()
                } else {
                    self.raw_group()?
                };
                self.symbol(format!("{name}{{{inner}}}"), false)
            }
            n if GREEK.contains(&n) => self.symbol(name, false),
            n => {
                if let Some(f) = func_of(n) {
                    return self.func_app(f);
                }
                if INFIX_CMDS.contains(&n) {
                    return Err(PErr::Syntax);
                }
                // Unknown command: an opaque symbol (`\zzz`, `\odot`).
                self.symbol(name, false)
            }
        }
    }

    /// Letters after `\angle` (`\angle ABC`).
    fn raw_letters(&mut self) -> String {
        let mut s = String::new();
        while let Some(Tok::Letter(c)) = self.peek() {
            s.push(*c);
            self.pos += 1;
        }
        s
    }

    /// A function application: `\sin x`, `\sin^2 x`, `\sin^{-1} x`, `\log_2 8`, `\ln(x+1)`, `max(a, b)`.
    fn func_app(&mut self, f: Func) -> PResult<Node> {
        let mut f = f;
        let mut power = None;
        if self.eat(&Tok::Op('^')) {
            let e = self.exponent()?;
            let is_minus_one =
                matches!(&e, Node::Neg(x) if matches!(**x, Node::Num(ref q, _) if *q == number::int(1)));
            match (is_minus_one, inverse(f)) {
                (true, Some(inv)) => f = inv,
                _ => power = Some(e),
            }
        }
        let mut base = None;
        if f == Func::Log && self.eat(&Tok::Op('_')) {
            base = Some(self.arg()?);
        }
        let args: Vec<Node> = match self.peek() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.list(false)?;
                if !self.eat(&Tok::RParen) {
                    return Err(PErr::Syntax);
                }
                match inner {
                    Node::List(v) if matches!(f, Func::Min | Func::Max) => v,
                    other => vec![other],
                }
            }
            Some(Tok::LBrace) => vec![self.arg()?],
            _ => vec![self.func_arg()?],
        };
        let mut node = match (f, base) {
            (Func::Log, Some(b)) => Node::Func(
                Func::Log,
                vec![b, args.into_iter().next().unwrap_or(Node::int(0))],
            ),
            (f, _) => Node::Func(f, args),
        };
        if let Some(p) = power {
            node = Node::Pow(Box::new(node), Box::new(p));
        }
        Ok(node)
    }

    /// The argument of a function written without parentheses: a product of powers, stopping before
    /// another function (`2 \sin b \cos a`).
    fn func_arg(&mut self) -> PResult<Node> {
        let neg = self.eat(&Tok::Op('-'));
        let mut factors = vec![self.power()?];
        while self.starts_primary() {
            if let Some(Tok::Cmd(c)) = self.peek() {
                if func_of(c).is_some() {
                    break;
                }
            }
            factors.push(self.power()?);
        }
        let m = mul(factors);
        Ok(if neg { Node::Neg(Box::new(m)) } else { m })
    }

    /// After `(` or `[`: a grouping (one item closed by `)`), or a tuple/interval.
    fn bracketed(&mut self, open: char) -> PResult<Node> {
        let inner = self.list(false)?;
        let close = match self.bump() {
            Some(Tok::RParen) => ')',
            Some(Tok::RBrack) => ']',
            None => return Ok(inner), // unclosed at the end: read as a grouping
            Some(_) => return Err(PErr::Syntax),
        };
        match inner {
            Node::List(items) => Ok(Node::Bracket(open, close, items)),
            one if open == '(' && close == ')' || open == '[' && close == ']' => Ok(one),
            _ => Err(PErr::Syntax),
        }
    }

    /// After `\{`: a set, or set-builder notation `\{x \mid cond\}` (read as its condition).
    fn set(&mut self) -> PResult<Node> {
        if self.eat(&Tok::RSet) {
            return Ok(Node::Set(Vec::new()));
        }
        let save = self.pos;
        // Set-builder: a symbol then `|` or `:`.
        if let Some(Tok::Letter(_)) = self.peek() {
            if matches!(self.peek_at(1), Some(Tok::Op('|')) | Some(Tok::Op(':'))) {
                let var = self.primary()?;
                self.pos += 1;
                let cond = self.list(false)?;
                if !self.eat(&Tok::RSet) && self.peek().is_some() {
                    return Err(PErr::Syntax);
                }
                return Ok(match cond {
                    rel @ Node::Rel(..) => rel,
                    other => Node::Apply("setbuilder".into(), vec![var, other]),
                });
            }
        }
        self.pos = save;
        let inner = self.list(false)?;
        if !self.eat(&Tok::RSet) && self.peek().is_some() {
            return Err(PErr::Syntax);
        }
        Ok(match inner {
            Node::List(items) => Node::Set(items),
            one => Node::Set(vec![one]),
        })
    }

    /// `\begin{pmatrix} … \end{pmatrix}` and friends; other environments (align, cases) are lists of
    /// their rows with alignment marks ignored.
    fn environment(&mut self, env: String) -> PResult<Node> {
        let matrix = matches!(
            env.as_str(),
            "pmatrix" | "bmatrix" | "Bmatrix" | "vmatrix" | "Vmatrix" | "matrix" | "smallmatrix" | "array"
        );
        if !matrix {
            // Drop `&` up to the matching end so rows read as plain items (one pass, not one removal
            // per mark).
            let mut depth = 0;
            let mut end = self.pos;
            while end < self.toks.len() {
                match &self.toks[end] {
                    Tok::Begin(_) => depth += 1,
                    Tok::End(_) if depth == 0 => break,
                    Tok::End(_) => depth -= 1,
                    _ => {}
                }
                end += 1;
            }
            let mut depth = 0;
            let mut k = self.pos;
            self.toks.retain(|t| {
                let keep = k < self.pos || k >= end || depth > 0 || *t != Tok::Op('&');
                match t {
                    Tok::Begin(_) if k >= self.pos && k < end => depth += 1,
                    Tok::End(_) if k >= self.pos && k < end => depth -= 1,
                    _ => {}
                }
                k += 1;
                keep
            });
        }
        let mut rows: Vec<Vec<Node>> = Vec::new();
        let mut row: Vec<Node> = Vec::new();
        loop {
            self.budget.tick()?;
            match self.peek() {
                None => break,
                Some(Tok::End(_)) => {
                    self.pos += 1;
                    break;
                }
                Some(Tok::RowSep) => {
                    self.pos += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Some(Tok::Op('&')) => self.pos += 1,
                _ => {
                    let cell = if matrix { self.item()? } else { self.list(false)? };
                    row.push(cell);
                    if !self.at_stop() {
                        return Err(PErr::Syntax);
                    }
                }
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
        if matrix {
            let m = Node::Matrix(rows);
            return Ok(if env == "vmatrix" {
                Node::Apply("det".into(), vec![m])
            } else {
                m
            });
        }
        Ok(Node::joined(rows.into_iter().flatten().collect()))
    }
}

fn add(mut terms: Vec<Node>) -> Node {
    if terms.len() == 1 {
        terms.pop().unwrap_or(Node::int(0))
    } else {
        Node::Add(terms)
    }
}

fn mul(mut factors: Vec<Node>) -> Node {
    if factors.len() == 1 {
        factors.pop().unwrap_or(Node::int(1))
    } else {
        Node::Mul(factors)
    }
}

fn scale(n: Node, pow10: i64) -> Node {
    Node::Mul(vec![
        n,
        Node::Pow(Box::new(Node::int(10)), Box::new(Node::int(pow10))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::math::normalize::normalize;
    use crate::grading::verdict::Limits;

    fn p(s: &str) -> Node {
        let mut b = Budget::new(Limits::default());
        let n = normalize(s, &mut b).unwrap();
        parse(&n, &MathOptions::default(), &mut b).unwrap()
    }

    fn num(n: i64) -> Node {
        Node::int(n)
    }

    #[test]
    fn numbers_fractions_mixed() {
        assert_eq!(p("42"), num(42));
        assert!(matches!(p(r"\frac12"), Node::Div(..)));
        assert!(matches!(p(r"4\frac{4}{9}"), Node::Add(_)));
        assert!(matches!(p("4 4/9"), Node::Add(_)));
        assert!(matches!(p(r"2\frac{x}{3}"), Node::Mul(_)));
        assert!(matches!(p(r"\sqrt[3]{x}"), Node::Func(Func::Root, _)));
        assert!(matches!(p(r"\sqrt3"), Node::Func(Func::Sqrt, _)));
    }

    #[test]
    fn structures() {
        assert!(matches!(p("(1, 2)"), Node::Bracket('(', ')', _)));
        assert!(matches!(p("[0, 1)"), Node::Bracket('[', ')', _)));
        assert!(matches!(p(r"\{1, 2\}"), Node::Set(_)));
        assert!(matches!(p("6, -2"), Node::List(_)));
        assert!(matches!(p(r"(-\infty, 2) \cup (3, \infty)"), Node::Union(_)));
        assert!(
            matches!(p(r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"), Node::Matrix(ref r) if r.len() == 2)
        );
        assert!(matches!(p("x = 4"), Node::Rel(_, _)));
        assert!(matches!(p(r"1 \pm \sqrt{19}"), Node::PlusMinus(..)));
        assert!(matches!(p(r"\emptyset"), Node::Set(ref v) if v.is_empty()));
        assert!(matches!(p("p=5,q=2;p=7,q=2"), Node::List(ref v) if v.len() == 2));
        assert!(matches!(p("1:2"), Node::Ratio(_)));
    }

    #[test]
    fn units_and_words() {
        assert_eq!(p(r"8\text{ meals}"), num(8));
        assert_eq!(p(r"15\mbox{ cm}^2"), num(15));
        assert_eq!(p("125 miles"), num(125));
        assert!(matches!(p("28 percent"), Node::Percent(_)));
        assert!(matches!(p("1 million"), Node::Mul(_)));
        assert_eq!(p(r"\text{Evelyn}"), Node::Text("evelyn".into()));
        assert_eq!(p(r"\text{(C)}"), Node::Text("c".into()));
        assert!(matches!(p("6 and 8"), Node::List(_)));
        assert_eq!(
            p(r"\text{a necessary but not a sufficient condition}"),
            Node::Text("anecessarybutnotasufficientcondition".into())
        );
    }

    #[test]
    fn functions() {
        assert!(matches!(p(r"\sin^2 x"), Node::Pow(..)));
        assert!(matches!(p(r"\sin^{-1} x"), Node::Func(Func::Asin, _)));
        assert!(matches!(p(r"\log_2 8"), Node::Func(Func::Log, ref a) if a.len() == 2));
        assert!(matches!(p("f(x)"), Node::Apply(..)));
        assert!(matches!(p(r"2 \sin b \cos a"), Node::Mul(ref v) if v.len() == 3));
    }

    #[test]
    fn syntax_errors_become_text() {
        assert!(matches!(p("x = "), Node::Text(_)));
        assert!(matches!(p(")("), Node::Text(_)));
    }

    #[test]
    fn deep_nesting_is_a_limit() {
        let mut b = Budget::new(Limits::default());
        let s = format!("{}1{}", "{".repeat(10_000), "}".repeat(10_000));
        assert!(parse(&s, &MathOptions::default(), &mut b).is_err());
        let s = format!("{}x", "-".repeat(10_000));
        assert!(parse(&s, &MathOptions::default(), &mut b).is_err());
    }
}
