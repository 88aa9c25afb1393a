//! Batch grading: str sequences in, NumPy arrays out, the GIL released for the whole batch.
//!
//! Strings are borrowed from the Python `str` objects (kept alive by strong references for the duration
//! of the call) rather than copied, so a batch of long responses costs no extra memory.

use std::borrow::Cow;

use maxrl_core::error::py_repr;
use maxrl_core::grading::{Grader as CoreGrader, OptValue, Options, Status, Verdict, Verifier, LIMIT_KEYS};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::errors::{bad_argument, invalid_input, to_py};

type Graded<'py> = (
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyList>,
);

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Python keyword options to the core's option map: bool, int, float and str values only.
fn options(dict: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut out = Options::new();
    let Some(dict) = dict else { return Ok(out) };
    for (k, v) in dict.iter() {
        let key: String = k.extract().map_err(|_| {
            bad_argument(
                "options",
                format!("option names must be str, got {}", type_name(&k)),
            )
        })?;
        let value = if v.is_instance_of::<PyBool>() {
            OptValue::Bool(v.extract()?)
        } else if v.is_instance_of::<PyInt>() {
            OptValue::Int(v.extract().map_err(|_| {
                bad_argument(
                    "options",
                    format!("option {} = {v} does not fit a 64-bit integer", py_repr(&key)),
                )
            })?)
        } else if v.is_instance_of::<PyFloat>() {
            OptValue::Float(v.extract()?)
        } else if let Ok(s) = v.cast::<PyString>() {
            OptValue::Str(s.to_cow()?.into_owned())
        } else {
            return Err(bad_argument(
                "options",
                format!(
                    "option {} must be a bool, int, float or str, got {}",
                    py_repr(&key),
                    type_name(&v)
                ),
            ));
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// The `str` objects of a sequence, kept alive while their text is borrowed.
fn str_objects<'py>(seq: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    let iter = seq.try_iter().map_err(|_| {
        bad_argument(
            what,
            format!("{what} must be a sequence of str, got {}", type_name(seq)),
        )
    })?;
    iter.enumerate()
        .map(|(i, item)| {
            let item = item?;
            item.cast_into::<PyString>().map_err(|e| {
                let item = e.into_inner();
                let got = type_name(item.as_any());
                // The same wording as the Python side's: "must be text, got TYPE VALUE".
                let value: String = item
                    .repr()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| "?".into())
                    .chars()
                    .take(80)
                    .collect();
                invalid_input(
                    format!("{what}[{i}] must be text, got {got} {value}"),
                    Some(i),
                    None,
                    Some(what),
                )
            })
        })
        .collect()
}

/// Text of each string: borrowed UTF-8, or a lossy copy for strings with lone surrogates.
fn texts<'a>(objs: &'a [Bound<'_, PyString>]) -> Vec<Cow<'a, str>> {
    objs.iter()
        .map(|s| s.to_cow().unwrap_or_else(|_| s.to_string_lossy()))
        .collect()
}

fn check_threads(threads: Option<usize>) -> PyResult<Option<usize>> {
    match threads {
        Some(0) => Err(bad_argument(
            "threads",
            "threads must be >= 1 (or None for the shared pool), got 0".into(),
        )),
        t => Ok(t),
    }
}

fn run<'py>(
    py: Python<'py>,
    grader: &CoreGrader,
    responses: &Bound<'py, PyAny>,
    references: &Bound<'py, PyAny>,
    threads: Option<usize>,
) -> PyResult<Graded<'py>> {
    let threads = check_threads(threads)?;
    let (resp_objs, ref_objs) = (
        str_objects(responses, "responses")?,
        str_objects(references, "references")?,
    );
    let (resp, refs) = (texts(&resp_objs), texts(&ref_objs));
    let verdicts = py
        .detach(|| {
            let resp: Vec<&str> = resp.iter().map(|s| s.as_ref()).collect();
            let refs: Vec<&str> = refs.iter().map(|s| s.as_ref()).collect();
            grader.grade_batch_with_threads(threads, &resp, &refs)
        })
        .map_err(to_py)?;
    let scores: Vec<f32> = verdicts.iter().map(|v| v.score).collect();
    let status: Vec<u8> = verdicts.iter().map(|v| v.status as u8).collect();
    let extracted = PyList::new(py, verdicts.into_iter().map(|v: Verdict| v.extracted))?;
    Ok((scores.into_pyarray(py), status.into_pyarray(py), extracted))
}

/// grade(responses, references, verifier, options=None, threads=None) -> (scores, status, extracted)
///
/// One-shot batch grading; see `maxrl_rs.grade` for the formats.
#[pyfunction]
#[pyo3(signature = (responses, references, verifier, options=None, threads=None))]
fn grade<'py>(
    py: Python<'py>,
    responses: &Bound<'py, PyAny>,
    references: &Bound<'py, PyAny>,
    verifier: &str,
    options: Option<&Bound<'py, PyDict>>,
    threads: Option<usize>,
) -> PyResult<Graded<'py>> {
    let grader = CoreGrader::new(verifier, &self::options(options)?).map_err(to_py)?;
    run(py, &grader, responses, references, threads)
}

/// A verifier with its options and a cache of parsed references, reusable across batches.
#[pyclass(frozen, name = "Grader", module = "maxrl_rs._core")]
struct PyGrader {
    inner: CoreGrader,
}

#[pymethods]
impl PyGrader {
    #[new]
    #[pyo3(signature = (verifier, options=None))]
    fn new(verifier: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Ok(PyGrader {
            inner: CoreGrader::new(verifier, &self::options(options)?).map_err(to_py)?,
        })
    }

    /// grade(responses, references, threads=None) -> (scores, status, extracted)
    #[pyo3(signature = (responses, references, threads=None))]
    fn grade<'py>(
        &self,
        py: Python<'py>,
        responses: &Bound<'py, PyAny>,
        references: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Graded<'py>> {
        run(py, &self.inner, responses, references, threads)
    }

    #[getter]
    fn verifier(&self) -> &'static str {
        self.inner.verifier().name()
    }

    /// Number of distinct references parsed and kept so far.
    #[getter]
    fn cached_references(&self) -> usize {
        self.inner.cached_references()
    }

    fn __repr__(&self) -> String {
        format!("Grader({:?})", self.inner.verifier().name())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(grade, m)?)?;
    m.add_class::<PyGrader>()?;
    m.add("STATUS_NAMES", Status::NAMES.to_vec())?;
    // One module constant per status code (CORRECT = 0, ...), named after the status.
    for status in Status::ALL {
        m.add(status.name().to_ascii_uppercase().as_str(), status as u8)?;
    }
    m.add("NO_VERDICT", Status::NO_VERDICT.map(|s| s as usize).to_vec())?;
    m.add("VERIFIERS", Verifier::NAMES.to_vec())?;
    m.add("LIMIT_KEYS", LIMIT_KEYS.to_vec())?;
    Ok(())
}
