//! Per-rollout advantages A_i (docs/estimators.md). The policy-gradient estimate of a group is
//! ĝ = (1/N) Σ_i A_i ∇log π(y_i | x), with A_i broadcast to every response token.
//!
//! Every estimator here depends only on a rollout's own reward and its group's (N, Σr, Σ(r − r̄)²), so one
//! pass gathers group sums and a second writes A_i, in input order. Masked rollouts get 0 and are not counted.

use std::str::FromStr;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::groups::Slots;
use crate::parallel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// A = r (pass@1, no baseline).
    Reinforce,
    /// A = r − (K − r)/(N − 1): leave-one-out baseline.
    Rloo,
    /// A = (r − r̄)/(s + ε): group-normalised (Shao et al. 2024).
    Grpo,
    /// A = r − r̄ (Liu et al. 2025, "Dr. GRPO").
    DrGrpo,
    /// MaxRL of order T (Tajwar et al. 2026, Algorithm 1 for T = N).
    MaxRL,
}

impl Estimator {
    pub const NAMES: [&'static str; 5] = ["reinforce", "rloo", "grpo", "dr_grpo", "maxrl"];
}

impl FromStr for Estimator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "reinforce" => Estimator::Reinforce,
            "rloo" => Estimator::Rloo,
            "grpo" => Estimator::Grpo,
            "dr_grpo" | "drgrpo" => Estimator::DrGrpo,
            "maxrl" => Estimator::MaxRL,
            _ => return Err(Error::UnknownEstimator { name: s.to_string() }),
        })
    }
}

/// Which standard deviation GRPO divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdKind {
    /// Bessel-corrected, `torch.std`'s default (verl, the official MaxRL code).
    Sample,
    /// Divide by N.
    Population,
}

