//! Advantages, group statistics, pass@k and the thread pool.

use maxrl_core::{estimators, groups::GroupStats, parallel, passk, AdvantageConfig, Estimator, StdKind};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::errors::to_py;

#[pyfunction]
#[pyo3(signature = (rewards, group_ids, estimator, order, drop_all_fail, eps, std, mask=None, out=None))]
#[allow(clippy::too_many_arguments)]
fn advantages<'py>(
    py: Python<'py>,
    rewards: PyReadonlyArray1<'py, f64>,
    group_ids: PyReadonlyArray1<'py, i64>,
    estimator: &str,
    order: Option<i64>,
    drop_all_fail: bool,
    eps: f64,
    std: &str,
    mask: Option<PyReadonlyArray1<'py, bool>>,
    out: Option<Bound<'py, PyArray1<f64>>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let cfg = AdvantageConfig {
        estimator: estimator.parse::<Estimator>().map_err(to_py)?,
        order: order.map(estimators::order).transpose().map_err(to_py)?,
        drop_all_fail,
        eps,
        std: std.parse::<StdKind>().map_err(to_py)?,
    };
    let r = rewards.as_slice()?;
    let g = group_ids.as_slice()?;
    let m = mask.as_ref().map(|m| m.as_slice()).transpose()?;
    let Some(out) = out else {
        let a = py
            .detach(|| estimators::advantages(r, g, m, &cfg))
            .map_err(to_py)?;
        return Ok(a.into_pyarray(py));
    };
    // Written in place: an `np.empty` from the caller costs no zeroing pass.
    {
        let mut w = out.try_readwrite()?;
        let o = w.as_slice_mut()?;
        py.detach(|| estimators::advantages_into(r, g, m, &cfg, o))
            .map_err(to_py)?;
    }
    Ok(out)
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

/// Elementwise pass@k over aligned arrays (broadcast in Python).
#[pyfunction]
fn pass_at_k<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    k: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (n, c, k) = (n.as_slice()?, c.as_slice()?, k.as_slice()?);
    let out = py.detach(|| passk::pass_at_k_batch(n, c, k)).map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

type Curve<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f64>>);

/// (ks, mean pass@k over prompts for each k); `ks` defaults to 1..=min n, every k must be <= every n.
#[pyfunction]
#[pyo3(signature = (n, c, ks=None))]
fn pass_at_k_curve<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    ks: Option<PyReadonlyArray1<'py, i64>>,
) -> PyResult<Curve<'py>> {
    let (n, c) = (n.as_slice()?, c.as_slice()?);
    let ks = ks.as_ref().map(|k| k.as_slice()).transpose()?;
    let (ks, means) = py.detach(|| passk::pass_at_k_curve(n, c, ks)).map_err(to_py)?;
    Ok((ks.into_pyarray(py), means.into_pyarray(py)))
}

/// Elementwise unbiased J^(T) estimate over aligned arrays.
#[pyfunction]
fn maxrl_objective<'py>(
    py: Python<'py>,
    n: PyReadonlyArray1<'py, i64>,
    c: PyReadonlyArray1<'py, i64>,
    order: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (n, c, t) = (n.as_slice()?, c.as_slice()?, order.as_slice()?);
    let out = py
        .detach(|| passk::maxrl_objective_batch(n, c, t))
        .map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

/// The canonical name of an estimator spelling (case, `-`/`_` ignored); an unknown name comes back as given,
/// for the caller's error to list the known ones.
#[pyfunction]
fn estimator_name(estimator: &str) -> String {
    estimator
        .parse::<Estimator>()
        .map_or_else(|_| estimator.to_string(), |e| e.name().to_string())
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
    m.add_function(wrap_pyfunction!(estimator_name, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add("ESTIMATORS", Estimator::NAMES.to_vec())?;
    Ok(())
}
