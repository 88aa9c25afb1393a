//! Per-rollout advantages A_i (SPEC §2). The policy-gradient estimate of a group is
//! ĝ = (1/N) Σ_i A_i ∇log π(y_i | x), with A_i broadcast to every response token.
//!
//! Every estimator here depends only on a rollout's own reward and its group's (N, Σr, Σ(r − r̄)²), so one
//! pass gathers group sums and a second writes A_i, in input order. Masked rollouts get 0 and are not counted.

use std::str::FromStr;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::groups::GroupIndex;
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
        AdvantageConfig { estimator: Estimator::MaxRL, order: None, drop_all_fail: true, eps: 1e-6, std: StdKind::Sample }
    }
}

impl AdvantageConfig {
    pub fn new(estimator: Estimator) -> Self {
        AdvantageConfig { estimator, ..Default::default() }
    }
}

/// Σ_{j=0}^{T−1} C(N−K, j)/C(N−1, j), the MaxRL success weight c_i/r_i of SPEC §2, for K ≥ 1.
///
/// Summing the series term by term loses accuracy for N in the millions, so use its closed form: with
/// f = N − K, C(f, j)/C(N−1, j) = C(N−1−j, f−j)/C(N−1, f) and the hockey-stick identity give
///     S_T = (N − (N − T)·ρ_T) / K,   ρ_T = Π_{j=0}^{T−1} (f − j)/(N − 1 − j) = C(f, T)/C(N−1, T),
/// and ρ_T = 0 once T > f, so T = N gives exactly N/K (Algorithm 1's weight).
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

/// Per-group constants: a rollout's advantage is `a * r + b`, or `scale * (r − mean)` style forms folded
/// into (slope, intercept) so that the second pass is a fused multiply-add.
#[derive(Clone, Copy, Default)]
struct Affine {
    slope: f64,
    intercept: f64,
}

