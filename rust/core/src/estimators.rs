//! Per-rollout advantages A_i (docs/estimators.md). The policy-gradient estimate of a group is
//! ĝ = (1/N) Σ_i A_i ∇log π(y_i | x), with A_i broadcast to every response token.
//!
//! Every estimator here depends only on a rollout's own reward and its group's (N, Σr, Σ(r − r̄)²), so one
//! pass gathers group sums and a second writes A_i, in input order. Masked rollouts get 0 and are not counted.

use std::str::FromStr;

use rayon::prelude::*;

use crate::dense_counts::{self, DenseCounts, ONE};
use crate::error::{py_repr, Error, Result};
use crate::groups::{Runs, Slots};
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

    /// The canonical name, one of [`Estimator::NAMES`]; `from_str` reads it back.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Reinforce => "reinforce",
            Estimator::Rloo => "rloo",
            Estimator::Grpo => "grpo",
            Estimator::DrGrpo => "dr_grpo",
            Estimator::MaxRL => "maxrl",
        }
    }
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
                reason: format!("{}; expected 'sample' or 'population'", py_repr(s)),
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
    let parts: Vec<Result<T>> = if ranges.len() > 1 && parallel::num_threads() > 1 {
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
/// Returns whether every reward is 0 or 1 (masked ones included). The common case (all valid, no mask) is a
/// branch-free scan the compiler vectorises; the index of a bad value is looked for only once one is known
/// to exist.
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

/// Call `f(i, slot, r_i)` for every unmasked rollout i in `range`. Specialised for the common layout (dense
/// ids, no mask) so that the hot loops carry no per-rollout branches or bounds checks besides the table's.
#[inline(always)]
fn for_each_slot(
    slots: &Slots,
    ids: &[i64],
    rewards: &[f64],
    mask: Option<&[bool]>,
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, usize, f64),
) {
    let start = range.start;
    let r = &rewards[range.clone()];
    match (slots, mask) {
        (Slots::Dense { lo, .. }, None) => {
            for (j, (&id, &r)) in ids[range].iter().zip(r).enumerate() {
                f(start + j, id.wrapping_sub(*lo) as usize, r);
            }
        }
        (Slots::Mapped { of, .. }, None) => {
            for (j, (&s, &r)) in of[range].iter().zip(r).enumerate() {
                f(start + j, s as usize, r);
            }
        }
        (_, Some(m)) => {
            for i in range.filter(|&i| m[i]) {
                f(i, slots.slot(i, ids[i]), rewards[i]);
            }
        }
    }
}

/// As [`advantages`], writing into `out` (same length as `rewards`).
///
/// Three paths, with the same results bit for bit. Without a mask and with 0/1 rewards, groups in runs of
/// consecutive rollouts (how trainers hand batches over) are read run by run, with no per-rollout table
/// lookups, and scattered groups with ids in a small range are counted in one pass into a table indexed by
/// id (`dense_counts`). Any other batch is validated, then counted per group.
pub fn advantages_into(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    cfg: &AdvantageConfig,
    out: &mut [f64],
) -> Result<()> {
    check_arguments(rewards, group_ids, mask, cfg, out.len())?;
    if mask.is_none() {
        if let Some(b) = binary_runs(rewards, group_ids) {
            let slot = |j: usize| b.slot[j] as usize;
            if let Some(by_k) = BySuccesses::new(cfg, &b.counts) {
                write_runs(&b.runs, |j| by_k.coef[by_k.k[slot(j)] as usize], rewards, out);
            } else {
                let coef = coefficients(cfg, &Totals::from_packed(&b.counts), |s| b.slots.id(s))?;
                write_runs(&b.runs, |j| coef[slot(j)], rewards, out);
            }
            return Ok(());
        }
        if let Some((slots, counts)) = binary_scattered(rewards, group_ids) {
            if let Some(by_k) = BySuccesses::new(cfg, &counts) {
                by_k.write(&slots, rewards, group_ids, out);
                return Ok(());
            }
            let coef = coefficients(cfg, &Totals::from_packed(&counts), |slot| slots.id(slot))?;
            write_by_slot(&slots, &coef, rewards, group_ids, None, out);
            return Ok(());
        }
    }
    let slots = Slots::new(group_ids);
    let parts = ranges(rewards.len(), slots.len());
    let all01 = validate(rewards, group_ids, mask, cfg.estimator == Estimator::MaxRL)?;
    let spread = cfg.estimator == Estimator::Grpo;
    let totals = group_totals(rewards, group_ids, mask, &slots, &parts, spread, all01)?;
    let coef = coefficients(cfg, &totals, |slot| slots.id(slot))?;
    write_by_slot(&slots, &coef, rewards, group_ids, mask, out);
    Ok(())
}

