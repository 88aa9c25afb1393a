//! The one place where errors become Python exceptions: every core error and every bad argument the
//! binding itself finds is an `InvalidInputError` built by [`invalid_input`], with the facts of the error
//! as attributes (`index`, `group`, `name`; None when they do not apply) so that callers need not parse
//! the message.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

// Bad input (shape, value, name): a ValueError, so `except ValueError` keeps working.
create_exception!(
    maxrl_rs._core,
    InvalidInputError,
    PyValueError,
    "Invalid input to a maxrl_rs call; the message names the index, group and value, and the attributes \
     `index`, `group` and `name` hold them (None when they do not apply)."
);

/// An `InvalidInputError` with `message` and its attributes.
pub fn invalid_input(message: String, index: Option<usize>, group: Option<i64>, name: Option<&str>) -> PyErr {
    Python::attach(|py| {
        let err = InvalidInputError::new_err(message);
        let value = err.value(py);
        let set = || -> PyResult<()> {
            value.setattr("index", index)?;
            value.setattr("group", group)?;
            value.setattr("name", name)
        };
        match set() {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

/// A core error as a Python exception.
pub fn to_py(e: maxrl_core::Error) -> PyErr {
    invalid_input(e.to_string(), e.index(), e.group(), Some(e.name()))
}

/// A bad argument found by the binding (a Python type the core never sees), named `name`.
pub fn bad_argument(name: &str, message: String) -> PyErr {
    invalid_input(message, None, None, Some(name))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let cls = m.py().get_type::<InvalidInputError>();
    // Class-level defaults, so that errors raised from Python have the attributes too.
    for attr in ["index", "group", "name"] {
        cls.setattr(attr, m.py().None())?;
    }
    m.add("InvalidInputError", cls)
}
