//! Unbiased pass@k, fail@k and the order-T MaxRL objective from n samples with c correct (docs/estimators.md).

use crate::error::{Error, Result};

fn check(n: u64, c: u64, k: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidArgument {
            name: "n",
            reason: "0 samples".into(),
        });
    }
    if c > n {
        return Err(Error::InvalidArgument {
            name: "c",
            reason: format!("{c} correct out of n = {n} samples"),
        });
    }
    if k == 0 || k > n {
        return Err(Error::InvalidArgument {
            name: "k",
            reason: format!("{k}; need 1 <= k <= n = {n}"),
        });
    }
    Ok(())
}

/// fail@k = C(n − c, k)/C(n, k), the probability that k samples drawn without replacement all fail.
///
/// Two equal products; take the shorter one:
/// Π_{i=0}^{k−1} (n − c − i)/(n − i)  or  Π_{i=n−c+1}^{n} (1 − k/i).
pub fn fail_at_k(n: u64, c: u64, k: u64) -> Result<f64> {
    check(n, c, k)?;
    if n - c < k {
        return Ok(0.0);
    }
    Ok(if k <= c {
        (0..k).map(|i| (n - c - i) as f64 / (n - i) as f64).product()
    } else {
        (n - c + 1..=n).map(|i| 1.0 - k as f64 / i as f64).product()
    })
}

/// Unbiased pass@k = 1 − C(n − c, k)/C(n, k) (Chen et al. 2021).
pub fn pass_at_k(n: u64, c: u64, k: u64) -> Result<f64> {
    Ok(1.0 - fail_at_k(n, c, k)?)
}

/// fail@k for every k in 1..=n, by fail@(k+1) = fail@k · (n − c − k)/(n − k).
pub fn fail_curve(n: u64, c: u64) -> Result<Vec<f64>> {
    check(n, c, 1)?;
    let mut out = Vec::with_capacity(n as usize);
    let mut f = (n - c) as f64 / n as f64;
    for k in 1..=n {
        out.push(f);
        if k < n {
            f *= (n - c).saturating_sub(k) as f64 / (n - k) as f64;
        }
    }
    Ok(out)
}

/// Unbiased estimate of J^(T) = −Σ_{k=1}^{T} fail@k / k (docs/estimators.md); J^(1) = pass@1 − 1, J^(∞) = log p.
pub fn maxrl_objective(n: u64, c: u64, order: u64) -> Result<f64> {
    check(n, c, order.max(1))?;
    if order == 0 {
        return Err(Error::BadOrder {
            order: 0,
            group: 0,
            size: n as usize,
        });
    }
    let curve = fail_curve(n, c)?;
    Ok(-curve
        .iter()
        .take(order as usize)
        .enumerate()
        .map(|(i, f)| f / (i + 1) as f64)
        .sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: the fraction of k-subsets of n samples (c of them correct) containing a correct one.
    fn brute(n: u64, c: u64, k: u64) -> f64 {
        let (mut hit, mut all) = (0u64, 0u64);
        for s in 0u32..(1 << n) {
            if s.count_ones() as u64 == k {
                all += 1;
                hit += (s & ((1 << c) - 1) != 0) as u64;
            }
        }
        hit as f64 / all as f64
    }

    #[test]
    fn matches_subset_enumeration() {
        for n in 1..=12 {
            for c in 0..=n {
                let curve = fail_curve(n, c).unwrap();
                for k in 1..=n {
                    let want = brute(n, c, k);
                    assert!(
                        (pass_at_k(n, c, k).unwrap() - want).abs() < 1e-12,
                        "n={n} c={c} k={k}"
                    );
                    assert!((1.0 - curve[k as usize - 1] - want).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn stable_for_thousands_of_samples() {
        let p = pass_at_k(4096, 3, 2048).unwrap();
        // 1 − C(4093, 2048)/C(4096, 2048) = 1 − (2048·2047·2046)/(4096·4095·4094)
        let want = 1.0 - (2048.0 * 2047.0 * 2046.0) / (4096.0 * 4095.0 * 4094.0);
        assert!((p - want).abs() < 1e-14);
        assert_eq!(pass_at_k(4096, 0, 4096).unwrap(), 0.0);
        assert_eq!(pass_at_k(4096, 1, 4096).unwrap(), 1.0);
    }

    #[test]
    fn objective_endpoints() {
        assert!((maxrl_objective(10, 3, 1).unwrap() - (0.3 - 1.0)).abs() < 1e-15);
        assert!(pass_at_k(3, 4, 1).is_err());
        assert!(pass_at_k(3, 1, 4).is_err());
    }
}