/// Lengths, and the arguments that do not depend on the data.
fn check_arguments(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    cfg: &AdvantageConfig,
    out: usize,
) -> Result<()> {
    if rewards.is_empty() {
        return Err(Error::Empty { what: "rewards" });
    }
    for (what, len) in [
        ("group_ids", group_ids.len()),
        ("out", out),
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
    Ok(())
}

/// Per-group totals over unmasked rollouts, indexed by slot: N, Σr, and Σ(r − r̄)² (GRPO only, else empty).
struct Totals {
    n: Vec<u32>,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Totals {
    /// Totals of 0/1 rewards from counts packed `N << 32 | K` per slot.
    fn from_packed(table: &[u64]) -> Self {
        let mut totals = Totals {
            n: table.iter().map(|&t| (t >> 32) as u32).collect(),
            sum: table.iter().map(|&t| (t & (ONE - 1)) as f64).collect(),
            sq: Vec::new(),
        };
        totals.binary_spread();
        totals
    }

    /// For 0/1 rewards Σ(r − r̄)² = K − K²/N exactly (r² = r).
    fn binary_spread(&mut self) {
        self.sq = self
            .sum
            .iter()
            .zip(&self.n)
            .map(|(&k, &c)| if c > 0 { k - k * k / c as f64 } else { 0.0 })
            .collect();
    }
}

/// Groups in runs, their slots and counts: the fast layout.
struct BinaryRuns {
    runs: Runs,
    /// Slots of the run ids (so of the groups).
    slots: Slots,
    /// Slot of each run.
    slot: Vec<u32>,
    /// Counts `N << 32 | K` per slot.
    counts: Vec<u64>,
}

/// The batch as runs of one group each, with counts, when it comes that way (long enough runs on
/// average) and every reward is 0 or 1; None otherwise, or on any bad value (the general path then
/// reports it). Σr of 0/1 rewards is an exact count, so it does not depend on the order of summation,
/// and a group split over several runs gets the same totals as in the general path.
fn binary_runs(rewards: &[f64], group_ids: &[i64]) -> Option<BinaryRuns> {
    const BAD: u64 = 1 << 63;
    let runs = Runs::find(group_ids)?;
    // Each run's `N << 32 | K`, with the top bit set when a reward in it is not 0 or 1.
    let per_run = runs.map_runs(|range| {
        let n = range.len() as u64;
        let (ones, bad) = rewards[range].iter().fold((0u64, 0u64), |(ones, bad), &r| {
            let (k, invalid) = dense_counts::success_bit(r);
            (ones + k, bad | invalid)
        });
        (n << 32) | ones | if bad == 0 { 0 } else { BAD }
    });
    if per_run.iter().any(|&c| c & BAD != 0) {
        return None;
    }
    let slots = Slots::new(&runs.ids);
    let slot: Vec<u32> = (0..runs.ids.len())
        .map(|j| slots.slot(j, runs.ids[j]) as u32)
        .collect();
    let mut counts = vec![0u64; slots.len()];
    for (&s, &c) in slot.iter().zip(&per_run) {
        counts[s as usize] += c;
    }
    Some(BinaryRuns {
        runs,
        slots,
        slot,
        counts,
    })
}

/// Count N and sum rewards per group (masked rollouts skipped, whatever their value); for GRPO also the
/// spread around the mean. One (count, sum) pair per slot: a single cache line touched per rollout.
fn group_totals(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    slots: &Slots,
    parts: &[std::ops::Range<usize>],
    spread: bool,
    all01: bool,
) -> Result<Totals> {
    let ns = slots.len();
    if all01 {
        return Ok(binary_totals(rewards, group_ids, mask, slots, parts));
    }
    let table = accumulate(
        parts,
        |range| {
            let mut t = vec![(0u32, 0.0f64); ns];
            for_each_slot(slots, group_ids, rewards, mask, range, |_, slot, r| {
                let e = &mut t[slot];
                e.0 += 1;
                e.1 += r;
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
    let mut totals = Totals {
        n,
        sum,
        sq: Vec::new(),
    };
    if spread && all01 {
        totals.binary_spread();
    } else if spread {
        // Real rewards: a second pass around the mean stays exact where Σr² − (Σr)²/N would cancel.
        let mean: Vec<f64> = totals
            .sum
            .iter()
            .zip(&totals.n)
            .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect();
        totals.sq = accumulate(
            parts,
            |range| {
                let mut sq = vec![0.0f64; ns];
                for_each_slot(slots, group_ids, rewards, mask, range, |_, slot, r| {
                    let d = r - mean[slot];
                    sq[slot] += d * d;
                });
                Ok(sq)
            },
            |a, b| a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
        )?;
    }
    Ok(totals)
}

/// Totals of 0/1 rewards: N and K of a slot packed in one u64 (N in the high half, K in the low), so one
/// add per rollout touches half the memory of an (N, Σr) pair. K is an exact count, so Σr = K as f64 is
/// the same whatever the order of summation; Σ(r − r̄)² = K − K²/N.
fn binary_totals(
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    slots: &Slots,
    parts: &[std::ops::Range<usize>],
) -> Totals {
    let table = accumulate(
        parts,
        |range| {
            let mut t = vec![0u64; slots.len()];
            for_each_slot(slots, group_ids, rewards, mask, range, |_, slot, r| {
                t[slot] += ONE | (r == 1.0) as u64;
            });
            Ok(t)
        },
        |a, b| a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
    )
    .expect("counting cannot fail");
    Totals::from_packed(&table)
}

/// The batch's slots and packed counts `N << 32 | K` per slot when its ids span a small range and every
/// reward is 0 or 1, counted in one pass (`dense_counts`), in parallel ranges for large batches; None
/// otherwise (the general path then validates and reports any bad value).
fn binary_scattered(rewards: &[f64], group_ids: &[i64]) -> Option<(Slots, Vec<u64>)> {
    let len = group_ids.len();
    let limit = Slots::dense_limit(len);
    let guess = dense_counts::probe_span(group_ids).filter(|&s| s <= limit)?;
    let count = |range| DenseCounts::count(group_ids, rewards, range, limit);
    // Counts are exact whatever the split, so the batch is split only to use more threads (each range
    // fills its own table, worth it only when the batch is much larger than the table).
    let parts = if parallel::use_pool(len) {
        (len / (8 * guess.max(1))).clamp(1, parallel::num_threads())
    } else {
        1
    };
    let counted = if parts > 1 {
        let step = len.div_ceil(parts);
        parallel::install(|| {
            (0..parts)
                .into_par_iter()
                .map(|p| count(p * step..((p + 1) * step).min(len)))
                .collect::<Option<Vec<_>>>()
        })?
    } else {
        vec![count(0..len)?]
    };
    Some(DenseCounts::merge(counted))
}

/// Coefficients of 0/1-reward groups that all have one size N < 2^16 (a batch without a mask whose
/// prompts got the same number of rollouts): they depend on the success count K alone, so there are at
/// most N + 1 of them, and the output pass looks up two bytes per rollout's group instead of 16.
struct BySuccesses {
    /// K of each slot.
    k: Vec<u16>,
    /// Coefficients by K.
    coef: Vec<Affine>,
}

impl BySuccesses {
    /// None when group sizes differ or reach 2^16, or a coefficient is refused (the per-slot path then
    /// reports the smallest offending group id).
    fn new(cfg: &AdvantageConfig, counts: &[u64]) -> Option<Self> {
        let sizes = counts.iter().map(|&t| t >> 32).filter(|&n| n > 0);
        let n = sizes.clone().next()?;
        if n > u16::MAX as u64 || sizes.into_iter().any(|m| m != n) {
            return None;
        }
        let by_k: Vec<u64> = (0..=n).map(|k| (n << 32) | k).collect();
        let coef = coefficients(cfg, &Totals::from_packed(&by_k), |_| 0).ok()?;
        let k = counts.iter().map(|&t| (t & (ONE - 1)) as u16).collect();
        Some(BySuccesses { k, coef })
    }

    /// A_i = slope·r_i + intercept with the coefficients of rollout i's group (dense slots, no mask).
    fn write(&self, slots: &Slots, rewards: &[f64], group_ids: &[i64], out: &mut [f64]) {
        let Slots::Dense { lo, .. } = *slots else {
            unreachable!("counted in a dense table")
        };
        write_blocks(out, |start, out| {
            let range = start..start + out.len();
            for ((o, &r), &id) in out.iter_mut().zip(&rewards[range.clone()]).zip(&group_ids[range]) {
                let c = self.coef[self.k[id.wrapping_sub(lo) as usize] as usize];
                *o = c.slope * r + c.intercept;
            }
        });
    }
}

/// The affine coefficients of every slot from its totals (docs/estimators.md); `id` names a slot's group
/// in errors.
fn coefficients(cfg: &AdvantageConfig, totals: &Totals, id: impl Fn(usize) -> i64) -> Result<Vec<Affine>> {
    let mut coef = vec![Affine::default(); totals.n.len()];
    let mut bad_order: Option<Error> = None;
    for (slot, c) in coef.iter_mut().enumerate() {
        let nn = totals.n[slot] as usize;
        if nn == 0 {
            continue;
        }
        let s = totals.sum[slot];
        *c = match cfg.estimator {
            Estimator::MaxRL => match maxrl_affine(cfg, nn, s) {
                Some(a) => a,
                None => {
                    let group = id(slot);
                    // Report the smallest offending id, whatever the slot layout.
                    if !matches!(bad_order, Some(Error::BadOrder { group: g, .. }) if g <= group) {
                        bad_order = Some(Error::BadOrder {
                            order: cfg.order.unwrap_or(nn),
                            group,
                            size: nn,
                        });
                    }
                    continue;
                }
            },
            _ => baseline_affine(cfg, nn, s, totals.sq.get(slot).copied()),
        };
    }
    match bad_order {
        Some(e) => Err(e),
        None => Ok(coef),
    }
}

/// REINFORCE, RLOO, Dr. GRPO and GRPO for a group of `nn` rollouts with reward sum `s` (and, for GRPO, the
/// spread `sq` = Σ(r − r̄)²).
fn baseline_affine(cfg: &AdvantageConfig, nn: usize, s: f64, sq: Option<f64>) -> Affine {
    let nf = nn as f64;
    match cfg.estimator {
        Estimator::Reinforce => Affine {
            slope: 1.0,
            intercept: 0.0,
        },
        // Groups of one have no baseline: docs/estimators.md gives them 0 (never r/ε).
        _ if nn == 1 => Affine::default(),
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
            let sq = sq.expect("GRPO totals carry the spread");
            let var = match cfg.std {
                StdKind::Sample => sq / (nf - 1.0),
                StdKind::Population => sq / nf,
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
        Estimator::MaxRL => unreachable!("MaxRL has its own coefficients"),
    }
}

/// MaxRL of order T for a group of `nn` rollouts, `s` of them successes; None when T > N.
fn maxrl_affine(cfg: &AdvantageConfig, nn: usize, s: f64) -> Option<Affine> {
    let t = cfg.order.unwrap_or(nn);
    if t > nn {
        return None;
    }
    let k = (s + 0.5) as usize; // s is a count of 0/1 rewards
    Some(if k == 0 {
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
    })
}

/// Rollouts per block of the output pass (each block written by one task).
const BLOCK: usize = 1 << 14;

/// Call `write(start, block)` for consecutive blocks of `out`, in parallel for large outputs.
fn write_blocks(out: &mut [f64], write: impl Fn(usize, &mut [f64]) + Sync) {
    if parallel::use_pool(out.len()) {
        parallel::install(|| {
            out.par_chunks_mut(BLOCK)
                .enumerate()
                .for_each(|(b, o)| write(b * BLOCK, o))
        });
    } else {
        write(0, out);
    }
}

/// A_i = slope·r_i + intercept with the coefficients of each rollout's slot; masked rollouts get 0.
fn write_by_slot(
    slots: &Slots,
    coef: &[Affine],
    rewards: &[f64],
    group_ids: &[i64],
    mask: Option<&[bool]>,
    out: &mut [f64],
) {
    write_blocks(out, |start, out| {
        let range = start..start + out.len();
        if let (Slots::Dense { lo, .. }, None) = (slots, mask) {
            // The common layout, zipped so that only the table lookup is bounds-checked.
            let ids = &group_ids[range.clone()];
            for ((o, &r), &id) in out.iter_mut().zip(&rewards[range]).zip(ids) {
                let c = coef[id.wrapping_sub(*lo) as usize];
                *o = c.slope * r + c.intercept;
            }
            return;
        }
        if mask.is_some() {
            out.fill(0.0); // masked rollouts keep 0; the others are written below
        }
        for_each_slot(slots, group_ids, rewards, mask, range, |i, slot, r| {
            let c = coef[slot];
            out[i - start] = c.slope * r + c.intercept;
        });
    });
}

/// A_i = slope·r_i + intercept with the coefficients `coef(j)` of run j, run by run.
fn write_runs(runs: &Runs, coef: impl Fn(usize) -> Affine + Sync, rewards: &[f64], out: &mut [f64]) {
    let count = runs.ids.len();
    write_blocks(out, |start, out| {
        let end = start + out.len();
        let mut j = runs.run_of(start);
        while j < count && runs.start(j) < end {
            let (lo, hi) = (runs.start(j).max(start), runs.start(j + 1).min(end));
            let c = coef(j);
            for (o, &r) in out[lo - start..hi - start].iter_mut().zip(&rewards[lo..hi]) {
                *o = c.slope * r + c.intercept;
            }
            j += 1;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_spellings_are_read() {
        for name in Estimator::NAMES {
            assert_eq!(name.parse::<Estimator>().unwrap().name(), name);
        }
        for (spelling, name) in [("MaxRL", "maxrl"), ("Dr-GRPO", "dr_grpo"), ("drgrpo", "dr_grpo")] {
            assert_eq!(spelling.parse::<Estimator>().unwrap().name(), name);
        }
        assert!("ppo".parse::<Estimator>().is_err());
    }

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

    /// A batch without a mask (the fast paths) gives the same bits as the general path, which an all-true
    /// mask forces, for every estimator: equal and unequal run lengths, a group split over several runs,
    /// runs crossing the parallel blocks, the same batches shuffled, ids leaving the range of the first
    /// ones, and ids too wide for a lookup table.
    #[test]
    fn runs_and_general_path_agree_bit_for_bit() {
        let mut rnd = crate::test_rng(7);
        let mut layouts: Vec<Vec<i64>> = Vec::new();
        for (groups, size) in [
            (1, 1),
            (3, 2),
            (5, 16),
            (7, 5),
            (2500, 16),
            (40_000, 3),
            (4_000, 37),
        ] {
            layouts.push((0..groups * size).map(|i| (i / size) as i64 * 3 - 50).collect());
        }
        // Unequal runs, and group 0 again at the end (a group split over two runs).
        let mut uneven: Vec<i64> = (0..60_000).map(|_| 0).collect();
        let mut g = 0;
        let mut i = 0;
        while i < uneven.len() - 8 {
            let len = 1 + rnd(40) as usize;
            for u in uneven.iter_mut().skip(i).take(len) {
                *u = g;
            }
            g += 1;
            i += len;
        }
        layouts.push(uneven);
        // The same batches shuffled (the scattered paths: one group size, or several).
        for k in 0..layouts.len() {
            let mut ids = layouts[k].clone();
            for i in (1..ids.len()).rev() {
                ids.swap(i, rnd(i as u64 + 1) as usize);
            }
            layouts.push(ids);
        }
        // Scattered ids that leave the range of the first ones, on both sides (the dense table grows), and
        // ids too wide for a dense table.
        let mut growing: Vec<i64> = (0..50_000).map(|i| (i % 997) as i64).collect();
        growing.extend((0..50_000).map(|i| (i % 5_003) as i64 * 13 - 20_000));
        layouts.push(growing);
        layouts.push((0..20_000).map(|i| (i % 101) as i64 * 1_000_000_007).collect());
        for ids in &layouts {
            let r: Vec<f64> = ids.iter().map(|_| rnd(2) as f64).collect();
            let all = vec![true; r.len()];
            for est in Estimator::NAMES {
                for order in [None, Some(1)] {
                    let cfg = AdvantageConfig {
                        order,
                        ..AdvantageConfig::new(est.parse().unwrap())
                    };
                    let fast = advantages(&r, ids, None, &cfg).unwrap();
                    let general = advantages(&r, ids, Some(&all), &cfg).unwrap();
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&fast), bits(&general), "{est} {order:?} n={}", ids.len());
                }
            }
        }
    }

    #[test]
    fn runs_report_the_same_errors() {
        let ids: Vec<i64> = (0..64).map(|i| i / 16).collect();
        let mut r = vec![1.0; 64];
        r[37] = 0.5;
        let e = advantages(&r, &ids, None, &AdvantageConfig::default()).unwrap_err();
        assert_eq!(
            e,
            Error::NonBinary {
                index: 37,
                value: 0.5,
                group: 2
            }
        );
        r[37] = f64::INFINITY;
        let e = advantages(&r, &ids, None, &AdvantageConfig::new(Estimator::Grpo)).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 37, .. }));
        // Real-valued rewards in runs take the general path: the same sums in the same order.
        r[37] = 0.25;
        let all = vec![true; 64];
        let cfg = AdvantageConfig::new(Estimator::Grpo);
        assert_eq!(
            advantages(&r, &ids, None, &cfg).unwrap(),
            advantages(&r, &ids, Some(&all), &cfg).unwrap()
        );
        let cfg = AdvantageConfig {
            order: Some(17),
            ..Default::default()
        };
        let e = advantages(&vec![1.0; 64], &ids, None, &cfg).unwrap_err();
        assert_eq!(
            e,
            Error::BadOrder {
                order: 17,
                group: 0,
                size: 16
            }
        );
    }

    #[test]
    fn scattered_batches_report_the_same_errors() {
        // Groups of 4 with ids 10, 17, 24, ... interleaved: no runs, one group size.
        let ids: Vec<i64> = (0..40_000).map(|i| (i % 10_000) * 7 + 10).collect();
        let mut r: Vec<f64> = (0..40_000).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let cfg = AdvantageConfig {
            order: Some(5),
            ..Default::default()
        };
        let e = advantages(&r, &ids, None, &cfg).unwrap_err();
        assert_eq!(
            e,
            Error::BadOrder {
                order: 5,
                group: 10,
                size: 4
            }
        );
        r[30_001] = 0.5;
        let e = advantages(&r, &ids, None, &AdvantageConfig::default()).unwrap_err();
        assert_eq!(
            e,
            Error::NonBinary {
                index: 30_001,
                value: 0.5,
                group: 7 + 10
            }
        );
        // −0.0 equals 0 (the general path takes it); the bits match those of 0.0 through a mask.
        r[30_001] = -0.0;
        let all = vec![true; r.len()];
        for est in Estimator::NAMES {
            let cfg = AdvantageConfig::new(est.parse().unwrap());
            let a = advantages(&r, &ids, None, &cfg).unwrap();
            let b = advantages(&r, &ids, Some(&all), &cfg).unwrap();
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{est}");
        }
    }

    #[test]
    fn masked_rollouts_do_not_count() {
        let cfg = AdvantageConfig::default();
        let r = [1.0, 0.0, 7.0, 0.0];
        let a = advantages(&r, &[0, 0, 0, 0], Some(&[true, true, false, true]), &cfg).unwrap();
        assert_eq!(a, vec![2.0, -1.0, 0.0, -1.0]);
    }
}
