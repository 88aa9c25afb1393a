//! Rollouts grouped by prompt id.
//!
//! Group ids may come in any order and groups need not be contiguous: grouping is by value, never by
//! position, so reordering a batch cannot change any result. Ids get dense indices in ascending id order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{Error, Result};

/// Dense group index of every rollout, and the unmasked size of each group.
#[derive(Debug, Clone)]
pub struct GroupIndex {
    /// Distinct group ids, ascending.
    pub ids: Vec<i64>,
    /// For rollout i, the position of its id in `ids`.
    pub of: Vec<u32>,
    /// Unmasked rollouts per group (N in docs/estimators.md).
    pub n: Vec<u32>,
}

/// A multiplicative hash for i64 keys (FxHash); std's SipHash is several times slower here.
#[derive(Default)]
struct FxHasher(u64);
impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl GroupIndex {
    /// Group `ids` (one per rollout); `mask[i] == false` excludes rollout i from the sizes.
    pub fn new(ids: &[i64], mask: Option<&[bool]>) -> Result<Self> {
        if ids.is_empty() {
            return Err(Error::Empty { what: "group_ids" });
        }
        if ids.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument {
                name: "group_ids",
                reason: "more than 2^32 rollouts".into(),
            });
        }
        if let Some(m) = mask {
            Error::check_aligned("mask", m.len(), "group_ids", ids.len())?;
        }
        let (lo, hi) = ids
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let span = (hi as i128 - lo as i128 + 1) as u128;
        let (ids_sorted, of) = if span <= Slots::dense_limit(ids.len()) as u128 {
            Self::dense(ids, lo, span as usize)
        } else {
            Self::hashed(ids)
        };
        let mut n = vec![0u32; ids_sorted.len()];
        match mask {
            None => of.iter().for_each(|&g| n[g as usize] += 1),
            Some(m) => of
                .iter()
                .zip(m)
                .filter(|(_, &keep)| keep)
                .for_each(|(&g, _)| n[g as usize] += 1),
        }
        Ok(GroupIndex {
            ids: ids_sorted,
            of,
            n,
        })
    }

    /// Ids span a small range: a lookup table indexed by id - lo.
    fn dense(ids: &[i64], lo: i64, span: usize) -> (Vec<i64>, Vec<u32>) {
        let mut slot = vec![u32::MAX; span];
        for &x in ids {
            slot[(x - lo) as usize] = 0;
        }
        let mut uniq = Vec::new();
        for (off, s) in slot.iter_mut().enumerate() {
            if *s == 0 {
                *s = uniq.len() as u32;
                uniq.push(lo + off as i64);
            }
        }
        let of = ids.iter().map(|&x| slot[(x - lo) as usize]).collect();
        (uniq, of)
    }

    /// Ids spread wide (hashes, uuids folded to ints): a hash map, then renumbered in ascending id order.
    fn hashed(ids: &[i64]) -> (Vec<i64>, Vec<u32>) {
        let mut map: HashMap<i64, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
        let mut first: Vec<i64> = Vec::new();
        let mut of: Vec<u32> = ids
            .iter()
            .map(|&x| {
                *map.entry(x).or_insert_with(|| {
                    first.push(x);
                    (first.len() - 1) as u32
                })
            })
            .collect();
        let mut order: Vec<u32> = (0..first.len() as u32).collect();
        order.sort_unstable_by_key(|&g| first[g as usize]);
        let mut rank = vec![0u32; first.len()];
        for (r, &g) in order.iter().enumerate() {
            rank[g as usize] = r as u32;
        }
        of.iter_mut().for_each(|g| *g = rank[*g as usize]);
        let uniq = order.iter().map(|&g| first[g as usize]).collect();
        (uniq, of)
    }

    pub fn num_groups(&self) -> usize {
        self.ids.len()
    }
}

