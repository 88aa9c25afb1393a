use maxrl_core::{advantages, AdvantageConfig, Estimator};
use std::time::Instant;

fn best(mut f: impl FnMut()) -> f64 {
    let mut b = f64::MAX;
    for _ in 0..30 {
        let t = Instant::now();
        f();
        b = b.min(t.elapsed().as_secs_f64() * 1e3);
    }
    b
}

fn main() {
    maxrl_core::parallel::set_num_threads(1);
    let g = 62500usize;
    let s = 16usize;
    let n = g * s;
    let mut x: u64 = 12345;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let r: Vec<f64> = (0..n).map(|_| (rnd() % 2) as f64).collect();
    let ids: Vec<i64> = (0..n).map(|i| (i / s) as i64).collect();
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rnd() % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    let rs: Vec<f64> = perm.iter().map(|&i| r[i]).collect();
    let gs: Vec<i64> = perm.iter().map(|&i| ids[i]).collect();
    let floor = best(|| {
        let a = r.clone();
        let b = ids.clone();
        let c = vec![0.0f64; n];
        std::hint::black_box((a, b, c));
    });
    println!("floor {floor:.2}");
    for est in [Estimator::MaxRL, Estimator::Grpo] {
        let cfg = AdvantageConfig::new(est);
        let c = best(|| {
            std::hint::black_box(advantages(&r, &ids, None, &cfg).unwrap());
        });
        let sh = best(|| {
            std::hint::black_box(advantages(&rs, &gs, None, &cfg).unwrap());
        });
        println!("{est:?} contiguous {c:.2} shuffled {sh:.2}");
    }
}
