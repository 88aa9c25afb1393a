//! `maxrl_rs._core`: thin PyO3 bindings over `maxrl-core`.
//!
//! Each function converts its inputs to Rust data, releases the GIL for the work (`py.detach`), and maps
//! core errors to the Python exceptions in [`errors`]. No logic lives here.

use pyo3::prelude::*;

mod errors;
mod estimators;
mod grading;

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    estimators::register(m)?;
    grading::register(m)?;
    Ok(())
}
