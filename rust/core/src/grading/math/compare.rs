//! Stage 4: is the response's answer equivalent to the reference's?
//!
//! * Numbers: exact rational equality (`0.5 == \frac12`, `\sqrt{9/4} == 1.5`). A decimal compared with a
//!   value that has no finite decimal expansion is equal only under `float_rounding` (both rounded to
//!   that many places), never by default.
//! * Irrational constants and expressions with variables: evaluation at [`SAMPLES`] seeded points
//!   (complex arithmetic), equal when every point agrees within `rel_tol` relative (1e-12 absolute near
//!   zero).
//! * Several answers (lists, `±`, several boxes): equal as sets, duplicates ignored; a single reference
//!   against two different answers is a hedge and is not equal.
//! * Sets unordered; tuples, intervals (with their open/closed ends), matrices and ratios ordered.
//! * Relations: an assignment (`x = 4`, `f(x) = 4`, `(p, q) = (3, 2)`) stands for its value; equations
//!   are equal when lhs − rhs agree up to a nonzero factor (`2x+4y-3=0` vs `y = -x/2 + 3/4`), inequalities
//!   up to a positive factor (`-x > -1` vs `x < 1`). A reference written as inequalities also matches
//!   the interval it describes.

use std::collections::BTreeSet;

use num_traits::Zero;

use super::expr::{self, Const, Env, Node, RelOp, C};
use super::number::{self, Q};
use super::relation::{as_set, diff, ineq, value_of};
use super::MathOptions;
use crate::grading::verdict::{Budget, LimitHit};

/// Sample points for expressions with variables.
pub const SAMPLES: u32 = 6;

/// Absolute tolerance near zero for evaluated (non-exact) values.
const ABS_TOL: f64 = 1e-12;

/// Most alternatives one answer may expand to (`±` signs, list items).
const MAX_ALTERNATIVES: usize = 512;

type R<T> = Result<T, LimitHit>;

pub fn equivalent(gold: &Node, pred: &Node, opts: &MathOptions, budget: &mut Budget) -> R<bool> {
    let mut rename = Vec::new();
    if !opts.strict_variables {
        let (mut gs, mut ps) = (BTreeSet::new(), BTreeSet::new());
        gold.symbols(&mut gs);
        pred.symbols(&mut ps);
        if gs != ps && gs.len() == ps.len() {
            let g_only: Vec<_> = gs.difference(&ps).cloned().collect();
            let p_only: Vec<_> = ps.difference(&gs).cloned().collect();
            rename = p_only.into_iter().zip(g_only).collect();
        }
    }
    let max_depth = budget.limits.max_depth * 4;
    let mut cx = Cx {
        opts,
        budget,
        rename,
        depth: 0,
        max_depth,
    };
    cx.eq(gold, pred)
}

struct Cx<'a> {
    opts: &'a MathOptions,
    budget: &'a mut Budget,
    rename: Vec<(String, String)>,
    depth: usize,
    max_depth: usize,
}

fn is_multi(n: &Node) -> bool {
    matches!(n, Node::List(_)) || contains_pm(n)
}

fn contains_pm(n: &Node) -> bool {
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        match x {
            Node::PlusMinus(..) => return true,
            // ± inside a set or tuple is expanded there, not at the top.
            Node::Set(_) | Node::Bracket(..) | Node::Matrix(_) | Node::List(_) => {}
            _ => stack.extend(x.children()),
        }
    }
    false
}

/// Replace the first `±` (pre-order) by `+` or `-`.
fn replace_first_pm(n: &Node, minus: bool, done: &mut bool) -> Node {
    if *done {
        return n.clone();
    }
    let rec = |v: &Vec<Node>, done: &mut bool| {
        v.iter()
            .map(|c| replace_first_pm(c, minus, done))
            .collect::<Vec<_>>()
    };
    match n {
        Node::PlusMinus(a, b) => {
            *done = true;
            let b = if minus {
                Node::Neg(b.clone())
            } else {
                (**b).clone()
            };
            if matches!(**a, Node::Num(ref q, _) if q.is_zero()) {
                b
            } else {
                Node::Add(vec![(**a).clone(), b])
            }
        }
        Node::Add(v) => Node::Add(rec(v, done)),
        Node::Mul(v) => Node::Mul(rec(v, done)),
        Node::Func(f, v) => Node::Func(*f, rec(v, done)),
        Node::Apply(s, v) => Node::Apply(s.clone(), rec(v, done)),
        Node::Rel(v, ops) => Node::Rel(rec(v, done), ops.clone()),
        Node::Ratio(v) => Node::Ratio(rec(v, done)),
        Node::Union(v) => Node::Union(rec(v, done)),
        Node::Neg(a) => Node::Neg(Box::new(replace_first_pm(a, minus, done))),
        Node::Percent(a) => Node::Percent(Box::new(replace_first_pm(a, minus, done))),
        Node::Div(a, b) => {
            let a2 = replace_first_pm(a, minus, done);
            let b2 = replace_first_pm(b, minus, done);
            Node::Div(Box::new(a2), Box::new(b2))
        }
        Node::Pow(a, b) => {
            let a2 = replace_first_pm(a, minus, done);
            let b2 = replace_first_pm(b, minus, done);
            Node::Pow(Box::new(a2), Box::new(b2))
        }
        other => other.clone(),
    }
}