impl FromStr for StdKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sample" | "unbiased" => Ok(StdKind::Sample),
            "population" | "biased" => Ok(StdKind::Population),
            _ => Err(Error::InvalidArgument {
                name: "std",
                reason: format!("{s:?}; expected \"sample\" or \"population\""),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdvantageConfig {
    pub estimator: Estimator,
    /// MaxRL order T; `None` means T = N of each group.
    pub order: Option<usize>,
    /// MaxRL: all-fail groups get 0 (true, the paper's practical choice) or −1 (Eq. 10 literally).
    pub drop_all_fail: bool,
    /// GRPO: ε in the denominator.
    pub eps: f64,
    pub std: StdKind,
}

impl Default for AdvantageConfig {
    fn default() -> Self {
        AdvantageConfig {
            estimator: Estimator::MaxRL,
            order: None,
            drop_all_fail: true,
            eps: 1e-6,
            std: StdKind::Sample,
        }
    }
}

impl AdvantageConfig {
    pub fn new(estimator: Estimator) -> Self {
        AdvantageConfig {
            estimator,
            ..Default::default()
        }
    }
}

/// The MaxRL order T from a signed value (as Python passes it): T >= 1.
pub fn order(t: i64) -> Result<usize> {
    match usize::try_from(t) {
        Ok(t) if t >= 1 => Ok(t),
        _ => Err(Error::InvalidArgument {
            name: "order",
            reason: format!("{t}; order must be >= 1 (or None for T = N of each group)"),
        }),
    }
}

/// Σ_{j=0}^{T−1} C(N−K, j)/C(N−1, j), the MaxRL success weight c_i/r_i of docs/estimators.md, for K ≥ 1.
///
/// Summing the series term by term loses accuracy for N in the millions, so use its closed form: with
/// f = N − K, C(f, j)/C(N−1, j) = C(N−1−j, f−j)/C(N−1, f) and the hockey-stick identity give
///     S_T = (N − (N − T)·ρ_T) / K,   ρ_T = Π_{j=0}^{T−1} (f − j)/(N − 1 − j) = C(f, T)/C(N−1, T),
/// and ρ_T = 0 once T > f, so T = N gives exactly N/K (Algorithm 1's weight).
#[inline]
pub fn maxrl_success_weight(n: usize, k: usize, t: usize) -> f64 {
    debug_assert!(k >= 1 && k <= n && t >= 1 && t <= n);
    let f = n - k;
    let nf = n as f64;
    if t > f {
        return nf / k as f64;
    }
    let mut rho = 1.0f64;
    for j in 0..t {
        rho *= (f - j) as f64 / (n - 1 - j) as f64;
        if rho == 0.0 {
            break;
        }
    }
    (nf - (n - t) as f64 * rho) / k as f64
}

/// Per-group constants: every estimator's advantage is affine in the rollout's own reward,
/// A_i = slope·r_i + intercept, so the output pass is one multiply-add per rollout.
#[derive(Clone, Copy, Default)]
struct Affine {
    slope: f64,
    intercept: f64,
}

/// Validate inputs and compute A_i for every rollout, aligned with the input.
pub fn advantages(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    cfg: &AdvantageConfig,
) -> Result<Vec<f64>> {
    let mut out = vec![0.0; rewards.len()];
    advantages_into(rewards, group_ids, mask, cfg, &mut out)?;
    Ok(out)
}

/// Split 0..len into the ranges a pass runs over. Each range fills its own per-group table, so ranges
/// pay off only when the input is much larger than the tables; their count depends on the sizes alone, not
/// on the thread count, so that floating-point sums (and results for real-valued rewards) are the same on
/// any number of threads.
fn ranges(len: usize, slots: usize) -> Vec<std::ops::Range<usize>> {
    const MAX_PARTS: usize = 8;
    let parts = if len >= parallel::PARALLEL_THRESHOLD {
        (len / (8 * slots)).clamp(1, MAX_PARTS)
    } else {
        1
    };
    let step = len.div_ceil(parts);
    (0..parts)
        .map(|p| p * step..((p + 1) * step).min(len))
        .filter(|r| !r.is_empty())
        .collect()
}

/// Run `f` over each range (in parallel when there are several) and merge the per-range tables in range
/// order, so the result is the same whatever the thread count.
fn accumulate<T: Send>(
    ranges: &[std::ops::Range<usize>],
    f: impl Fn(std::ops::Range<usize>) -> Result<T> + Sync,
    merge: impl Fn(&mut T, T),
) -> Result<T> {
    let parts: Vec<Result<T>> = if ranges.len() > 1 {
        parallel::install(|| ranges.par_iter().cloned().map(&f).collect())
    } else {
        ranges.iter().cloned().map(&f).collect()
    };
    let mut it = parts.into_iter();
    let mut acc = it.next().expect("at least one range")?;
    for p in it {
        merge(&mut acc, p?); // the first failing range holds the smallest bad index
    }
    Ok(acc)
}

/// Reject non-finite rewards (and non-binary ones for MaxRL) among unmasked rollouts, naming the first.
/// Returns whether every reward is 0 or 1. The common case (all valid, no mask) is a branch-free scan the
/// compiler vectorises; the index of a bad value is looked for only once one is known to exist.
fn validate(rewards: &[f64], group_ids: &[i64], mask: Option<&[bool]>, binary: bool) -> Result<bool> {
    let is01 = |r: f64| (r == 0.0) | (r == 1.0);
    let ok = |r: f64| r.is_finite() & (!binary | is01(r));
    if mask.is_none() {
        let (all_ok, all01) = rewards
            .iter()
            .fold((true, true), |(a, b), &r| (a & ok(r), b & is01(r)));
        if all_ok {
            return Ok(all01);
        }
    }
    let keep = |i: usize| mask.is_none_or(|m| m[i]);
    match (0..rewards.len()).find(|&i| keep(i) && !ok(rewards[i])) {
        None => Ok(rewards.iter().all(|&r| is01(r))),
        Some(index) if !rewards[index].is_finite() => Err(Error::NonFinite {
            index,
            value: rewards[index],
        }),
        Some(index) => Err(Error::NonBinary {
            index,
            value: rewards[index],
            group: group_ids[index],
        }),
    }
}

/// Call `f(i, slot)` for every unmasked rollout i in `range`. Specialised for the common layout (dense ids,
/// no mask) so that the hot loops carry no per-rollout branches besides the loop itself.
#[inline(always)]
fn for_each_slot(
    slots: &Slots,
    ids: &[i64],
    mask: Option<&[bool]>,
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, usize),
) {
    let start = range.start;
    match (slots, mask) {
        (Slots::Dense { lo, .. }, None) => {
            for (j, &id) in ids[range].iter().enumerate() {
                f(start + j, id.wrapping_sub(*lo) as usize);
            }
        }
        (Slots::Mapped { of, .. }, None) => {
            for (j, &s) in of[range].iter().enumerate() {
                f(start + j, s as usize);
            }
        }
        (_, Some(m)) => {
            for i in range.filter(|&i| m[i]) {
                f(i, slots.slot(i, ids[i]));
            }
        }
    }
}

/// As [`advantages`], writing into `out` (same length as `rewards`).
pub fn advantages_into(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    cfg: &AdvantageConfig,
    out: &mut [f64],
) -> Result<()> {
    if rewards.is_empty() {
        return Err(Error::Empty { what: "rewards" });
    }
    for (what, len) in [
        ("group_ids", group_ids.len()),
        ("out", out.len()),
        ("mask", mask.map_or(rewards.len(), |m| m.len())),
    ] {
        Error::check_aligned(what, len, "rewards", rewards.len())?;
    }
    if cfg.order == Some(0) {
        order(0)?;
    }
    if !(cfg.eps >= 0.0 && cfg.eps.is_finite()) {
        return Err(Error::InvalidArgument {
            name: "eps",
            reason: format!("{} (must be finite and >= 0)", cfg.eps),
        });
    }
    let slots = Slots::new(group_ids);
    let ns = slots.len();
    let parts = ranges(rewards.len(), ns);
    let binary = cfg.estimator == Estimator::MaxRL;

    let all01 = validate(rewards, group_ids, mask, binary)?;

    // Pass 1: count N and sum rewards per group (masked rollouts skipped, whatever their value).
    // One (count, sum) pair per slot: a single cache line touched per rollout.
    let table = accumulate(
        &parts,
        |range| {
            let mut t = vec![(0u32, 0.0f64); ns];
            for_each_slot(&slots, group_ids, mask, range, |i, slot| {
                let e = &mut t[slot];
                e.0 += 1;
                e.1 += rewards[i];
            });
            Ok(t)
        },
        |a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| {
                x.0 += y.0;
                x.1 += y.1;
            })
        },
    )?;
    let (n, sum): (Vec<u32>, Vec<f64>) = table.into_iter().unzip();

    // GRPO needs the spread. For 0/1 rewards Σ(r − r̄)² = K − K²/N exactly (r² = r); otherwise a second
    // pass around the mean stays exact where Σr² − (Σr)²/N would cancel.
    let sq = if cfg.estimator == Estimator::Grpo && all01 {
        sum.iter()
            .zip(&n)
            .map(|(&k, &c)| if c > 0 { k - k * k / c as f64 } else { 0.0 })
            .collect()
    } else if cfg.estimator == Estimator::Grpo {
        let mean: Vec<f64> = sum
            .iter()
            .zip(&n)
            .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect();
        accumulate(
            &parts,
            |range| {
                let mut sq = vec![0.0f64; ns];
                for_each_slot(&slots, group_ids, mask, range, |i, slot| {
                    let d = rewards[i] - mean[slot];
                    sq[slot] += d * d;
                });
                Ok(sq)
            },
            |a, b| a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
        )?
    } else {
        Vec::new()
    };

    let mut coef = vec![Affine::default(); ns];
    let mut bad_order: Option<Error> = None;
    for (slot, c) in coef.iter_mut().enumerate() {
        let nn = n[slot] as usize;
        if nn == 0 {
            continue;
        }
        let nf = nn as f64;
        let s = sum[slot];
        *c = match cfg.estimator {
            Estimator::Reinforce => Affine {
                slope: 1.0,
                intercept: 0.0,
            },
            // Groups of one have no baseline: docs/estimators.md gives them 0 (never r/ε).
            _ if nn == 1 && cfg.estimator != Estimator::MaxRL => Affine::default(),
            // r − (S − r)/(N − 1) = r·N/(N − 1) − S/(N − 1)
            Estimator::Rloo => Affine {
                slope: nf / (nf - 1.0),
                intercept: -s / (nf - 1.0),
            },
            Estimator::DrGrpo => Affine {
                slope: 1.0,
                intercept: -s / nf,
            },
            Estimator::Grpo => {
                let var = match cfg.std {
                    StdKind::Sample => sq[slot] / (nf - 1.0),
                    StdKind::Population => sq[slot] / nf,
                };
                let inv = 1.0 / (var.sqrt() + cfg.eps);
                if inv.is_finite() {
                    Affine {
                        slope: inv,
                        intercept: -s / nf * inv,
                    }
                } else {
                    // eps = 0 and no spread: every r equals the mean, the advantage is 0.
                    Affine::default()
                }
            }
            Estimator::MaxRL => {
                let t = cfg.order.unwrap_or(nn);
                if t > nn {
                    let group = slots.id(slot);
                    // Report the smallest offending id, whatever the slot layout.
                    if !matches!(bad_order, Some(Error::BadOrder { group: g, .. }) if g <= group) {
                        bad_order = Some(Error::BadOrder {
                            order: t,
                            group,
                            size: nn,
                        });
                    }
                    continue;
                }
                let k = (s + 0.5) as usize; // s is a count of 0/1 rewards
                if k == 0 {
                    // All-fail group: 0 drops it (the paper's practical estimator), −1 is Eq. 10 literally.
                    Affine {
                        slope: 0.0,
                        intercept: if cfg.drop_all_fail { 0.0 } else { -1.0 },
                    }
                } else {
                    // Successes c − 1 with c = S_T, failures −1: A = r·S_T − 1.
                    Affine {
                        slope: maxrl_success_weight(nn, k, t),
                        intercept: -1.0,
                    }
                }
            }
        };
    }
    if let Some(e) = bad_order {
        return Err(e);
    }

    let write = |start: usize, out: &mut [f64]| {
        if mask.is_some() {
            out.fill(0.0); // masked rollouts keep 0; the others are written below
        }
        let range = start..start + out.len();
        for_each_slot(&slots, group_ids, mask, range, |i, slot| {
            let c = coef[slot];
            out[i - start] = c.slope * rewards[i] + c.intercept;
        });
    };
    if rewards.len() >= parallel::PARALLEL_THRESHOLD {
        const BLOCK: usize = 1 << 14;
        parallel::install(|| {
            out.par_chunks_mut(BLOCK)
                .enumerate()
                .for_each(|(b, o)| write(b * BLOCK, o))
        });
    } else {
        write(0, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binom(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, j| acc * (n - j) as f64 / (j + 1) as f64)
    }

    #[test]
    fn closed_form_matches_series() {
        for n in 1..=40usize {
            for k in 1..=n {
                for t in 1..=n {
                    let series: f64 = (0..t)
                        .map(|j| binom((n - k) as u64, j as u64) / binom(n as u64 - 1, j as u64))
                        .sum();
                    let closed = maxrl_success_weight(n, k, t);
                    assert!(
                        (series - closed).abs() <= 1e-12 * series,
                        "n={n} k={k} t={t}: {series} vs {closed}"
                    );
                }
            }
        }
    }

    #[test]
    fn algorithm_one_for_full_order() {
        // successes N/K − 1, failures −1 (paper Algorithm 1).
        let r = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let ids = [3i64, 3, 3, 3, 9, 9, 9, 9];
        let a = advantages(&r, &ids, None, &AdvantageConfig::default()).unwrap();
        assert_eq!(a, vec![1.0, -1.0, -1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn singleton_groups_never_blow_up() {
        for est in Estimator::NAMES {
            let cfg = AdvantageConfig::new(est.parse().unwrap());
            let a = advantages(&[1.0, 0.0], &[1, 2], None, &cfg).unwrap();
            let want = if est == "reinforce" {
                vec![1.0, 0.0]
            } else {
                vec![0.0, 0.0]
            };
            assert_eq!(a, want, "{est}");
        }
    }

    #[test]
    fn errors_name_the_culprit() {
        let cfg = AdvantageConfig::default();
        let e = advantages(&[1.0, 0.5], &[0, 0], None, &cfg).unwrap_err();
        assert_eq!(
            e,
            Error::NonBinary {
                index: 1,
                value: 0.5,
                group: 0
            }
        );
        let e = advantages(
            &[1.0, f64::NAN],
            &[0, 0],
            None,
            &AdvantageConfig::new(Estimator::Grpo),
        )
        .unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }));
        let cfg = AdvantageConfig {
            order: Some(3),
            ..Default::default()
        };
        let e = advantages(&[1.0, 0.0, 1.0, 1.0, 0.0], &[5, 5, 6, 6, 6], None, &cfg).unwrap_err();
        assert_eq!(
            e,
            Error::BadOrder {
                order: 3,
                group: 5,
                size: 2
            }
        );
        assert!("ppo"
            .parse::<Estimator>()
            .unwrap_err()
            .to_string()
            .contains("maxrl"));
        assert!(matches!(
            advantages(&[], &[], None, &cfg),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn masked_rollouts_do_not_count() {
        let cfg = AdvantageConfig::default();
        let r = [1.0, 0.0, 7.0, 0.0];
        let a = advantages(&r, &[0, 0, 0, 0], Some(&[true, true, false, true]), &cfg).unwrap();
        assert_eq!(a, vec![2.0, -1.0, 0.0, -1.0]);
    }
}
