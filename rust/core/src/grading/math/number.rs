//! Exact rational numbers with bounded size.
//!
//! Every constructor and operation checks the digit bound of [`Limits::max_digits`] and the exponent bound
//! of [`Limits::max_exponent`], so that `9^{9^{9^9}}` or a 10^6-digit literal costs microseconds and
//! reports [`LimitHit`] instead of exhausting memory.

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::grading::verdict::{Budget, LimitHit};

pub type Q = BigRational;

/// Bits per decimal digit, rounded up: log2(10) < 3.33.
const BITS_PER_DIGIT: u64 = 4;

fn bits(q: &Q) -> u64 {
    q.numer().bits() + q.denom().bits()
}

/// Error if `q` has more digits than the budget allows.
pub fn check(q: Q, budget: &Budget) -> Result<Q, LimitHit> {
    if bits(&q) > budget.limits.max_digits as u64 * BITS_PER_DIGIT {
        return Err(LimitHit);
    }
    Ok(q)
}

pub fn int(n: i64) -> Q {
    Q::from_integer(BigInt::from(n))
}

/// Parse an unsigned decimal literal: digits, an optional fraction part and an optional exponent
/// (`12`, `3.25`, `.5`, `4.5e33`, `1e-5`). The text must already be free of separators.
pub fn parse_decimal(text: &str, budget: &Budget) -> Result<Option<Q>, LimitHit> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = match text[i + 1..].parse() {
                Ok(e) => e,
                Err(_) => return Ok(None),
            };
            (&text[..i], e)
        }
        None => (text, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(None);
    }
    let digits = int_part.len() + frac_part.len();
    if digits > budget.limits.max_digits || exp.unsigned_abs() > budget.limits.max_digits as u64 {
        return Err(LimitHit);
    }
    let mut all = String::with_capacity(digits);
    all.push_str(int_part);
    all.push_str(frac_part);
    let numer: BigInt = if all.is_empty() {
        BigInt::zero()
    } else {
        all.parse().map_err(|_| LimitHit)?
    };
    let scale = exp - frac_part.len() as i64;
    let ten = BigInt::from(10);
    let q = if scale >= 0 {
        Q::from_integer(numer * num_traits::pow(ten, scale as usize))
    } else {
        Q::new(numer, num_traits::pow(ten, (-scale) as usize))
    };
    check(q, budget).map(Some)
}

/// `base^exp` when the result is rational: any integer exponent within the bounds, and rational
/// exponents whose root is exact (`4^{1/2} = 2`, `8^{-2/3} = 1/4`). `Ok(None)` when irrational or
/// undefined (0 to a negative power).
pub fn pow(base: &Q, exp: &Q, budget: &Budget) -> Result<Option<Q>, LimitHit> {
    if exp.is_integer() {
        let e = exp.numer();
        if base.is_zero() {
            return Ok(match e.sign() {
                Sign::Minus => None,
                Sign::NoSign => Some(Q::one()),
                Sign::Plus => Some(Q::zero()),
            });
        }
        if base.is_one() {
            return Ok(Some(Q::one()));
        }
        if *base == -Q::one() {
            return Ok(Some(if e.is_even() { Q::one() } else { -Q::one() }));
        }
        let mag = e
            .magnitude()
            .to_u64()
            .filter(|&m| m <= budget.limits.max_exponent)
            .ok_or(LimitHit)?;
        // The result has about bits(base) * |e| bits: refuse before computing.
        if bits(base).saturating_mul(mag) > budget.limits.max_digits as u64 * BITS_PER_DIGIT * 2 {
            return Err(LimitHit);
        }
        let p = num_traits::pow(base.clone(), mag as usize);
        let p = if e.is_negative() { p.recip() } else { p };
        return check(p, budget).map(Some);
    }
    // Rational exponent p/q: exact only if base is a perfect q-th power.
    let q = match exp.denom().to_u32() {
        Some(q) if q <= 64 => q,
        _ => return Ok(None),
    };
    if base.is_negative() {
        return Ok(None);
    }
    let (Some(rn), Some(rd)) = (exact_root(base.numer(), q), exact_root(base.denom(), q)) else {
        return Ok(None);
    };
    let root = Q::new(rn, rd);
    pow(&root, &Q::from_integer(exp.numer().clone()), budget)
}

