//! Unbiased pass@k, fail@k and the order-T MaxRL objective from n samples with c correct (docs/estimators.md).

use crate::error::{Error, Result};

/// `n` samples with `c` correct, and `k` (called `what` in errors) in 1..=n.
fn check(n: u64, c: u64, k: u64, what: &'static str) -> Result<()> {
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
            name: what,
            reason: format!("{k}; need 1 <= {what} <= n = {n}"),
        });
    }
    Ok(())
}

/// fail@k = C(n − c, k)/C(n, k), the probability that k samples drawn without replacement all fail.
///
/// Two equal products; take the shorter one:
/// Π_{i=0}^{k−1} (n − c − i)/(n − i)  or  Π_{i=n−c+1}^{n} (1 − k/i).
pub fn fail_at_k(n: u64, c: u64, k: u64) -> Result<f64> {
    check(n, c, k, "k")?;
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
    check(n, c, 1, "k")?;
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
    check(n, c, order, "order")?;
    let curve = fail_curve(n, c)?;
    Ok(-curve
        .iter()
        .take(order as usize)
        .enumerate()
        .map(|(i, f)| f / (i + 1) as f64)
        .sum::<f64>())
}

/// Per-prompt `(n, c)` from signed arrays (as NumPy hands them over): aligned, and no count negative.
pub fn counts(n: &[i64], c: &[i64]) -> Result<Vec<(u64, u64)>> {
    Error::check_aligned("c", c.len(), "n", n.len())?;
    n.iter()
        .zip(c)
        .enumerate()
        .map(|(i, (&n, &c))| match (u64::try_from(n), u64::try_from(c)) {
            (Ok(n), Ok(c)) => Ok((n, c)),
            _ => Err(Error::at(
                i,
                Error::InvalidArgument {
                    name: if n < 0 { "n" } else { "c" },
                    reason: format!("negative count: n = {n}, c = {c}"),
                },
            )),
        })
        .collect()
}

/// `f(n_i, c_i, x_i)` over aligned arrays, an error naming the first bad index. `what` names `x`.
fn elementwise(
    n: &[i64],
    c: &[i64],
    x: &[i64],
    what: &'static str,
    f: impl Fn(u64, u64, u64) -> Result<f64>,
) -> Result<Vec<f64>> {
    let nc = counts(n, c)?;
    Error::check_aligned(what, x.len(), "n", nc.len())?;
    nc.iter()
        .zip(x)
        .enumerate()
        .map(|(i, (&(n, c), &x))| {
            // A negative x is out of 1..=n like 0 is; report it as given.
            let r = match u64::try_from(x) {
                Ok(x) => f(n, c, x),
                Err(_) => check(n, c, 1, what).and_then(|()| {
                    Err(Error::InvalidArgument {
                        name: what,
                        reason: format!("{x}; need 1 <= {what} <= n = {n}"),
                    })
                }),
            };
            r.map_err(|e| Error::at(i, e))
        })
        .collect()
}

/// Elementwise [`pass_at_k`] over aligned arrays of `n`, `c` and `k`.
pub fn pass_at_k_batch(n: &[i64], c: &[i64], k: &[i64]) -> Result<Vec<f64>> {
    elementwise(n, c, k, "k", pass_at_k)
}

/// Elementwise [`maxrl_objective`] over aligned arrays of `n`, `c` and `order`.
pub fn maxrl_objective_batch(n: &[i64], c: &[i64], order: &[i64]) -> Result<Vec<f64>> {
    elementwise(n, c, order, "order", maxrl_objective)
}

/// Mean unbiased pass@k over prompts (`n[i]` samples, `c[i]` correct) for each k in `ks` (default
/// 1..=min n); every k must be in 1..=n of every prompt. Returns the ks and the means, aligned. One
/// [`fail_curve`] per prompt serves all of `ks`.
pub fn pass_at_k_curve(n: &[i64], c: &[i64], ks: Option<&[i64]>) -> Result<(Vec<i64>, Vec<f64>)> {
    let nc = counts(n, c)?;
    let Some(n_min) = nc.iter().map(|&(n, _)| n).min() else {
        return Err(Error::Empty { what: "n" });
    };
    let ks = match ks {
        Some(ks) => ks.to_vec(),
        None => (1..=n_min as i64).collect(),
    };
    let mut acc = vec![0.0; ks.len()];
    for (i, &(n, c)) in nc.iter().enumerate() {
        let fail = fail_curve(n, c).map_err(|e| Error::at(i, e))?;
        for (a, &k) in acc.iter_mut().zip(&ks) {
            if k < 1 || k as u64 > n {
                return Err(Error::at(
                    i,
                    Error::InvalidArgument {
                        name: "ks",
                        reason: format!("k = {k} but prompt {i} has only n = {n} samples"),
                    },
                ));
            }
            *a += 1.0 - fail[k as usize - 1];
        }
    }
    let means = acc.into_iter().map(|a| a / nc.len() as f64).collect();
    Ok((ks, means))
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
        assert!(maxrl_objective(3, 1, 0).is_err());
    }

    #[test]
    fn batch_errors_name_the_array_and_index() {
        let e = pass_at_k_batch(&[4, 4, 4], &[1, 1], &[1, 1, 1]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c has length 2, but n has length 3; they must be aligned"
        );
        let e = pass_at_k_batch(&[4, 4], &[1, 1], &[1]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k has length 1, but n has length 2; they must be aligned"
        );
        let e = maxrl_objective_batch(&[4, 4], &[1, 1], &[1, 5]).unwrap_err();
        assert_eq!((e.index(), e.name()), (Some(1), "order"));
        assert_eq!(
            e.to_string(),
            "at index 1: invalid order: 5; need 1 <= order <= n = 4"
        );
        let e = pass_at_k_batch(&[4, 4], &[1, 1], &[-2, 1]).unwrap_err();
        assert_eq!(e.to_string(), "at index 0: invalid k: -2; need 1 <= k <= n = 4");
        let e = pass_at_k_batch(&[4, 4], &[1, -1], &[1, 1]).unwrap_err();
        assert_eq!((e.index(), e.name()), (Some(1), "c"));
        assert!(e.to_string().contains("negative count"));
    }

    #[test]
    fn curve_is_the_mean_over_prompts() {
        let (ks, got) = pass_at_k_curve(&[4, 2], &[1, 2], None).unwrap();
        let want = [
            (pass_at_k(4, 1, 1).unwrap() + 1.0) / 2.0,
            (pass_at_k(4, 1, 2).unwrap() + 1.0) / 2.0,
        ];
        assert_eq!((ks, got), (vec![1, 2], want.to_vec()));
        let (_, one) = pass_at_k_curve(&[4, 2], &[1, 2], Some(&[2])).unwrap();
        assert_eq!(one, vec![want[1]]);
        let e = pass_at_k_curve(&[4, 2], &[1, 1], Some(&[4])).unwrap_err();
        assert_eq!((e.index(), e.name()), (Some(1), "ks"));
        assert!(e.to_string().contains("prompt 1 has only n = 2"));
        assert_eq!(
            pass_at_k_curve(&[], &[], None).unwrap_err(),
            Error::Empty { what: "n" }
        );
    }
}
