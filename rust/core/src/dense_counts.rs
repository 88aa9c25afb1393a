//! N and K of 0/1 rewards per group id in one pass, for batches whose groups are scattered.
//!
//! A table indexed by `id − lo` is the fastest way to count a shuffled batch, but it needs the id range,
//! and a separate min/max pass over the ids costs as much as a third of the whole computation. Here the
//! range is guessed from a prefix and the table grows when an id outside it turns up: the bounds check
//! every table access pays anyway doubles as the range check, so the common case has no extra work.

use crate::groups::Slots;

/// Bit pattern of 1.0f64.
const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;
/// A 0/1 reward's success bit, and a word that is non-zero when the reward is not exactly 0.0 or 1.0
/// (−0.0, NaN and every other value included): 0.0 and 1.0 are the only values whose bits equal
/// `−(bits >> 61) & ONE_BITS`. Integer operations only, so loops over rewards vectorise.
#[inline(always)]
pub(crate) fn success_bit(r: f64) -> (u64, u64) {
    let bits = r.to_bits();
    let k = bits >> 61;
    (k, bits ^ (k.wrapping_neg() & ONE_BITS))
}

/// One rollout in a packed count: N in the high half, K in the low half.
pub(crate) const ONE: u64 = 1 << 32;
/// Ids looked at to guess the range.
const PROBE: usize = 4096;

/// Packed counts `N << 32 | K` of the ids `lo ..= lo + table.len() − 1`.
pub(crate) struct DenseCounts {
    pub(crate) lo: i64,
    pub(crate) table: Vec<u64>,
}

impl DenseCounts {
    /// Count `ids[range]` with rewards `rewards[range]`. None when a reward there is not exactly 0 or 1, or
    /// the ids spread over more than `limit` values (a dense table would not pay).
    pub(crate) fn count(
        ids: &[i64],
        rewards: &[f64],
        range: std::ops::Range<usize>,
        limit: usize,
    ) -> Option<Self> {
        let (ids, rewards) = (&ids[range.clone()], &rewards[range]);
        let (lo, hi) = min_max(&ids[..ids.len().min(PROBE)])?;
        let mut counts = DenseCounts {
            lo,
            table: vec![0; span(lo, hi).filter(|&s| s <= limit)?],
        };
        let mut bad = 0u64;
        let mut start = 0;
        while start < ids.len() {
            let mut miss = None;
            for (j, (&id, &r)) in ids[start..].iter().zip(&rewards[start..]).enumerate() {
                let (k, invalid) = success_bit(r);
                bad |= invalid;
                match counts.table.get_mut(id.wrapping_sub(counts.lo) as usize) {
                    Some(t) => *t += ONE | k,
                    None => {
                        miss = Some(start + j);
                        break;
                    }
                }
            }
            match miss {
                None => break,
                Some(i) => {
                    counts.grow(ids[i], limit)?;
                    start = i;
                }
            }
        }
        (bad == 0).then_some(counts)
    }

    /// Widen the table to hold `id`, with room for a quarter of the table more on that side (so a batch
    /// costs a logarithmic number of regrowths, however its ids are ordered), never past `limit` values;
    /// None when `id` cannot fit.
    fn grow(&mut self, id: i64, limit: usize) -> Option<()> {
        let (lo, hi, id) = (
            self.lo as i128,
            self.lo as i128 + self.table.len() as i128 - 1,
            id as i128,
        );
        let (need_lo, need_hi) = (lo.min(id), hi.max(id));
        let (limit, room) = (limit as i128, (self.table.len() as i128 / 4).max(64));
        if need_hi - need_lo + 1 > limit {
            return None;
        }
        let (new_lo, new_hi) = if id < lo {
            (
                (id - room).max(need_hi - limit + 1).max(i64::MIN as i128),
                need_hi,
            )
        } else {
            (
                need_lo,
                (id + room).min(need_lo + limit - 1).min(i64::MAX as i128),
            )
        };
        let mut table = vec![0u64; (new_hi - new_lo + 1) as usize];
        let off = (lo - new_lo) as usize;
        table[off..off + self.table.len()].copy_from_slice(&self.table);
        *self = DenseCounts {
            lo: new_lo as i64,
            table,
        };
        Some(())
    }

    /// Add the counts of several ranges into one table trimmed to the ids seen (count > 0), with its slots.
    pub(crate) fn merge(parts: Vec<DenseCounts>) -> (Slots, Vec<u64>) {
        let first_seen = |c: &DenseCounts| c.table.iter().position(|&t| t > 0).map(|i| c.lo + i as i64);
        let last_seen = |c: &DenseCounts| c.table.iter().rposition(|&t| t > 0).map(|i| c.lo + i as i64);
        let lo = parts
            .iter()
            .filter_map(first_seen)
            .min()
            .expect("a non-empty batch");
        let hi = parts
            .iter()
            .filter_map(last_seen)
            .max()
            .expect("a non-empty batch");
        let span = (hi as i128 - lo as i128 + 1) as usize;
        let mut table = vec![0u64; span];
        for p in &parts {
            // Offsets of this part's table and of the merged one where they overlap.
            let from = (lo as i128 - p.lo as i128).max(0) as usize;
            let to = (p.lo as i128 - lo as i128).max(0) as usize;
            let n = p.table.len().saturating_sub(from).min(span.saturating_sub(to));
            table[to..to + n]
                .iter_mut()
                .zip(&p.table[from..from + n])
                .for_each(|(t, &c)| *t += c);
        }
        (Slots::Dense { lo, span }, table)
    }
}