fn exact_root(n: &BigInt, q: u32) -> Option<BigInt> {
    let r = n.nth_root(q);
    (num_traits::pow(r.clone(), q as usize) == *n).then_some(r)
}

pub fn to_f64(q: &Q) -> f64 {
    match (q.numer().to_f64(), q.denom().to_f64()) {
        (Some(n), Some(d)) if n.is_finite() && d.is_finite() && d != 0.0 => n / d,
        // Huge numerator or denominator: scale both down first.
        _ => {
            let shift = q.numer().bits().max(q.denom().bits()).saturating_sub(1000);
            let n = (q.numer() >> shift as usize).to_f64().unwrap_or(f64::NAN);
            let d = (q.denom() >> shift as usize).to_f64().unwrap_or(f64::NAN);
            n / d
        }
    }
}

/// Round to `places` decimal places, halves away from zero.
pub fn round(q: &Q, places: u32) -> Q {
    let scale = num_traits::pow(BigInt::from(10), places as usize);
    let scaled = q * Q::from_integer(scale.clone());
    let r = scaled.round(); // BigRational::round rounds half away from zero
    Q::new(r.to_integer(), scale)
}

/// Decimal places needed to write `q` exactly, if it is a terminating decimal with at most `max` places.
pub fn decimal_places(q: &Q, max: u32) -> Option<u32> {
    let mut d = q.denom().clone();
    let mut twos = 0u32;
    let mut fives = 0u32;
    let two = BigInt::from(2);
    let five = BigInt::from(5);
    while d.is_even() {
        d /= &two;
        twos += 1;
        if twos > max {
            return None;
        }
    }
    while (&d % &five).is_zero() {
        d /= &five;
        fives += 1;
        if fives > max {
            return None;
        }
    }
    d.is_one().then_some(twos.max(fives))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::verdict::Limits;

    fn b() -> Budget {
        Budget::new(Limits::default())
    }

    fn q(n: i64, d: i64) -> Q {
        Q::new(n.into(), d.into())
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal("0.5", &b()).unwrap(), Some(q(1, 2)));
        assert_eq!(parse_decimal(".38", &b()).unwrap(), Some(q(19, 50)));
        assert_eq!(parse_decimal("4.5e3", &b()).unwrap(), Some(q(4500, 1)));
        assert_eq!(parse_decimal("1e-3", &b()).unwrap(), Some(q(1, 1000)));
        assert_eq!(parse_decimal("1.", &b()).unwrap(), Some(q(1, 1)));
        assert_eq!(parse_decimal("x", &b()).unwrap(), None);
        assert!(parse_decimal(&"9".repeat(5000), &b()).is_err());
        assert!(parse_decimal("1e999999", &b()).is_err());
    }

    #[test]
    fn powers_are_bounded() {
        assert_eq!(pow(&q(2, 1), &q(10, 1), &b()).unwrap(), Some(q(1024, 1)));
        assert_eq!(pow(&q(2, 1), &q(-2, 1), &b()).unwrap(), Some(q(1, 4)));
        assert_eq!(pow(&q(4, 9), &q(1, 2), &b()).unwrap(), Some(q(2, 3)));
        assert_eq!(pow(&q(8, 1), &q(-2, 3), &b()).unwrap(), Some(q(1, 4)));
        assert_eq!(pow(&q(2, 1), &q(1, 2), &b()).unwrap(), None);
        assert_eq!(pow(&q(0, 1), &q(-1, 1), &b()).unwrap(), None);
        assert!(pow(&q(9, 1), &q(387_420_489, 1), &b()).is_err());
        assert_eq!(pow(&q(1, 1), &q(387_420_489, 1), &b()).unwrap(), Some(q(1, 1)));
    }

    #[test]
    fn rounding_and_places() {
        assert_eq!(round(&q(1, 3), 3), q(333, 1000));
        assert_eq!(round(&q(-5, 2), 0), q(-3, 1));
        assert_eq!(decimal_places(&q(1, 8), 10), Some(3));
        assert_eq!(decimal_places(&q(1, 3), 10), None);
        assert!((to_f64(&q(1, 3)) - 1.0 / 3.0).abs() < 1e-15);
    }
}
