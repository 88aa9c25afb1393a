//! Relations: what an equation chain stands for (`x = 4` is 4), which sets inequalities describe
//! (`a < x \le b` is `(a, b]`), and inequalities as "expression < 0" for comparison up to a factor.

use super::expr::{self, Const, Node, RelOp};

/// A name-like left side of an assignment: symbols, function applications, and products, quotients,
/// ratios, absolute values or tuples of them, with no number in sight (`x`, `f(x)`, `NO/BO`, `A:B`,
/// `|AB|`, `(p, q)`).
pub fn is_name(n: &Node) -> bool {
    match n {
        Node::Sym(_) | Node::Apply(..) => true,
        Node::Const(Const::E | Const::I) => true,
        Node::Mul(v) | Node::Ratio(v) | Node::Bracket(_, _, v) => v.iter().all(is_name),
        Node::Div(a, b) => is_name(a) && is_name(b),
        Node::Func(expr::Func::Abs, v) => v.iter().all(is_name),
        _ => false,
    }
}

/// The value an equation chain stands for: `x = 5+5+1 = 11` → 11, `x = 1/3 \approx 0.33` → 1/3,
/// `x \approx 11` → 11, `5 \times 6 = 30` → 30, `x \in [0, 1]` → `[0, 1]`. None for a genuine
/// equation such as `2x + z = 1`.
pub fn value_of(n: &Node) -> Option<&Node> {
    let Node::Rel(members, ops) = n else { return None };
    if !ops
        .iter()
        .all(|o| matches!(o, RelOp::Eq | RelOp::Approx | RelOp::In))
    {
        return None;
    }
    let lhs = &members[0];
    let last = members.last()?;
    if !(is_name(lhs) || !lhs.has_symbols() && !last.has_symbols()) {
        return None;
    }
    let mut idx = 1;
    for (k, op) in ops.iter().enumerate() {
        if *op == RelOp::Approx {
            break;
        }
        idx = k + 1;
    }
    members.get(idx)
}

fn neg_inf() -> Node {
    Node::Neg(Box::new(Node::Const(Const::Inf)))
}

/// The set a relation describes, when it is one: `a < x \le b` → `(a, b]`, `x \ge 5` → `[5, ∞)`,
/// `x \in S` → S, `x \ne a` → (−∞, a) ∪ (a, ∞).
pub fn as_set(n: &Node) -> Option<Node> {
    let Node::Rel(m, ops) = n else { return None };
    let open = |op: RelOp| matches!(op, RelOp::Lt | RelOp::Gt);
    match (m.as_slice(), ops.as_slice()) {
        // `1 \le |z| \le 3/2` → [-3/2, -1] ∪ [1, 3/2].
        (
            [lo, Node::Func(expr::Func::Abs, x), hi],
            [o1 @ (RelOp::Lt | RelOp::Le), o2 @ (RelOp::Lt | RelOp::Le)],
        ) if x.len() == 1 && is_name(&x[0]) => {
            let (l, r) = (
                if open(*o2) { '(' } else { '[' },
                if open(*o2) { ')' } else { ']' },
            );
            let (il, ir) = (
                if open(*o1) { '(' } else { '[' },
                if open(*o1) { ')' } else { ']' },
            );
            let neg = |n: &Node| Node::Neg(Box::new(n.clone()));
            Some(Node::Union(vec![
                Node::Bracket(l, ir, vec![neg(hi), neg(lo)]),
                Node::Bracket(il, r, vec![lo.clone(), hi.clone()]),
            ]))
        }
        ([_, s], [RelOp::In]) => Some(s.clone()),
        ([lo, x, hi], [o1 @ (RelOp::Lt | RelOp::Le), o2 @ (RelOp::Lt | RelOp::Le)]) if is_name(x) => {
            Some(Node::Bracket(
                if open(*o1) { '(' } else { '[' },
                if open(*o2) { ')' } else { ']' },
                vec![lo.clone(), hi.clone()],
            ))
        }
        ([hi, x, lo], [o1 @ (RelOp::Gt | RelOp::Ge), o2 @ (RelOp::Gt | RelOp::Ge)]) if is_name(x) => {
            Some(Node::Bracket(
                if open(*o2) { '(' } else { '[' },
                if open(*o1) { ')' } else { ']' },
                vec![lo.clone(), hi.clone()],
            ))
        }
        ([x, a], [op]) if is_name(x) => bound(a, *op),
        ([a, x], [op]) if is_name(x) => bound(a, flip(*op)),
        _ => None,
    }
}