/// Where each rollout's group accumulates, without sorting ids: a lookup by `id − lo` when ids span a
/// small range (prompt indices, the usual case), a hash map otherwise. The estimators use this; only
/// [`GroupIndex`] pays for ascending renumbering.
pub(crate) enum Slots {
    Dense { lo: i64, span: usize },
    Mapped { of: Vec<u32>, ids: Vec<i64> },
}

impl Slots {
    /// `ids` must be non-empty.
    pub(crate) fn new(ids: &[i64]) -> Self {
        // Four independent (min, max) pairs: i64 min/max has no SIMD form on baseline x86-64, so the
        // speed comes from not chaining every element through one pair.
        let minmax = |c: &[i64]| {
            let (mut lo, mut hi) = ([i64::MAX; 4], [i64::MIN; 4]);
            let quads = c.chunks_exact(4);
            for &x in quads.remainder() {
                lo[0] = lo[0].min(x);
                hi[0] = hi[0].max(x);
            }
            for q in quads {
                for k in 0..4 {
                    lo[k] = lo[k].min(q[k]);
                    hi[k] = hi[k].max(q[k]);
                }
            }
            (
                lo.into_iter().min().unwrap_or(i64::MAX),
                hi.into_iter().max().unwrap_or(i64::MIN),
            )
        };
        let (lo, hi) = if crate::parallel::use_pool(ids.len()) {
            use rayon::prelude::*;
            crate::parallel::install(|| {
                ids.par_chunks(1 << 14)
                    .map(minmax)
                    .reduce(|| (i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)))
            })
        } else {
            minmax(ids)
        };
        Self::with_bounds(ids, lo, hi)
    }

    /// The widest id range that gets a lookup table for `len` rollouts (wider ranges use a hash map).
    pub(crate) fn dense_limit(len: usize) -> usize {
        (2 * len).max(1 << 16)
    }

    /// As [`Slots::new`], for ids known to lie in `lo..=hi`.
    fn with_bounds(ids: &[i64], lo: i64, hi: i64) -> Self {
        let span = hi as i128 - lo as i128 + 1;
        if span <= Self::dense_limit(ids.len()) as i128 {
            Slots::Dense {
                lo,
                span: span as usize,
            }
        } else {
            let mut map: HashMap<i64, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
            let mut uniq = Vec::new();
            let of = ids
                .iter()
                .map(|&x| {
                    *map.entry(x).or_insert_with(|| {
                        uniq.push(x);
                        (uniq.len() - 1) as u32
                    })
                })
                .collect();
            Slots::Mapped { of, ids: uniq }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Slots::Dense { span, .. } => *span,
            Slots::Mapped { ids, .. } => ids.len(),
        }
    }

    /// Slot of rollout `i`, whose id is `id`.
    #[inline(always)]
    pub(crate) fn slot(&self, i: usize, id: i64) -> usize {
        match self {
            Slots::Dense { lo, .. } => (id.wrapping_sub(*lo)) as usize,
            Slots::Mapped { of, .. } => of[i] as usize,
        }
    }

    /// The group id of a slot.
    pub(crate) fn id(&self, slot: usize) -> i64 {
        match self {
            Slots::Dense { lo, .. } => lo.wrapping_add(slot as i64),
            Slots::Mapped { ids, .. } => ids[slot],
        }
    }
}

/// Rollouts as runs of consecutive equal ids. Trainers hand each prompt's rollouts over together, so a
/// batch is usually one run per group, and a run can be processed without a lookup per rollout. A group may
/// still occur in several runs; callers that need one entry per group merge runs by id.
pub(crate) struct Runs {
    /// Start of each run, then the input length.
    starts: Vec<usize>,
    /// Id of each run.
    pub(crate) ids: Vec<i64>,
}

impl Runs {
    /// Shortest mean run worth the run layout; shorter runs (shuffled batches) are faster per rollout.
    const MIN_MEAN_LEN: usize = 4;
    /// Rollouts looked at before committing to a full scan.
    const PROBE: usize = 4096;