/// Validate inputs and compute A_i for every rollout, aligned with the input.
pub fn advantages(rewards: &[f64], group_ids: &[i64], mask: Option<&[bool]>, cfg: &AdvantageConfig) -> Result<Vec<f64>> {
    let mut out = vec![0.0; rewards.len()];
    advantages_into(rewards, group_ids, mask, cfg, &mut out)?;
    Ok(out)
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
    if group_ids.len() != rewards.len() {
        return Err(Error::LengthMismatch { what: "group_ids", expected: rewards.len(), got: group_ids.len() });
    }
    if out.len() != rewards.len() {
        return Err(Error::LengthMismatch { what: "out", expected: rewards.len(), got: out.len() });
    }
    if let Some(m) = mask {
        if m.len() != rewards.len() {
            return Err(Error::LengthMismatch { what: "mask", expected: rewards.len(), got: m.len() });
        }
    }
    if cfg.order == Some(0) {
        return Err(Error::BadOrder { order: 0, group: group_ids[0], size: 0 });
    }
    if !(cfg.eps >= 0.0 && cfg.eps.is_finite()) {
        return Err(Error::InvalidArgument { name: "eps", reason: format!("{} (must be finite and >= 0)", cfg.eps) });
    }
    let keep = |i: usize| mask.is_none_or(|m| m[i]);
    let g = GroupIndex::new(group_ids, mask)?;

    // Pass 1: validate and sum rewards per group (masked rollouts skipped, whatever their value).
    let mut sum = vec![0.0f64; g.num_groups()];
    for (i, (&r, &gi)) in rewards.iter().zip(&g.of).enumerate() {
        if !keep(i) {
            continue;
        }
        if !r.is_finite() {
            return Err(Error::NonFinite { index: i, value: r });
        }
        if cfg.estimator == Estimator::MaxRL && r != 0.0 && r != 1.0 {
            return Err(Error::NonBinary { index: i, value: r, group: group_ids[i] });
        }
        sum[gi as usize] += r;
    }
    // GRPO needs the spread; a second pass around the mean is exact for real-valued rewards too.
    let mut sq = Vec::new();
    if cfg.estimator == Estimator::Grpo {
        sq = vec![0.0f64; g.num_groups()];
        for (i, (&r, &gi)) in rewards.iter().zip(&g.of).enumerate() {
            if keep(i) {
                let gi = gi as usize;
                let d = r - sum[gi] / g.n[gi] as f64;
                sq[gi] += d * d;
            }
        }
    }

    let mut coef = vec![Affine::default(); g.num_groups()];
    for (gi, c) in coef.iter_mut().enumerate() {
        let n = g.n[gi] as usize;
        if n == 0 {
            continue;
        }
        let nf = n as f64;
        let s = sum[gi];
        *c = match cfg.estimator {
            Estimator::Reinforce => Affine { slope: 1.0, intercept: 0.0 },
            // Groups of one have no baseline: SPEC §2 gives them 0 (never r/ε).
            _ if n == 1 && cfg.estimator != Estimator::MaxRL => Affine::default(),
            // r − (S − r)/(N − 1) = r·N/(N − 1) − S/(N − 1)
            Estimator::Rloo => Affine { slope: nf / (nf - 1.0), intercept: -s / (nf - 1.0) },
            Estimator::DrGrpo => Affine { slope: 1.0, intercept: -s / nf },
            Estimator::Grpo => {
                let var = match cfg.std {
                    StdKind::Sample => sq[gi] / (nf - 1.0),
                    StdKind::Population => sq[gi] / nf,
                };
                let inv = 1.0 / (var.sqrt() + cfg.eps);
                if inv.is_finite() {
                    Affine { slope: inv, intercept: -s / nf * inv }
                } else {
                    // eps = 0 and no spread: every r equals the mean, the advantage is 0.
                    Affine::default()
                }
            }
            Estimator::MaxRL => {
                let t = cfg.order.unwrap_or(n);
                if t > n {
                    return Err(Error::BadOrder { order: t, group: g.ids[gi], size: n });
                }
                let k = s.round() as usize;
                if k == 0 {
                    // All-fail group: 0 drops it (the paper's practical estimator), −1 is Eq. 10 literally.
                    Affine { slope: 0.0, intercept: if cfg.drop_all_fail { 0.0 } else { -1.0 } }
                } else {
                    // successes c − 1 with c = S_T, failures −1: A = r·S_T − 1.
                    Affine { slope: maxrl_success_weight(n, k, t), intercept: -1.0 }
                }
            }
        };
    }

    let write = |(i, (o, (&r, &gi))): (usize, (&mut f64, (&f64, &u32)))| {
        *o = if keep(i) {
            let c = coef[gi as usize];
            c.slope * r + c.intercept
        } else {
            0.0
        };
    };
    if rewards.len() >= parallel::PARALLEL_THRESHOLD {
        parallel::install(|| {
            out.par_iter_mut().zip(rewards.par_iter().zip(g.of.par_iter())).enumerate().for_each(write)
        });
    } else {
        out.iter_mut().zip(rewards.iter().zip(g.of.iter())).enumerate().for_each(write);
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
                    let series: f64 =
                        (0..t).map(|j| binom((n - k) as u64, j as u64) / binom(n as u64 - 1, j as u64)).sum();
                    let closed = maxrl_success_weight(n, k, t);
                    assert!((series - closed).abs() <= 1e-12 * series, "n={n} k={k} t={t}: {series} vs {closed}");
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
            let want = if est == "reinforce" { vec![1.0, 0.0] } else { vec![0.0, 0.0] };
            assert_eq!(a, want, "{est}");
        }
    }

    #[test]
    fn errors_name_the_culprit() {
        let cfg = AdvantageConfig::default();
        let e = advantages(&[1.0, 0.5], &[0, 0], None, &cfg).unwrap_err();
        assert_eq!(e, Error::NonBinary { index: 1, value: 0.5, group: 0 });
        let e = advantages(&[1.0, f64::NAN], &[0, 0], None, &AdvantageConfig::new(Estimator::Grpo)).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }));
        let cfg = AdvantageConfig { order: Some(3), ..Default::default() };
        let e = advantages(&[1.0, 0.0, 1.0, 1.0, 0.0], &[5, 5, 6, 6, 6], None, &cfg).unwrap_err();
        assert_eq!(e, Error::BadOrder { order: 3, group: 5, size: 2 });
        assert!("ppo".parse::<Estimator>().unwrap_err().to_string().contains("maxrl"));
        assert!(matches!(advantages(&[], &[], None, &cfg), Err(Error::Empty { .. })));
    }

    #[test]
    fn masked_rollouts_do_not_count() {
        let cfg = AdvantageConfig::default();
        let r = [1.0, 0.0, 7.0, 0.0];
        let a = advantages(&r, &[0, 0, 0, 0], Some(&[true, true, false, true]), &cfg).unwrap();
        assert_eq!(a, vec![2.0, -1.0, 0.0, -1.0]);
    }
}
