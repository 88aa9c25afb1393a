//! Advantages, group statistics, pass@k and the thread pool.

use maxrl_core::{estimators, groups::GroupStats, parallel, passk, AdvantageConfig, Estimator, StdKind};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::errors::to_py;

#[pyfunction]
#[pyo3(signature = (rewards, group_ids, estimator, order, drop_all_fail, eps, std, mask=None))]
#[allow(clippy::too_many_arguments)]
fn advantages<'py>(
    py: Python<'py>,
    rewards: PyReadonlyArray1<'py, f64>,
    group_ids: PyReadonlyArray1<'py, i64>,
    estimator: &str,
    order: Option<usize>,
    drop_all_fail: bool,
    eps: f64,
    std: &str,
    mask: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let cfg = AdvantageConfig {
        estimator: estimator.parse::<Estimator>().map_err(to_py)?,
        order,
        drop_all_fail,
        eps,
        std: std.parse::<StdKind>().map_err(to_py)?,
    };
    let r = rewards.as_slice()?;
    let g = group_ids.as_slice()?;
    let m = mask.as_ref().map(|m| m.as_slice()).transpose()?;
    let out = py
        .detach(|| estimators::advantages(r, g, m, &cfg))
        .map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

type StatsTuple<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f64>>,
);

/// Returns (ids, n, k, mean); the Python side builds the summary object.
#[pyfunction]
#[pyo3(signature = (rewards, group_ids, mask=None))]
fn group_stats<'py>(
    py: Python<'py>,
    rewards: PyReadonlyArray1<'py, f64>,
    group_ids: PyReadonlyArray1<'py, i64>,
    mask: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<StatsTuple<'py>> {
    let r = rewards.as_slice()?;
    let g = group_ids.as_slice()?;
    let m = mask.as_ref().map(|m| m.as_slice()).transpose()?;
    let s = py.detach(|| GroupStats::compute(r, g, m)).map_err(to_py)?;
    Ok((
        s.ids.into_pyarray(py),
        s.n.into_pyarray(py),
        s.k.into_pyarray(py),
        s.mean.into_pyarray(py),
    ))
}

fn triples<'py>(n: &PyReadonlyArray1<'py, i64>, c: &PyReadonlyArray1<'py, i64>) -> PyResult<Vec<(u64, u64)>> {
    let (n, c) = (n.as_slice()?, c.as_slice()?);
    if n.len() != c.len() {
        return Err(to_py(maxrl_core::Error::LengthMismatch {
            what: "c",
            expected: n.len(),
            got: c.len(),
        }));
    }
    n.iter()
        .zip(c)
        .enumerate()
        .map(|(i, (&n, &c))| {
            if n < 0 || c < 0 {
                Err(to_py(maxrl_core::Error::InvalidArgument {
                    name: "n/c",
                    reason: format!("negative count at index {i}: n = {n}, c = {c}"),
                }))
            } else {
                Ok((n as u64, c as u64))
            }
        })
        .collect()
}

fn at_index<T>(i: usize, r: maxrl_core::Result<T>) -> PyResult<T> {
    r.map_err(|e| {
        to_py(maxrl_core::Error::InvalidArgument {
            name: "input",
            reason: format!("at index {i}: {e}"),
        })
    })
}

/// `f(i, n, c, x)` over aligned arrays (broadcast in Python), into a NumPy array.
fn elementwise<'py>(
    py: Python<'py>,
    n: &PyReadonlyArray1<'py, i64>,
    c: &PyReadonlyArray1<'py, i64>,
    x: &PyReadonlyArray1<'py, i64>,
    f: impl Fn(usize, u64, u64, i64) -> PyResult<f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let nc = triples(n, c)?;
    let x = x.as_slice()?;
    if x.len() != nc.len() {
        return Err(to_py(maxrl_core::Error::LengthMismatch {
            what: "k/order",
            expected: nc.len(),
            got: x.len(),
        }));
    }
    let out = nc
        .iter()
        .zip(x)
        .enumerate()
        .map(|(i, (&(n, c), &x))| f(i, n, c, x))
        .collect::<PyResult<Vec<f64>>>()?;
    Ok(out.into_pyarray(py))
}

/// Elementwise pass@k.
#[pyfunction]
fn pass_at_k<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    k: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    elementwise(py, &n, &c, &k, |i, n, c, k| {
        at_index(i, passk::pass_at_k(n, c, k.max(0) as u64))
    })
}

/// Mean pass@k over prompts for each k in `ks` (every k must be <= every n).
#[pyfunction]
fn pass_at_k_curve<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    ks: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let nc = triples(&n, &c)?;
    let ks = ks.as_slice()?.to_vec();
    let out = py.detach(|| -> PyResult<Vec<f64>> {
        let mut acc = vec![0.0; ks.len()];
        for (i, &(n, c)) in nc.iter().enumerate() {
            let fail = at_index(i, passk::fail_curve(n, c))?;
            for (a, &k) in acc.iter_mut().zip(&ks) {
                if k < 1 || k as u64 > n {
                    return Err(to_py(maxrl_core::Error::InvalidArgument {
                        name: "ks",
                        reason: format!("k = {k} but prompt {i} has only n = {n} samples"),
                    }));
                }
                *a += 1.0 - fail[k as usize - 1];
            }
        }
        Ok(acc.into_iter().map(|a| a / nc.len() as f64).collect())
    })?;
    Ok(out.into_pyarray(py))
}

/// Elementwise unbiased J^(T) estimate.
#[pyfunction]
fn maxrl_objective<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    order: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    elementwise(py, &n, &c, &order, |i, n, c, t| {
        if t < 1 || t as u64 > n {
            return Err(to_py(maxrl_core::Error::InvalidArgument {
                name: "order",
                reason: format!("{t} at index {i}; need 1 <= order <= n = {n}"),
            }));
        }
        at_index(i, passk::maxrl_objective(n, c, t as u64))
    })
}

#[pyfunction]
fn set_num_threads(n: usize) {
    parallel::set_num_threads(n)
}

#[pyfunction]
fn get_num_threads() -> usize {
    parallel::num_threads()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(advantages, m)?)?;
    m.add_function(wrap_pyfunction!(group_stats, m)?)?;
    m.add_function(wrap_pyfunction!(pass_at_k, m)?)?;
    m.add_function(wrap_pyfunction!(pass_at_k_curve, m)?)?;
    m.add_function(wrap_pyfunction!(maxrl_objective, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    Ok(())
}