fn flip(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Gt,
        RelOp::Gt => RelOp::Lt,
        RelOp::Le => RelOp::Ge,
        RelOp::Ge => RelOp::Le,
        o => o,
    }
}

/// `x op a` as an interval.
fn bound(a: &Node, op: RelOp) -> Option<Node> {
    let inf = Node::Const(Const::Inf);
    Some(match op {
        RelOp::Lt => Node::Bracket('(', ')', vec![neg_inf(), a.clone()]),
        RelOp::Le => Node::Bracket('(', ']', vec![neg_inf(), a.clone()]),
        RelOp::Gt => Node::Bracket('(', ')', vec![a.clone(), inf]),
        RelOp::Ge => Node::Bracket('[', ')', vec![a.clone(), inf]),
        RelOp::Ne => Node::Union(vec![
            Node::Bracket('(', ')', vec![neg_inf(), a.clone()]),
            Node::Bracket('(', ')', vec![a.clone(), inf]),
        ]),
        _ => return None,
    })
}

/// `a − b`.
pub fn diff(a: &Node, b: &Node) -> Node {
    Node::Add(vec![a.clone(), Node::Neg(Box::new(b.clone()))])
}

/// `l op r` as `d < 0` / `d ≤ 0` with the strictness: `x > 5` → (5 − x, strict).
pub fn ineq(l: &Node, r: &Node, op: RelOp) -> Option<(Node, bool)> {
    Some(match op {
        RelOp::Lt => (diff(l, r), true),
        RelOp::Le => (diff(l, r), false),
        RelOp::Gt => (diff(r, l), true),
        RelOp::Ge => (diff(r, l), false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::math::{normalize::normalize, parse::parse, MathOptions};
    use crate::grading::verdict::{Budget, Limits};

    fn p(s: &str) -> Node {
        let mut b = Budget::new(Limits::default());
        let n = normalize(s, &mut b).unwrap();
        parse(&n, &MathOptions::default(), &mut b).unwrap()
    }

    #[test]
    fn values_of_chains() {
        assert_eq!(value_of(&p("x = 5+5+1 = 11")), Some(&Node::int(11)));
        assert_eq!(value_of(&p(r"x = 4 \approx 3.9")), Some(&Node::int(4)));
        assert_eq!(value_of(&p(r"x \approx 11")), Some(&Node::int(11)));
        assert_eq!(value_of(&p(r"5 \times 6 = 30")), Some(&Node::int(30)));
        assert_eq!(value_of(&p("2x + z = 1")), None);
        assert_eq!(value_of(&p("7 = 11a + c")), None);
        assert!(value_of(&p("(p, q) = (3, 2)")).is_some());
        assert!(value_of(&p(r"\frac{NO}{BO} = \frac{1}{\sqrt6}")).is_some());
        assert_eq!(value_of(&p("x < 3")), None);
    }

    #[test]
    fn sets_of_relations() {
        assert!(matches!(
            as_set(&p(r"-2 \le x < 1")),
            Some(Node::Bracket('[', ')', _))
        ));
        assert!(matches!(
            as_set(&p(r"7 > x \ge 1")),
            Some(Node::Bracket('[', ')', _))
        ));
        assert!(matches!(as_set(&p(r"x \ge 5")), Some(Node::Bracket('[', ')', _))));
        assert!(matches!(as_set(&p(r"5 < x")), Some(Node::Bracket('(', ')', _))));
        assert!(matches!(as_set(&p(r"x \ne 0")), Some(Node::Union(_))));
        assert!(matches!(as_set(&p(r"1 \le |z| \le 2")), Some(Node::Union(ref u)) if u.len() == 2));
        assert_eq!(as_set(&p("x + y < 3")), None);
    }
}