fn is_setlike(n: &Node) -> bool {
    matches!(n, Node::Bracket(..) | Node::Union(_) | Node::Set(_))
}

/// Spelling of a word-like answer: text, a symbol, or a product of letters (`odd` parses as o·d·d).
fn as_word(n: &Node) -> Option<String> {
    match n {
        Node::Text(s) => Some(s.clone()),
        Node::Sym(s) => Some(s.to_lowercase()),
        Node::Const(Const::E) => Some("e".into()),
        Node::Const(Const::I) => Some("i".into()),
        Node::Const(Const::Pi) => Some("\\pi".into()),
        Node::Num(q, false) if q.is_integer() => Some(q.to_integer().to_string()),
        Node::Mul(v) => v
            .iter()
            .map(as_word)
            .collect::<Option<Vec<_>>>()
            .map(|w| w.concat()),
        _ => None,
    }
}

fn strip_percent(n: &Node) -> (&Node, bool) {
    match n {
        Node::Percent(x) => (x, true),
        other => (other, false),
    }
}

impl Cx<'_> {
    fn eq(&mut self, g: &Node, p: &Node) -> R<bool> {
        self.budget.tick()?;
        if g == p {
            return Ok(true);
        }
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(LimitHit);
        }
        let assignments_vs_tuple = match (g, p) {
            (Node::List(items), Node::Bracket(..)) | (Node::Bracket(..), Node::List(items)) => {
                items.iter().all(|i| value_of(i).is_some())
            }
            _ => false,
        };
        let r = if !assignments_vs_tuple && (is_multi(g) || is_multi(p)) {
            self.eq_multi(g, p)
        } else {
            self.eq_single(g, p)
        };
        self.depth -= 1;
        r
    }

    /// The alternatives an answer stands for: list items and `±` expansions.
    fn values(&mut self, n: &Node, out: &mut Vec<Node>) -> R<()> {
        match n {
            Node::List(items) => {
                for it in items {
                    self.values(it, out)?;
                }
            }
            Node::Set(items) => {
                for it in items {
                    self.values(it, out)?;
                }
            }
            x if contains_pm(x) => {
                let mut done = false;
                let plus = replace_first_pm(x, false, &mut done);
                let mut done = false;
                let minus = replace_first_pm(x, true, &mut done);
                self.values(&plus, out)?;
                self.values(&minus, out)?;
            }
            x => out.push(x.clone()),
        }
        self.budget.tick()?;
        if out.len() > MAX_ALTERNATIVES {
            return Err(LimitHit);
        }
        Ok(())
    }

    fn dedup(&mut self, v: Vec<Node>) -> R<Vec<Node>> {
        let mut out: Vec<Node> = Vec::with_capacity(v.len());
        for x in v {
            let mut dup = false;
            for y in &out {
                if self.eq_single_or_multi(y, &x)? {
                    dup = true;
                    break;
                }
            }
            if !dup {
                out.push(x);
            }
        }
        Ok(out)
    }

    fn eq_single_or_multi(&mut self, a: &Node, b: &Node) -> R<bool> {
        if matches!(a, Node::List(_)) || matches!(b, Node::List(_)) {
            return self.eq(a, b);
        }
        self.eq_single(a, b)
    }

    /// Several answers on either side: equal as sets.
    fn eq_multi(&mut self, g: &Node, p: &Node) -> R<bool> {
        let (mut gv, mut pv) = (Vec::new(), Vec::new());
        // Nested lists (`p=5,q=2; p=7,q=2`) stay whole items.
        match g {
            Node::List(items) => {
                for it in items {
                    if matches!(it, Node::List(_)) {
                        gv.push(it.clone())
                    } else {
                        self.values(it, &mut gv)?
                    }
                }
            }
            _ => self.values(g, &mut gv)?,
        }
        match p {
            Node::List(items) => {
                for it in items {
                    if matches!(it, Node::List(_)) {
                        pv.push(it.clone())
                    } else {
                        self.values(it, &mut pv)?
                    }
                }
            }
            _ => self.values(p, &mut pv)?,
        }
        if gv.len() == 1 && pv.len() == 1 {
            return self.eq_single_or_multi(&gv[0], &pv[0]);
        }
        let gv = self.dedup(gv)?;
        let pv = self.dedup(pv)?;
        if gv.len() != pv.len() {
            return Ok(false);
        }
        for x in &gv {
            let mut found = false;
            for y in &pv {
                if self.eq_single_or_multi(x, y)? {
                    found = true;
                    break;
                }
            }
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn eq_all(&mut self, a: &[Node], b: &[Node]) -> R<bool> {
        if a.len() != b.len() {
            return Ok(false);
        }
        for (x, y) in a.iter().zip(b) {
            if !self.eq(x, y)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn eq_unordered(&mut self, a: &[Node], b: &[Node]) -> R<bool> {
        self.eq_multi(&Node::List(a.to_vec()), &Node::List(b.to_vec()))
    }

    fn eq_single(&mut self, g: &Node, p: &Node) -> R<bool> {
        self.budget.tick()?;
        if g == p {
            return Ok(true);
        }
        match (g, p) {
            (Node::Rel(..), _) | (_, Node::Rel(..)) => return self.eq_rel(g, p),
            (Node::Text(_), _) | (_, Node::Text(_)) => {
                return Ok(match (as_word(g), as_word(p)) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                })
            }
            (Node::Set(a), Node::Set(b)) => return self.eq_unordered(a, b),
            (Node::Set(a), Node::Bracket('(', ')', b)) | (Node::Bracket('(', ')', b), Node::Set(a)) => {
                // {1, 3} reads as (1, 3) in sorted order, not as (3, 1).
                let sorted = self.sorted(a)?;
                return self.eq_all(&sorted, b);
            }
            (Node::Set(_), _) | (_, Node::Set(_)) => return self.eq_multi(g, p),
            (Node::Bracket(o1, c1, a), Node::Bracket(o2, c2, b)) => {
                return Ok(o1 == o2 && c1 == c2 && self.eq_all(a, b)?);
            }
            (Node::Union(a), Node::Union(b)) => return self.eq_unordered(a, b),
            (Node::Union(a), x) | (x, Node::Union(a)) if a.len() == 1 => return self.eq(&a[0], x),
            (Node::Ratio(a), Node::Ratio(b)) => return self.eq_all(a, b),
            (Node::Ratio(a), x) | (x, Node::Ratio(a)) if a.len() == 2 && x.is_scalar() => {
                let q = Node::Div(Box::new(a[0].clone()), Box::new(a[1].clone()));
                return self.eq_scalar(&q, x);
            }
            (Node::List(items), Node::Bracket(_, _, b)) | (Node::Bracket(_, _, b), Node::List(items)) => {
                // `p=5, q=2` against `(5, 2)`: the assigned values in order.
                let vals: Option<Vec<Node>> = items.iter().map(|i| value_of(i).cloned()).collect();
                if let Some(vals) = vals {
                    return self.eq_all(&vals, b);
                }
                return self.eq_multi(g, p);
            }
            (Node::List(_), _) | (_, Node::List(_)) => return self.eq_multi(g, p),
            (Node::Matrix(_), _) | (_, Node::Matrix(_)) => return self.eq_matrix(g, p),
            _ => {}
        }
        if g.is_scalar() && p.is_scalar() {
            return self.eq_scalar(g, p);
        }
        Ok(false)
    }

    /// Set members in increasing order when they are all numbers; as written otherwise.
    fn sorted(&mut self, a: &[Node]) -> R<Vec<Node>> {
        let mut keyed = Vec::with_capacity(a.len());
        for x in a {
            if !x.is_scalar() || x.has_symbols() {
                return Ok(a.to_vec());
            }
            let v = expr::eval(x, &Env { k: 0, rename: &[] }, self.budget)?;
            keyed.push((v.re, x.clone()));
        }
        keyed.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
        Ok(keyed.into_iter().map(|(_, x)| x).collect())
    }

    fn eq_rel(&mut self, g: &Node, p: &Node) -> R<bool> {
        match (g, p) {
            (Node::Rel(gm, gops), Node::Rel(pm, pops)) => {
                // Two assignments to the same name: compare the values.
                match (value_of(g), value_of(p)) {
                    (Some(gv), Some(pv)) if self.same_name(&gm[0], &pm[0]) => return self.eq(gv, pv),
                    // `x = \{x \mid -2 \le x < 1\}` against `-2 \le x < 1`: the assigned set.
                    (None, Some(pv)) if matches!(pv, Node::Rel(..)) || is_setlike(pv) => {
                        return self.eq(g, pv)
                    }
                    (Some(gv), None) if matches!(gv, Node::Rel(..)) || is_setlike(gv) => {
                        return self.eq(gv, p)
                    }
                    _ => {}
                }
                let g_eq = gops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx));
                let p_eq = pops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx));
                if g_eq && p_eq {
                    let (gl, gr) = (&gm[0], gm.last().unwrap_or(&gm[0]));
                    let (pl, pr) = (&pm[0], pm.last().unwrap_or(&pm[0]));
                    return self.proportional(&diff(gl, gr), &diff(pl, pr), false);
                }
                if gops.len() == 1 && pops.len() == 1 {
                    if let (Some((gd, gs)), Some((pd, ps))) =
                        (ineq(&gm[0], &gm[1], gops[0]), ineq(&pm[0], &pm[1], pops[0]))
                    {
                        return Ok(gs == ps && self.proportional(&gd, &pd, true)?);
                    }
                    if gops[0] == RelOp::Ne && pops[0] == RelOp::Ne {
                        return self.proportional(&diff(&gm[0], &gm[1]), &diff(&pm[0], &pm[1]), false);
                    }
                }
                // A response's inequalities count as a set only with `set_relation`; `x \in S` always.
                let p_set_ok = self.opts.set_relation || pops.as_slice() == [RelOp::In];
                match (as_set(g), as_set(p)) {
                    (Some(a), Some(b)) if p_set_ok => self.eq(&a, &b),
                    _ => Ok(false),
                }
            }
            (Node::Rel(..), other) => {
                if let Some(v) = value_of(g) {
                    return self.eq(v, other);
                }
                if is_setlike(other) {
                    if let Some(s) = as_set(g) {
                        return self.eq(&s, other);
                    }
                }
                Ok(false)
            }
            (other, Node::Rel(..)) => {
                if let Some(v) = value_of(p) {
                    return self.eq(other, v);
                }
                if is_setlike(other) && self.opts.set_relation {
                    if let Some(s) = as_set(p) {
                        return self.eq(other, &s);
                    }
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    fn same_name(&mut self, a: &Node, b: &Node) -> bool {
        if a == b {
            return true;
        }
        if let (Node::Sym(x), Node::Sym(y)) = (a, b) {
            return self.rename.iter().any(|(from, to)| from == y && to == x);
        }
        false
    }

    /// Whether `b = c·a` for one constant c ≠ 0 at every sample point (c > 0 when `positive`).
    fn proportional(&mut self, a: &Node, b: &Node, positive: bool) -> R<bool> {
        let mut ratio: Option<C> = None;
        let mut zeros = 0;
        for k in 0..SAMPLES {
            let env = Env {
                k,
                rename: &self.rename,
            };
            let x = expr::eval(a, &env, self.budget)?;
            let y = expr::eval(b, &env, self.budget)?;
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            let (sx, sy) = (scale(a, &env, self.budget)?, scale(b, &env, self.budget)?);
            let x_zero = x.abs() <= 1e-9 * sx.max(1.0);
            let y_zero = y.abs() <= 1e-9 * sy.max(1.0);
            match (x_zero, y_zero) {
                (true, true) => {
                    zeros += 1;
                    continue;
                }
                (true, false) | (false, true) => return Ok(false),
                _ => {}
            }
            let r = C {
                re: (y.re * x.re + y.im * x.im) / (x.re * x.re + x.im * x.im),
                im: (y.im * x.re - y.re * x.im) / (x.re * x.re + x.im * x.im),
            };
            match ratio {
                None => ratio = Some(r),
                Some(r0) => {
                    if (r.re - r0.re).hypot(r.im - r0.im) > self.opts.rel_tol.max(1e-9) * r0.abs() {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(match ratio {
            Some(r) => !positive || (r.re > 0.0 && r.im.abs() <= 1e-9 * r.abs()),
            // Identically zero on both sides (0 = 0).
            None => zeros > 0,
        })
    }

    /// Scalars. A percent sign is optional (`28\%` equals 28) and also means what it says (`50\%`
    /// equals 0.5).
    fn eq_scalar(&mut self, g: &Node, p: &Node) -> R<bool> {
        let (gs, g_pct) = strip_percent(g);
        let (ps, p_pct) = strip_percent(p);
        if self.eq_value(gs, ps)? {
            return Ok(true);
        }
        if g_pct != p_pct {
            return self.eq_value(g, p);
        }
        Ok(false)
    }

    fn eq_value(&mut self, g: &Node, p: &Node) -> R<bool> {
        if g == p {
            return Ok(true);
        }
        let approx = g.has_decimal() || p.has_decimal();
        if !g.has_symbols() && !p.has_symbols() {
            if let (Some(a), Some(b)) = (expr::exact(g, self.budget)?, expr::exact(p, self.budget)?) {
                return Ok(self.num_eq(&a, &b, approx));
            }
            let env = Env {
                k: 0,
                rename: &self.rename,
            };
            let a = expr::eval(g, &env, self.budget)?;
            let b = expr::eval(p, &env, self.budget)?;
            return Ok(self.close(a, b, approx));
        }
        let mut matched = 0;
        for k in 0..SAMPLES {
            let env = Env {
                k,
                rename: &self.rename,
            };
            let a = expr::eval(g, &env, self.budget)?;
            let b = expr::eval(p, &env, self.budget)?;
            match (a.is_finite(), b.is_finite()) {
                (false, false) => continue,
                (true, true) => {
                    if !self.close(a, b, false) {
                        return Ok(false);
                    }
                    matched += 1;
                }
                _ => return Ok(false),
            }
        }
        Ok(matched > 0)
    }

    /// Exact numbers: equal, or equal after `float_rounding` when a decimal is involved, or within the
    /// explicit leniencies.
    fn num_eq(&self, a: &Q, b: &Q, approx: bool) -> bool {
        if a == b {
            return true;
        }
        if approx {
            if let Some(d) = self.opts.float_rounding {
                if number::round(a, d) == number::round(b, d) {
                    return true;
                }
            }
        }
        let lenient = |x: &Q, y: &Q| {
            let tol = self.opts.numeric_leniency;
            tol > 0.0 && {
                let (fx, fy) = (number::to_f64(x), number::to_f64(y));
                (fx - fy).abs() <= tol * fx.abs().max(fy.abs())
            }
        };
        if lenient(a, b) {
            return true;
        }
        if self.opts.percent_leniency {
            let h = number::int(100);
            let (a100, b100) = (a * &h, b * &h);
            if &a100 == b || &b100 == a || lenient(&a100, b) || lenient(a, &b100) {
                return true;
            }
        }
        false
    }

    /// Evaluated values: within `rel_tol` (and `ABS_TOL` near zero), or equal after rounding.
    fn close(&self, a: C, b: C, approx: bool) -> bool {
        if !a.is_finite() || !b.is_finite() {
            return a.re == b.re && a.im == b.im && !a.re.is_nan();
        }
        let d = (a.re - b.re).hypot(a.im - b.im);
        let m = a.abs().max(b.abs());
        if d <= self.opts.rel_tol * m || d <= ABS_TOL {
            return true;
        }
        if approx {
            if let Some(places) = self.opts.float_rounding {
                let r = |x: f64| {
                    let s = 10f64.powi(places as i32);
                    (x * s).round() / s
                };
                if a.im.abs() <= ABS_TOL && b.im.abs() <= ABS_TOL && r(a.re) == r(b.re) {
                    return true;
                }
            }
        }
        let tol = self.opts.numeric_leniency;
        if tol > 0.0 && d <= tol * m {
            return true;
        }
        if self.opts.percent_leniency {
            let s = C {
                re: a.re * 100.0,
                im: a.im * 100.0,
            };
            let t = C {
                re: b.re * 100.0,
                im: b.im * 100.0,
            };
            let near = |x: C, y: C| {
                (x.re - y.re).hypot(x.im - y.im) <= self.opts.rel_tol.max(tol) * x.abs().max(y.abs())
            };
            if near(s, b) || near(a, t) {
                return true;
            }
        }
        false
    }

    /// Matrices: same shape and equal entries; a one-row or one-column matrix also matches a tuple;
    /// sums and products of matrices are evaluated first.
    fn eq_matrix(&mut self, g: &Node, p: &Node) -> R<bool> {
        let (Some(a), Some(b)) = (self.matrix_value(g)?, self.matrix_value(p)?) else {
            // A vector written as a tuple.
            let (m, t) = match (g, p) {
                (Node::Matrix(m), Node::Bracket('(', ')', t))
                | (Node::Bracket('(', ')', t), Node::Matrix(m)) => (m, t),
                _ => return Ok(false),
            };
            let flat: Vec<Node> = if m.len() == 1 {
                m[0].clone()
            } else if m.iter().all(|r| r.len() == 1) {
                m.iter().map(|r| r[0].clone()).collect()
            } else {
                return Ok(false);
            };
            return self.eq_all(&flat, t);
        };
        if a.len() != b.len() {
            return Ok(false);
        }
        for (ra, rb) in a.iter().zip(&b) {
            if !self.eq_all(ra, rb)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn matrix_value(&mut self, n: &Node) -> R<Option<Vec<Vec<Node>>>> {
        self.budget.tick()?;
        Ok(match n {
            Node::Matrix(m) => {
                let w = m.first().map_or(0, Vec::len);
                if m.iter().any(|r| r.len() != w) {
                    return Ok(None);
                }
                Some(m.clone())
            }
            Node::Add(v) => {
                let mut acc: Option<Vec<Vec<Node>>> = None;
                for t in v {
                    let Some(m) = self.matrix_value(t)? else {
                        return Ok(None);
                    };
                    acc = Some(match acc {
                        None => m,
                        Some(a) => {
                            if a.len() != m.len() || a.iter().zip(&m).any(|(x, y)| x.len() != y.len()) {
                                return Ok(None);
                            }
                            a.into_iter()
                                .zip(m)
                                .map(|(ra, rb)| {
                                    ra.into_iter()
                                        .zip(rb)
                                        .map(|(x, y)| Node::Add(vec![x, y]))
                                        .collect()
                                })
                                .collect()
                        }
                    });
                }
                acc
            }
            Node::Neg(a) => self.matrix_value(a)?.map(|m| {
                m.into_iter()
                    .map(|r| r.into_iter().map(|x| Node::Neg(Box::new(x))).collect())
                    .collect()
            }),
            Node::Mul(v) => {
                let mut scalar: Vec<Node> = Vec::new();
                let mut acc: Option<Vec<Vec<Node>>> = None;
                for t in v {
                    if t.is_scalar() {
                        scalar.push(t.clone());
                        continue;
                    }
                    let Some(m) = self.matrix_value(t)? else {
                        return Ok(None);
                    };
                    acc = Some(match acc {
                        None => m,
                        Some(a) => {
                            let inner = a.first().map_or(0, Vec::len);
                            if inner != m.len() || inner == 0 {
                                return Ok(None);
                            }
                            let cols = m[0].len();
                            let mut out = Vec::with_capacity(a.len());
                            for row in &a {
                                let mut r = Vec::with_capacity(cols);
                                for j in 0..cols {
                                    let terms = row
                                        .iter()
                                        .zip(&m)
                                        .map(|(x, mrow)| Node::Mul(vec![x.clone(), mrow[j].clone()]))
                                        .collect();
                                    r.push(Node::Add(terms));
                                }
                                out.push(r);
                            }
                            out
                        }
                    });
                }
                acc.map(|m| {
                    if scalar.is_empty() {
                        return m;
                    }
                    m.into_iter()
                        .map(|r| {
                            r.into_iter()
                                .map(|x| {
                                    let mut f = scalar.clone();
                                    f.push(x);
                                    Node::Mul(f)
                                })
                                .collect()
                        })
                        .collect()
                })
            }
            _ => None,
        })
    }
}

/// Sum of the magnitudes of the top-level terms: the scale against which a difference is "zero".
fn scale(n: &Node, env: &Env, budget: &mut Budget) -> R<f64> {
    Ok(match n {
        Node::Add(v) => {
            let mut s = 0.0;
            for t in v {
                s += expr::eval(t, env, budget)?.abs();
            }
            s
        }
        other => expr::eval(other, env, budget)?.abs(),
    })
}