    /// The runs of `ids` (non-empty), or None when they are shorter than [`Self::MIN_MEAN_LEN`] on average
    /// (judged on a prefix first, so a shuffled batch costs only the probe).
    pub(crate) fn find(ids: &[i64]) -> Option<Runs> {
        let len = ids.len();
        let probe = len.min(Self::PROBE);
        if (1..probe).filter(|&i| ids[i] != ids[i - 1]).count() * Self::MIN_MEAN_LEN > probe {
            return None;
        }
        let mut starts = vec![0];
        if crate::parallel::use_pool(len) {
            use rayon::prelude::*;
            const CHUNK: usize = 1 << 16;
            let parts: Vec<Vec<usize>> = crate::parallel::install(|| {
                (0..len.div_ceil(CHUNK))
                    .into_par_iter()
                    .map(|c| Self::boundaries(ids, c * CHUNK..((c + 1) * CHUNK).min(len)))
                    .collect()
            });
            parts.into_iter().for_each(|p| starts.extend(p));
        } else {
            starts.extend(Self::boundaries(ids, 0..len));
        }
        if starts.len() * Self::MIN_MEAN_LEN > len {
            return None;
        }
        let run_ids = starts.iter().map(|&s| ids[s]).collect();
        starts.push(len);
        Some(Runs { starts, ids: run_ids })
    }

    /// The positions i in `range` (i > 0) where a run starts: `ids[i] != ids[i − 1]`. Runs are walked one at
    /// a time, guessing that a run is as long as the previous one (groups usually have one size): the guess
    /// is checked with a branch-free comparison of the whole run, and only a wrong guess costs a scan.
    fn boundaries(ids: &[i64], range: std::ops::Range<usize>) -> Vec<usize> {
        let (len, end) = (ids.len(), range.end);
        let mut out = Vec::new();
        let mut i = range.start;
        if i > 0 && ids[i] != ids[i - 1] {
            out.push(i);
        }
        let mut guess = 1;
        while i < end {
            let id = ids[i];
            let g = i + guess;
            let j = if g < len && ids[g] != id && ids[i + 1..g].iter().fold(true, |all, &x| all & (x == id)) {
                g
            } else {
                let mut j = i + 1;
                while j < len && ids[j] == id {
                    j += 1;
                }
                j
            };
            if j >= end {
                break;
            }
            out.push(j);
            guess = j - i;
            i = j;
        }
        out
    }

    /// Start of run `j` (`j` = the number of runs gives the input length).
    #[inline]
    pub(crate) fn start(&self, j: usize) -> usize {
        self.starts[j]
    }

    /// The run holding rollout `i`.
    pub(crate) fn run_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&s| s <= i) - 1
    }

    /// `f(range)` for the rollout range of every run, in run order (in parallel for large inputs).
    pub(crate) fn map_runs<T: Send>(&self, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
        let range = |j: usize| self.starts[j]..self.starts[j + 1];
        let n = self.ids.len();
        if crate::parallel::use_pool(self.starts[n]) {
            use rayon::prelude::*;
            crate::parallel::install(|| {
                (0..n)
                    .into_par_iter()
                    .with_min_len(1024)
                    .map(|j| f(range(j)))
                    .collect()
            })
        } else {
            (0..n).map(|j| f(range(j))).collect()
        }
    }
}

/// Per-group statistics of a batch and its summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    /// Distinct group ids, ascending.
    pub ids: Vec<i64>,
    /// Unmasked rollouts per group.
    pub n: Vec<u32>,
    /// Successes per group: unmasked rollouts with reward > 0 (for 0/1 rewards, K of docs/estimators.md).
    pub k: Vec<u32>,
    /// Mean unmasked reward per group (NaN for a group whose rollouts are all masked).
    pub mean: Vec<f64>,
}

