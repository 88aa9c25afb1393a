//! The one place where core errors become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

// Bad input (shape, value, name): a ValueError, so `except ValueError` keeps working.
create_exception!(
    maxrl_rs._core,
    InvalidInputError,
    PyValueError,
    "Invalid input to a maxrl_rs call; the message names the index, group and value."
);

pub fn to_py(e: maxrl_core::Error) -> PyErr {
    InvalidInputError::new_err(e.to_string())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InvalidInputError", m.py().get_type::<InvalidInputError>())
}