/// Values in the id range of the first ids of `ids` (a guess at the whole batch's), if it fits a usize.
pub(crate) fn probe_span(ids: &[i64]) -> Option<usize> {
    let (lo, hi) = min_max(&ids[..ids.len().min(PROBE)])?;
    span(lo, hi)
}

/// Smallest and largest of `ids`; None when empty.
fn min_max(ids: &[i64]) -> Option<(i64, i64)> {
    let lo = *ids.iter().min()?;
    Some((lo, *ids.iter().max()?))
}

/// Number of values in `lo ..= hi`, if it fits a usize.
fn span(lo: i64, hi: i64) -> Option<usize> {
    usize::try_from(hi as i128 - lo as i128 + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_of(ids: &[i64], rewards: &[f64]) -> Vec<(i64, u64, u64)> {
        let mut v: Vec<(i64, u64, u64)> = Vec::new();
        let mut sorted: Vec<(i64, f64)> = ids.iter().copied().zip(rewards.iter().copied()).collect();
        sorted.sort_by_key(|x| x.0);
        for (id, r) in sorted {
            match v.last_mut() {
                Some(last) if last.0 == id => {
                    last.1 += 1;
                    last.2 += (r == 1.0) as u64;
                }
                _ => v.push((id, 1, (r == 1.0) as u64)),
            }
        }
        v
    }

    fn table_counts(slots: &Slots, table: &[u64]) -> Vec<(i64, u64, u64)> {
        table
            .iter()
            .enumerate()
            .filter(|(_, &t)| t > 0)
            .map(|(s, &t)| (slots.id(s), t >> 32, t & (ONE - 1)))
            .collect()
    }

    #[test]
    fn grows_to_ids_outside_the_probe_both_sides() {
        // The probe sees ids 100..=103 only; later ids lie below and above it.
        let mut ids: Vec<i64> = (0..PROBE as i64 + 10).map(|i| 100 + i % 4).collect();
        ids.extend([5, 9_000, -70, 104, 8_999]);
        let rewards: Vec<f64> = (0..ids.len()).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let c = DenseCounts::count(&ids, &rewards, 0..ids.len(), 1 << 16).unwrap();
        let (slots, table) = DenseCounts::merge(vec![c]);
        assert_eq!(table_counts(&slots, &table), counts_of(&ids, &rewards));
        assert_eq!((slots.id(0), slots.len()), (-70, 9_071));
        // An id far outside (here at the i64 extreme) is refused, never wrapped around.
        ids.push(i64::MIN + 1);
        let r = vec![0.0; ids.len()];
        assert!(DenseCounts::count(&ids, &r, 0..ids.len(), 1 << 16).is_none());
    }

    #[test]
    fn success_bit_accepts_exactly_zero_and_one() {
        assert_eq!(success_bit(0.0), (0, 0));
        assert_eq!(success_bit(1.0), (1, 0));
        let mut rnd = crate::test_rng(5);
        let special = [
            -0.0,
            -1.0,
            0.5,
            2.0,
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
            f64::MIN_POSITIVE,
        ];
        let others = (0..100_000).map(|_| f64::from_bits(rnd(u64::MAX)));
        for r in special
            .into_iter()
            .chain([f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
            .chain(others)
        {
            if r != 0.0 && r != 1.0 || r.is_sign_negative() {
                assert_ne!(success_bit(r).1, 0, "{r:e} ({:#x})", r.to_bits());
            }
        }
    }

    #[test]
    fn refuses_wide_ids_and_non_binary_rewards() {
        let ids = [0i64, 1, 2, 1_000_000];
        assert!(DenseCounts::count(&ids, &[0.0; 4], 0..4, 1000).is_none());
        for bad in [
            0.5,
            -0.0,
            2.0,
            f64::NAN,
            f64::INFINITY,
            1.0 + f64::EPSILON,
            f64::from_bits(ONE_BITS >> 1),
        ] {
            let r = [1.0, 0.0, bad, 1.0];
            assert!(
                DenseCounts::count(&[0, 1, 2, 3], &r, 0..4, 100).is_none(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn merged_parts_equal_one_pass() {
        let mut rnd = crate::test_rng(99);
        let n = 3 * PROBE;
        // Later parts reach ids the first never saw, on both sides.
        let ids: Vec<i64> = (0..n)
            .map(|i| rnd(50 + i as u64) as i64 - (i as i64 / 7))
            .collect();
        let rewards: Vec<f64> = (0..n).map(|_| rnd(2) as f64).collect();
        let parts = [0..1000, 1000..5000, 5000..n]
            .into_iter()
            .map(|r| DenseCounts::count(&ids, &rewards, r, 1 << 20).unwrap())
            .collect();
        let (slots, table) = DenseCounts::merge(parts);
        assert_eq!(table_counts(&slots, &table), counts_of(&ids, &rewards));
    }
}