impl GroupStats {
    pub fn compute(rewards: &[f64], ids: &[i64], mask: Option<&[bool]>) -> Result<Self> {
        if rewards.is_empty() {
            return Err(Error::Empty { what: "rewards" });
        }
        Error::check_aligned("group_ids", ids.len(), "rewards", rewards.len())?;
        let g = GroupIndex::new(ids, mask)?;
        let mut k = vec![0u32; g.num_groups()];
        let mut sum = vec![0f64; g.num_groups()];
        for (i, (&r, &gi)) in rewards.iter().zip(&g.of).enumerate() {
            if mask.is_some_and(|m| !m[i]) {
                continue;
            }
            if !r.is_finite() {
                return Err(Error::NonFinite { index: i, value: r });
            }
            sum[gi as usize] += r;
            k[gi as usize] += (r > 0.0) as u32;
        }
        let mean = sum
            .iter()
            .zip(&g.n)
            .map(|(&s, &n)| if n == 0 { f64::NAN } else { s / n as f64 })
            .collect();
        Ok(GroupStats {
            ids: g.ids,
            n: g.n,
            k,
            mean,
        })
    }

    fn count(&self, pred: impl Fn(u32, u32) -> bool) -> usize {
        self.n
            .iter()
            .zip(&self.k)
            .filter(|(&n, &k)| n > 0 && pred(n, k))
            .count()
    }
    /// Groups with at least one unmasked rollout.
    pub fn groups(&self) -> usize {
        self.count(|_, _| true)
    }
    /// Groups whose rollouts are all masked (they contribute nothing).
    pub fn empty(&self) -> usize {
        self.n.iter().filter(|&&n| n == 0).count()
    }
    /// Groups of exactly one unmasked rollout: no baseline can be formed from the group itself.
    pub fn singletons(&self) -> usize {
        self.count(|n, _| n == 1)
    }
    pub fn all_fail(&self) -> usize {
        self.count(|_, k| k == 0)
    }
    pub fn all_success(&self) -> usize {
        self.count(|n, k| k == n)
    }
    /// Fraction of (non-empty) groups with at least one success: the batch's pass@N.
    pub fn solved_fraction(&self) -> f64 {
        let g = self.groups();
        if g == 0 {
            return f64::NAN;
        }
        (g - self.all_fail()) as f64 / g as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_hashed_agree() {
        let ids = [7i64, -3, 7, 1_000_000_000_000, -3, 42];
        let g = GroupIndex::new(&ids, None).unwrap();
        assert_eq!(g.ids, vec![-3, 7, 42, 1_000_000_000_000]);
        assert_eq!(g.of, vec![1, 0, 1, 3, 0, 2]);
        assert_eq!(g.n, vec![2, 2, 1, 1]);
        let small = [5i64, 2, 5, 9, 2];
        let d = GroupIndex::new(&small, None).unwrap();
        let (u, of) = GroupIndex::hashed(&small);
        assert_eq!(d.ids, u);
        assert_eq!(d.of, of);
    }

    #[test]
    fn extreme_ids_do_not_overflow() {
        let ids = [i64::MIN, i64::MAX, i64::MIN];
        let g = GroupIndex::new(&ids, None).unwrap();
        assert_eq!(g.ids, vec![i64::MIN, i64::MAX]);
        assert_eq!(g.n, vec![2, 1]);
    }

    #[test]
    fn stats_summaries() {
        let r = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let ids = [0i64, 0, 1, 1, 2, 2, 3];
        let s = GroupStats::compute(&r, &ids, Some(&[true, true, true, true, true, true, true])).unwrap();
        assert_eq!(s.k, vec![1, 0, 2, 1]);
        assert_eq!(
            (s.groups(), s.singletons(), s.all_fail(), s.all_success()),
            (4, 1, 1, 2)
        );
        assert_eq!(s.solved_fraction(), 0.75);
        let masked =
            GroupStats::compute(&r, &ids, Some(&[true, true, true, true, true, true, false])).unwrap();
        assert_eq!((masked.groups(), masked.empty()), (3, 1));
        assert!(masked.mean[3].is_nan());
    }
}
