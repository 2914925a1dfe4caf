//! PyO3 binding layer: converts Python values in the reference's order of checks, calls the
//! pure core (without the GIL for long work), and builds Python results.
//!
//! Bad input is always reported as `t2_sidecar.errors.InvalidInputError(code, field, msg)`;
//! nothing here panics on input (PyO3 would turn a panic into `PanicException`, which the
//! tests treat as a bug).

use std::borrow::Cow;

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::{ffi, intern, IntoPyObjectExt};

use crate::core::{checks, decision, enumerate, gates, plan, ranking, stats, CoreError, ErrorCode};

/// Work at least this large runs with the GIL released (smaller calls skip the switch).
const DETACH_MIN: usize = 4096;

static INVALID_INPUT: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Why a call failed: bad input (core error) or a Python error raised along the way.
enum Fail {
    Core(CoreError),
    Py(PyErr),
}

impl From<CoreError> for Fail {
    fn from(e: CoreError) -> Self {
        Fail::Core(e)
    }
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Self {
        Fail::Py(e)
    }
}

type R<T> = Result<T, Fail>;

/// Lets every `#[pyfunction]` return `R<T>` and use `?` on core and Python errors alike.
impl From<Fail> for PyErr {
    fn from(fail: Fail) -> Self {
        Python::attach(|py| into_py_err(py, fail))
    }
}

fn into_py_err(py: Python<'_>, fail: Fail) -> PyErr {
    match fail {
        Fail::Py(err) => err,
        Fail::Core(e) => match INVALID_INPUT.import(py, "t2_sidecar.errors", "InvalidInputError") {
            Ok(cls) => match cls.call1((e.code.as_str(), e.field, e.message)) {
                Ok(instance) => PyErr::from_value(instance),
                Err(err) => err,
            },
            Err(err) => err,
        },
    }
}

/// Runs `f` under the GIL-released section when `big`, else directly.
fn maybe_detach<T, F>(py: Python<'_>, big: bool, f: F) -> T
where
    F: pyo3::marker::Ungil + FnOnce() -> T,
    T: pyo3::marker::Ungil,
{
    if big {
        py.detach(f)
    } else {
        f()
    }
}

// ------------------------------------------------------------------ conversions

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

fn wrong_type(field: &'static str, message: String) -> Fail {
    Fail::Core(CoreError::new(ErrorCode::WrongType, field, message))
}

/// `checks.sequence`: a list or tuple (subclasses included), as a vector of items.
fn sequence<'py>(obj: &Bound<'py, PyAny>, field: &'static str) -> R<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    Err(wrong_type(
        field,
        format!("expected a list or tuple, got {}", type_name(obj)),
    ))
}

fn non_empty_sequence<'py>(
    obj: &Bound<'py, PyAny>,
    field: &'static str,
) -> R<Vec<Bound<'py, PyAny>>> {
    let items = sequence(obj, field)?;
    checks::non_empty_len(items.len(), field)?;
    Ok(items)
}

/// A Python int that is not a bool, as i128 (saturated beyond), or None for other types.
fn as_int(obj: &Bound<'_, PyAny>) -> PyResult<Option<i128>> {
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    match obj.extract::<i64>() {
        Ok(v) => Ok(Some(i128::from(v))),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => match obj.extract::<i128>() {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                Ok(Some(if obj.lt(0)? { i128::MIN } else { i128::MAX }))
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn int_arg(obj: &Bound<'_, PyAny>, field: &'static str) -> R<i128> {
    match as_int(obj)? {
        Some(v) => Ok(v),
        None => Err(wrong_type(
            field,
            format!("expected an int, got {}", type_name(obj)),
        )),
    }
}

/// `float(value)` of a Python float or int (not bool), before the finiteness checks.
fn real_arg(obj: &Bound<'_, PyAny>, field: &'static str) -> R<f64> {
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return match obj.extract::<f64>() {
            Ok(v) => Ok(v),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                Ok(checks::int_too_large_for_float(field)?)
            }
            Err(e) => Err(e.into()),
        };
    }
    Err(wrong_type(
        field,
        format!("expected a number, got {}", type_name(obj)),
    ))
}

fn finite_arg(obj: &Bound<'_, PyAny>, field: &'static str, low: Option<f64>) -> R<f64> {
    Ok(checks::finite_real(real_arg(obj, field)?, field, low)?)
}

/// The bytes of a str: its UTF-8, or its `surrogatepass` encoding when it holds lone
/// surrogates (an injective encoding, so equality is preserved).
fn str_bytes<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    match s.to_str() {
        Ok(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Err(_) => {
            let encoded = s.call_method1(intern!(s.py(), "encode"), ("utf-8", "surrogatepass"))?;
            Ok(Cow::Owned(encoded.cast::<PyBytes>()?.as_bytes().to_vec()))
        }
    }
}

fn str_arg<'a>(obj: &'a Bound<'_, PyAny>, field: &'static str, message: &str) -> R<Cow<'a, [u8]>> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(str_bytes(s)?),
        Err(_) => Err(wrong_type(
            field,
            format!("{message}, got {}", type_name(obj)),
        )),
    }
}

/// A Python str from bytes made of UTF-8 or surrogatepass-encoded pieces.
fn py_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PyString::new(py, text).into_any()),
        Err(_) => {
            PyBytes::new(py, bytes).call_method1(intern!(py, "decode"), ("utf-8", "surrogatepass"))
        }
    }
}

/// A Python str from ASCII bytes, copied straight into a new compact ASCII string
/// (skips the UTF-8 decoder); other bytes go through [`py_str`].
fn ascii_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if !bytes.is_ascii() {
        return py_str(py, bytes);
    }
    let len = ffi::Py_ssize_t::try_from(bytes.len())
        .map_err(|_| PyOverflowError::new_err("string too long"))?;
    // SAFETY: PyUnicode_New(len, 127) returns a new compact ASCII string with room for
    // `len` one-byte characters (or NULL with an exception set); we fill exactly those
    // bytes before the object is used anywhere.
    unsafe {
        let obj = ffi::PyUnicode_New(len, 127);
        let obj = Bound::from_owned_ptr_or_err(py, obj)?;
        let data = ffi::PyUnicode_DATA(obj.as_ptr()).cast::<u8>();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        Ok(obj)
    }
}

fn pair<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let is_seq = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if !is_seq || obj.len()? != 2 {
        return Ok(None);
    }
    Ok(Some((obj.get_item(0)?, obj.get_item(1)?)))
}

fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".to_owned())
}

fn opt_float<'py>(py: Python<'py>, v: Option<f64>) -> Bound<'py, PyAny> {
    match v {
        Some(x) => PyFloat::new(py, x).into_any(),
        None => py.None().into_bound(py),
    }
}

fn py_bool<'py>(py: Python<'py>, v: bool) -> Bound<'py, PyAny> {
    PyBool::new(py, v).to_owned().into_any()
}

fn tuple_of<'py, I>(py: Python<'py>, items: I) -> PyResult<Bound<'py, PyTuple>>
where
    I: IntoIterator<Item = Bound<'py, PyAny>>,
    I::IntoIter: ExactSizeIterator,
{
    PyTuple::new(py, items)
}

/// Fallible items into a tuple, written straight into a new tuple (no intermediate vector).
fn tuple_try<'py, I>(py: Python<'py>, items: I) -> PyResult<Bound<'py, PyTuple>>
where
    I: IntoIterator<Item = PyResult<Bound<'py, PyAny>>>,
    I::IntoIter: ExactSizeIterator,
{
    let items = items.into_iter();
    let len = ffi::Py_ssize_t::try_from(items.len())
        .map_err(|_| PyOverflowError::new_err("too many items"))?;
    // SAFETY: PyTuple_New returns a new tuple of `len` NULL slots (or NULL with an
    // exception set). Each slot is filled at most once with an owned reference; if an item
    // fails or the iterator falls short, the tuple is dropped: tuple deallocation skips
    // NULL slots, so nothing leaks or is freed twice.
    unsafe {
        let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(len))?;
        let mut filled: ffi::Py_ssize_t = 0;
        for item in items.take(len as usize) {
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), filled, item?.into_ptr());
            filled += 1;
        }
        if filled != len {
            return Err(PyValueError::new_err("iterator shorter than its length"));
        }
        Ok(tuple.cast_into_unchecked())
    }
}

// ------------------------------------------------------------------ fast instances

/// Builds instances of a frozen, slotted dataclass without running its `__init__`: allocate,
/// then write each slot through `object.__setattr__` (the generic setter). Falls back to a
/// plain call when the class is not a plain slotted dataclass with exactly these fields.
struct InstanceBuilder<'py> {
    cls: Bound<'py, PyType>,
    names: Vec<Bound<'py, PyString>>,
    fast: bool,
}

impl<'py> InstanceBuilder<'py> {
    fn new(cls: &Bound<'py, PyAny>, fields: &[&str], field: &'static str) -> R<Self> {
        let py = cls.py();
        let cls = match cls.cast::<PyType>() {
            Ok(t) => t.clone(),
            Err(_) => return Err(wrong_type(field, "expected a class".to_owned())),
        };
        let names: Vec<Bound<'py, PyString>> =
            fields.iter().map(|f| PyString::intern(py, f)).collect();
        let dict = cls.getattr(intern!(py, "__dict__"))?;
        let slots_ok = match dict.get_item(intern!(py, "__slots__")) {
            Ok(slots) => {
                let slots: Vec<String> = slots
                    .try_iter()?
                    .map(|s| s?.extract::<String>())
                    .collect::<PyResult<_>>()?;
                slots == fields
            }
            Err(_) => false,
        };
        let fast = slots_ok
            && cls.hasattr(intern!(py, "__dataclass_fields__"))?
            && !cls.hasattr(intern!(py, "__post_init__"))?
            && cls.getattr(intern!(py, "__mro__"))?.len()? == 2;
        Ok(InstanceBuilder { cls, names, fast })
    }

    fn build(&self, values: &[Bound<'py, PyAny>]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.cls.py();
        if !self.fast || values.len() != self.names.len() {
            return self.cls.call1(PyTuple::new(py, values)?);
        }
        // SAFETY: `cls` is a type object; PyType_GenericNew only allocates an instance
        // (tp_alloc) and returns a new reference or NULL with an exception set.
        let instance = unsafe {
            let raw = ffi::PyType_GenericNew(
                self.cls.as_type_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            Bound::from_owned_ptr_or_err(py, raw)?
        };
        for (name, value) in self.names.iter().zip(values) {
            // SAFETY: all three pointers are valid, live objects; the call returns 0 or -1
            // with an exception set.
            let rc = unsafe {
                ffi::PyObject_GenericSetAttr(instance.as_ptr(), name.as_ptr(), value.as_ptr())
            };
            if rc != 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(instance)
    }
}

// ------------------------------------------------------------------ enumerate

fn int_list<'py>(
    obj: &Bound<'py, PyAny>,
    field: &'static str,
    check: fn(i128) -> Result<u32, CoreError>,
) -> R<(Vec<Bound<'py, PyAny>>, Vec<u32>)> {
    let items = non_empty_sequence(obj, field)?;
    let values = items
        .iter()
        .map(|item| Ok(check(int_arg(item, field)?)?))
        .collect::<R<Vec<u32>>>()?;
    checks::no_duplicates(values.iter(), field)?;
    Ok((items, values))
}

/// Enumerates and scores a search space; returns the CandidateTable columns
/// `(ids, kernels, widths, unrolls, local_xs, local_ys, scores, total)`.
#[pyfunction]
fn enumerate_candidates<'py>(
    py: Python<'py>,
    kernels: &Bound<'py, PyAny>,
    vector_widths: &Bound<'py, PyAny>,
    unroll_k_values: &Bound<'py, PyAny>,
    local_sizes: &Bound<'py, PyAny>,
    top_k: &Bound<'py, PyAny>,
    max_candidates: &Bound<'py, PyAny>,
) -> R<Bound<'py, PyTuple>> {
    let kernel_items = non_empty_sequence(kernels, "kernels")?;
    let mut kernel_names: Vec<&[u8]> = Vec::with_capacity(kernel_items.len());
    for item in &kernel_items {
        let s = match item.cast::<PyString>() {
            Ok(s) => s,
            Err(_) => {
                return Err(wrong_type(
                    "kernels",
                    format!("expected a str, got {}", type_name(item)),
                ))
            }
        };
        // A str that is not UTF-8 (lone surrogates) cannot be a valid name.
        let bytes: &[u8] = s.to_str().map(str::as_bytes).unwrap_or(b"\xff");
        kernel_names.push(enumerate::check_kernel(bytes)?);
    }
    checks::no_duplicates(kernel_names.iter(), "kernels")?;

    let (width_items, widths) = int_list(vector_widths, "vector_widths", enumerate::check_width)?;
    let (unroll_items, unrolls) =
        int_list(unroll_k_values, "unroll_k_values", enumerate::check_unroll)?;

    let local_items = non_empty_sequence(local_sizes, "local_sizes")?;
    let mut local_objs = Vec::with_capacity(local_items.len());
    let mut locals = Vec::with_capacity(local_items.len());
    for item in &local_items {
        let Some((x_obj, y_obj)) = pair(item)? else {
            return Err(wrong_type(
                "local_sizes",
                format!("expected an (x, y) pair, got {}", repr(item)),
            ));
        };
        let x = enumerate::check_local_dim(int_arg(&x_obj, "local_sizes")?)?;
        let y = enumerate::check_local_dim(int_arg(&y_obj, "local_sizes")?)?;
        locals.push(enumerate::check_work_group(x, y)?);
        local_objs.push((x_obj, y_obj));
    }
    checks::no_duplicates(locals.iter(), "local_sizes")?;

    let top_k = if top_k.is_none() {
        None
    } else {
        Some(enumerate::check_top_k(int_arg(top_k, "top_k")?)?)
    };
    let cap = enumerate::check_max_candidates(int_arg(max_candidates, "max_candidates")?)?;
    let total = enumerate::check_total(
        [
            kernel_names.len(),
            widths.len(),
            unrolls.len(),
            locals.len(),
        ],
        cap,
    )?;

    let space = enumerate::Space {
        kernels: kernel_names,
        widths,
        unrolls,
        locals,
        top_k: top_k.map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
        total,
    };
    let (result, decoded, (id_buf, id_ends)) = maybe_detach(py, total >= DETACH_MIN, || {
        let result = enumerate::enumerate(&space);
        let decoded: Vec<[usize; 4]> = result.rows.iter().map(|&f| result.decode(f)).collect();
        let ids = result.ordered_ids();
        (result, decoded, ids)
    });
    let ids = tuple_try(
        py,
        (0..id_ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { id_ends[i - 1] };
            ascii_str(py, &id_buf[start..id_ends[i]])
        }),
    )?;
    let ks = tuple_of(py, decoded.iter().map(|d| kernel_items[d[0]].clone()))?;
    let ws = tuple_of(py, decoded.iter().map(|d| width_items[d[1]].clone()))?;
    let us = tuple_of(py, decoded.iter().map(|d| unroll_items[d[2]].clone()))?;
    let xs = tuple_of(py, decoded.iter().map(|d| local_objs[d[3]].0.clone()))?;
    let ys = tuple_of(py, decoded.iter().map(|d| local_objs[d[3]].1.clone()))?;
    // Rows with equal scores share one float object (values compare equal either way).
    let mut floats: Vec<Option<Bound<'py, PyAny>>> = vec![None; result.n_score_slots];
    let scores = tuple_of(
        py,
        result
            .score_slots
            .iter()
            .zip(&result.scores)
            .map(|(&slot, &score)| {
                floats[slot]
                    .get_or_insert_with(|| PyFloat::new(py, score).into_any())
                    .clone()
            }),
    )?;
    let total = result.total.into_bound_py_any(py)?;
    Ok(PyTuple::new(
        py,
        [
            ids.into_any(),
            ks.into_any(),
            ws.into_any(),
            us.into_any(),
            xs.into_any(),
            ys.into_any(),
            scores.into_any(),
            total,
        ],
    )?)
}

// ------------------------------------------------------------------ replay plan

/// Builds a replay plan; returns the ReplayPlan columns `(ids, sessions, runs, seeds, tags)`.
#[pyfunction]
fn build_replay_plan<'py>(
    py: Python<'py>,
    candidate_ids: &Bound<'py, PyAny>,
    sessions: &Bound<'py, PyAny>,
    runs: &Bound<'py, PyAny>,
    base_seed: &Bound<'py, PyAny>,
) -> R<Bound<'py, PyTuple>> {
    let items = non_empty_sequence(candidate_ids, "candidate_ids")?;
    let mut ids: Vec<Cow<'_, [u8]>> = Vec::with_capacity(items.len());
    for item in &items {
        let bytes = str_arg(item, "candidate_ids", "expected a str")?;
        plan::check_id(&bytes)?;
        ids.push(bytes);
    }
    let id_slices: Vec<&[u8]> = ids.iter().map(|c| c.as_ref()).collect();
    checks::no_duplicates(id_slices.iter(), "candidate_ids")?;
    let sessions = plan::check_sessions(int_arg(sessions, "sessions")?)?;
    let runs = plan::check_runs(int_arg(runs, "runs")?)?;
    let base_seed = plan::check_base_seed(int_arg(base_seed, "base_seed")?)?;
    let base_seed = plan::check_last_seed(id_slices.len(), sessions, runs, base_seed)?;
    let p = plan::Plan {
        n_ids: id_slices.len(),
        sessions,
        runs,
        base_seed,
    };
    let n = p.len();
    let (tags, ends, entries) = maybe_detach(py, n >= DETACH_MIN, || {
        let (tags, ends) = p.tags(&id_slices);
        let entries: Vec<plan::Entry> = (0..n).map(|i| p.entry(i)).collect();
        (tags, ends, entries)
    });
    let session_objs: Vec<Bound<'py, PyAny>> = (0..sessions)
        .map(|s| s.into_bound_py_any(py))
        .collect::<PyResult<_>>()?;
    let run_objs: Vec<Bound<'py, PyAny>> = (0..runs)
        .map(|r| r.into_bound_py_any(py))
        .collect::<PyResult<_>>()?;
    let out_ids = tuple_of(py, entries.iter().map(|e| items[e.candidate].clone()))?;
    let out_sessions = tuple_of(
        py,
        entries
            .iter()
            .map(|e| session_objs[e.session as usize].clone()),
    )?;
    let out_runs = tuple_of(py, entries.iter().map(|e| run_objs[e.run as usize].clone()))?;
    let seeds = tuple_try(py, entries.iter().map(|e| e.seed.into_bound_py_any(py)))?;
    let out_tags = tuple_try(
        py,
        (0..n).map(|i| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            py_str(py, &tags[start..ends[i]])
        }),
    )?;
    Ok(PyTuple::new(
        py,
        [
            out_ids.into_any(),
            out_sessions.into_any(),
            out_runs.into_any(),
            seeds.into_any(),
            out_tags.into_any(),
        ],
    )?)
}

// ------------------------------------------------------------------ statistics

fn stats_tuple<'py>(py: Python<'py>, s: &stats::Stats) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            s.count.into_bound_py_any(py)?,
            PyFloat::new(py, s.mean).into_any(),
            PyFloat::new(py, s.std).into_any(),
            PyFloat::new(py, s.min).into_any(),
            PyFloat::new(py, s.p50).into_any(),
            PyFloat::new(py, s.p95).into_any(),
            PyFloat::new(py, s.max).into_any(),
            opt_float(py, s.cv),
        ],
    )
}

/// Summary statistics of a list or tuple of floats/ints; returns the Stats fields
/// `(count, mean, std, min, p50, p95, max, cv)`.
#[pyfunction]
fn summarize<'py>(py: Python<'py>, samples: &Bound<'py, PyAny>) -> R<Bound<'py, PyTuple>> {
    let mut values = sample_values(samples, "samples")?;
    let big = values.len() >= DETACH_MIN;
    let s = maybe_detach(py, big, || stats::stats_of(&mut values, "samples"))?;
    Ok(stats_tuple(py, &s)?)
}

fn sample_values(samples: &Bound<'_, PyAny>, field: &'static str) -> R<Vec<f64>> {
    let mut values = Vec::new();
    let mut push = |item: Bound<'_, PyAny>| -> R<()> {
        values.push(finite_arg(&item, field, None)?);
        Ok(())
    };
    if let Ok(list) = samples.cast::<PyList>() {
        checks::non_empty_len(list.len(), field)?;
        for item in list.iter() {
            push(item)?;
        }
    } else if let Ok(tuple) = samples.cast::<PyTuple>() {
        checks::non_empty_len(tuple.len(), field)?;
        for item in tuple.iter() {
            push(item)?;
        }
    } else {
        return Err(wrong_type(
            field,
            format!("expected a list or tuple, got {}", type_name(samples)),
        ));
    }
    Ok(values)
}

// ------------------------------------------------------------------ ranking

struct RowObjs<'py> {
    candidate_id: Bound<'py, PyAny>,
    size: Bound<'py, PyAny>,
}

/// Ranks measurements; returns `(ranked, baseline_by_size, valid_count, completed_count,
/// failed_count, used_fallback_pool)` with `ranked` a tuple of `ranked_cls` instances.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn rank_candidates<'py>(
    py: Python<'py>,
    measurements: &Bound<'py, PyAny>,
    correctness_threshold: &Bound<'py, PyAny>,
    baseline_rule: &Bound<'py, PyAny>,
    objective: &Bound<'py, PyAny>,
    measurement_cls: &Bound<'py, PyAny>,
    rule_cls: &Bound<'py, PyAny>,
    ranked_cls: &Bound<'py, PyAny>,
) -> R<Bound<'py, PyTuple>> {
    let items = sequence(measurements, "measurements")?;
    let n = items.len();
    let mut objs: Vec<RowObjs<'py>> = Vec::with_capacity(n);
    let mut id_strs: Vec<Bound<'py, PyString>> = Vec::with_capacity(n);
    // (completed, gflops, time, error, size) per row; ids are borrowed after the loop.
    let mut values: Vec<(bool, f64, f64, f64, i128)> = Vec::with_capacity(n);
    let (a_id, a_size, a_status) = (
        intern!(py, "candidate_id"),
        intern!(py, "size"),
        intern!(py, "status"),
    );
    let (a_gflops, a_time, a_error) = (
        intern!(py, "gflops"),
        intern!(py, "avg_time_ms"),
        intern!(py, "max_error"),
    );
    for m in &items {
        if !m.is_instance(measurement_cls)? {
            return Err(wrong_type(
                "measurements",
                format!("expected Measurement, got {}", type_name(m)),
            ));
        }
        let cid = m.getattr(a_id)?;
        let cid_str = match cid.cast::<PyString>() {
            Ok(s) => s.clone(),
            Err(_) => {
                return Err(wrong_type(
                    "measurements.candidate_id",
                    format!("expected a str, got {}", type_name(&cid)),
                ))
            }
        };
        if cid_str.len()? == 0 {
            ranking::check_candidate_id(b"")?;
        }
        let size_obj = m.getattr(a_size)?;
        let size = ranking::check_size(int_arg(&size_obj, "measurements.size")?)?;
        let status = m.getattr(a_status)?;
        let status_bytes = match status.cast::<PyString>() {
            Ok(s) => str_bytes(s)?.into_owned(),
            Err(_) => {
                return Err(wrong_type(
                    "measurements.status",
                    "expected a str".to_owned(),
                ))
            }
        };
        let completed = ranking::check_status(&status_bytes)?;
        let row = if completed {
            let g = ranking::check_metric(
                real_arg(&m.getattr(a_gflops)?, "measurements.gflops")?,
                "measurements.gflops",
            )?;
            let t = ranking::check_metric(
                real_arg(&m.getattr(a_time)?, "measurements.avg_time_ms")?,
                "measurements.avg_time_ms",
            )?;
            let e = ranking::check_metric(
                real_arg(&m.getattr(a_error)?, "measurements.max_error")?,
                "measurements.max_error",
            )?;
            (true, g, t, e, size)
        } else {
            (false, 0.0, 0.0, 0.0, size)
        };
        values.push(row);
        id_strs.push(cid_str);
        objs.push(RowObjs {
            candidate_id: cid,
            size: size_obj,
        });
    }
    let id_bytes: Vec<Cow<'_, [u8]>> = id_strs
        .iter()
        .map(|s| str_bytes(s))
        .collect::<PyResult<_>>()?;
    let rows: Vec<ranking::Row<'_>> = values
        .iter()
        .zip(&id_bytes)
        .map(
            |(&(completed, gflops, avg_time_ms, max_error, size), id)| ranking::Row {
                candidate_id: id.as_ref(),
                size,
                completed,
                gflops,
                avg_time_ms,
                max_error,
            },
        )
        .collect();
    ranking::check_unique(&rows)?;
    let threshold =
        ranking::check_threshold(real_arg(correctness_threshold, "correctness_threshold")?)?;

    if !baseline_rule.is_instance(rule_cls)? {
        return Err(wrong_type(
            "baseline_rule",
            format!("expected BaselineRule, got {}", type_name(baseline_rule)),
        ));
    }
    let pair_items = sequence(
        &baseline_rule.getattr(intern!(py, "thresholds"))?,
        ranking::RULE_FIELD,
    )?;
    let mut pair_objs = Vec::with_capacity(pair_items.len());
    let mut mins: Vec<i128> = Vec::with_capacity(pair_items.len());
    for item in &pair_items {
        let Some((min_obj, id_obj)) = pair(item)? else {
            return Err(wrong_type(
                ranking::RULE_FIELD,
                format!("expected (min_size, id): {}", repr(item)),
            ));
        };
        let min_size = ranking::check_rule_min_size(int_arg(&min_obj, ranking::RULE_FIELD)?)?;
        let id_str = match id_obj.cast::<PyString>() {
            Ok(s) => s.clone(),
            Err(_) => {
                return Err(wrong_type(
                    ranking::RULE_FIELD,
                    format!("expected a str, got {}", type_name(&id_obj)),
                ))
            }
        };
        ranking::check_rule_id(&str_bytes(&id_str)?)?;
        ranking::check_rule_order(mins.last().copied(), min_size)?;
        mins.push(min_size);
        pair_objs.push(id_str);
    }
    let pair_bytes: Vec<Cow<'_, [u8]>> = pair_objs
        .iter()
        .map(|s| str_bytes(s))
        .collect::<PyResult<_>>()?;
    let pairs: Vec<(i128, &[u8])> = mins
        .iter()
        .copied()
        .zip(pair_bytes.iter().map(|b| b.as_ref()))
        .collect();

    let objective = match objective.cast::<PyString>() {
        Ok(s) => ranking::check_objective(&str_bytes(s)?)?,
        Err(_) => return Err(wrong_type("objective", "expected a str".to_owned())),
    };

    let result = maybe_detach(py, n >= DETACH_MIN, || {
        ranking::rank(&rows, threshold, &pairs, objective)
    });

    let builder = InstanceBuilder::new(
        ranked_cls,
        &[
            "candidate_id",
            "size",
            "gflops",
            "avg_time_ms",
            "max_error",
            "correctness_passed",
            "delta_vs_baseline_percent",
        ],
        "ranked_cls",
    )?;
    let ranked = tuple_try(
        py,
        result.ranked.iter().map(|e| {
            let r = &rows[e.row];
            let o = &objs[e.row];
            builder.build(&[
                o.candidate_id.clone(),
                o.size.clone(),
                PyFloat::new(py, r.gflops).into_any(),
                PyFloat::new(py, r.avg_time_ms).into_any(),
                PyFloat::new(py, r.max_error).into_any(),
                py_bool(py, e.correctness_passed),
                opt_float(py, e.delta_vs_baseline_percent),
            ])
        }),
    )?;
    let baseline = tuple_try(
        py,
        result.baseline_by_size.iter().map(|&(size, base)| {
            Ok(PyTuple::new(
                py,
                [
                    size.into_bound_py_any(py)?,
                    PyFloat::new(py, base).into_any(),
                ],
            )?
            .into_any())
        }),
    )?;
    Ok(PyTuple::new(
        py,
        [
            ranked.into_any(),
            baseline.into_any(),
            result.valid_count.into_bound_py_any(py)?,
            result.completed_count.into_bound_py_any(py)?,
            result.failed_count.into_bound_py_any(py)?,
            py_bool(py, result.used_fallback_pool),
        ],
    )?)
}

// ------------------------------------------------------------------ replay gates

/// A `GateThresholds` instance, its fields checked in order (`gates.validate_thresholds`).
fn thresholds_arg(
    py: Python<'_>,
    thresholds: &Bound<'_, PyAny>,
    thresholds_cls: &Bound<'_, PyAny>,
) -> R<gates::Thresholds> {
    if !thresholds.is_instance(thresholds_cls)? {
        return Err(wrong_type(
            "thresholds",
            format!("expected GateThresholds, got {}", type_name(thresholds)),
        ));
    }
    Ok(gates::Thresholds {
        max_error: gates::check_threshold_max_error(real_arg(
            &thresholds.getattr(intern!(py, "max_error"))?,
            "thresholds.max_error",
        )?)?,
        max_cv: gates::check_threshold_max_cv(real_arg(
            &thresholds.getattr(intern!(py, "max_cv"))?,
            "thresholds.max_cv",
        )?)?,
        min_delta_percent: gates::check_threshold_min_delta(real_arg(
            &thresholds.getattr(intern!(py, "min_delta_percent"))?,
            "thresholds.min_delta_percent",
        )?)?,
    })
}

/// Evaluates replay samples; returns `(gflops, avg_time_ms, max_error, cv_peak, delta,
/// correctness_passed, stability_passed, promotion_gate_passed)`, the stats as tuples of
/// Stats fields.
#[pyfunction]
fn evaluate_replay<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    baseline_gflops: &Bound<'py, PyAny>,
    thresholds: &Bound<'py, PyAny>,
    sample_cls: &Bound<'py, PyAny>,
    thresholds_cls: &Bound<'py, PyAny>,
) -> R<Bound<'py, PyTuple>> {
    let items = non_empty_sequence(samples, "samples")?;
    let mut g = Vec::with_capacity(items.len());
    let mut t = Vec::with_capacity(items.len());
    let mut e = Vec::with_capacity(items.len());
    for s in &items {
        if !s.is_instance(sample_cls)? {
            return Err(wrong_type(
                "samples",
                format!("expected ReplaySample, got {}", type_name(s)),
            ));
        }
        g.push(gates::check_sample_value(
            real_arg(&s.getattr(intern!(py, "gflops"))?, "samples.gflops")?,
            "samples.gflops",
        )?);
        t.push(gates::check_sample_value(
            real_arg(
                &s.getattr(intern!(py, "avg_time_ms"))?,
                "samples.avg_time_ms",
            )?,
            "samples.avg_time_ms",
        )?);
        e.push(gates::check_sample_value(
            real_arg(&s.getattr(intern!(py, "max_error"))?, "samples.max_error")?,
            "samples.max_error",
        )?);
    }
    let base = if baseline_gflops.is_none() {
        None
    } else {
        Some(gates::check_baseline(real_arg(
            baseline_gflops,
            "baseline_gflops",
        )?)?)
    };
    let limits = thresholds_arg(py, thresholds, thresholds_cls)?;
    let big = g.len() >= DETACH_MIN;
    let ev = maybe_detach(py, big, || {
        gates::evaluate(&mut g, &mut t, &mut e, base, &limits)
    })?;
    Ok(PyTuple::new(
        py,
        [
            stats_tuple(py, &ev.gflops)?.into_any(),
            stats_tuple(py, &ev.avg_time_ms)?.into_any(),
            stats_tuple(py, &ev.max_error)?.into_any(),
            opt_float(py, ev.cv_peak),
            opt_float(py, ev.mean_delta_vs_baseline_percent),
            py_bool(py, ev.correctness_passed),
            py_bool(py, ev.stability_passed),
            py_bool(py, ev.promotion_gate_passed),
        ],
    )?)
}

// ------------------------------------------------------------------ decision

fn invalid_value(field: &'static str, message: String) -> Fail {
    Fail::Core(CoreError::new(ErrorCode::InvalidValue, field, message))
}

/// One replay result: its type, gate flags, then the numbers a rationale may quote.
fn replay_arg(
    py: Python<'_>,
    r: &Bound<'_, PyAny>,
    evaluation_cls: &Bound<'_, PyAny>,
    stats_cls: &Bound<'_, PyAny>,
) -> R<decision::Replay> {
    if !r.is_instance(evaluation_cls)? {
        return Err(wrong_type(
            "replay_results",
            format!("expected ReplayEvaluation, got {}", type_name(r)),
        ));
    }
    let mut flags = [false; 3];
    let names = [
        intern!(py, "correctness_passed"),
        intern!(py, "stability_passed"),
        intern!(py, "promotion_gate_passed"),
    ];
    for (slot, name) in flags.iter_mut().zip(names) {
        let flag = r.getattr(name)?;
        match flag.cast::<PyBool>() {
            Ok(b) => *slot = b.is_true(),
            Err(_) => {
                return Err(wrong_type(
                    "replay_results",
                    format!("gate flags must be bools: {}", repr(&flag)),
                ))
            }
        }
    }
    let stats = r.getattr(intern!(py, "max_error"))?;
    if !stats.is_instance(stats_cls)? {
        return Err(wrong_type(
            "replay_results.max_error",
            format!("expected Stats, got {}", type_name(&stats)),
        ));
    }
    let max_error = finite_arg(
        &stats.getattr(intern!(py, "max"))?,
        "replay_results.max_error.max",
        None,
    )?;
    let cv = r.getattr(intern!(py, "cv_peak"))?;
    let cv_peak = if cv.is_none() {
        None
    } else {
        Some(finite_arg(&cv, "replay_results.cv_peak", None)?)
    };
    let delta = r.getattr(intern!(py, "mean_delta_vs_baseline_percent"))?;
    if !delta.is_none() {
        finite_arg(
            &delta,
            "replay_results.mean_delta_vs_baseline_percent",
            None,
        )?;
    }
    Ok(decision::Replay {
        correctness_passed: flags[0],
        stability_passed: flags[1],
        promotion_gate_passed: flags[2],
        max_error,
        cv_peak,
    })
}

/// Labels of the results: non-empty strs of valid Unicode, one per result.
fn labels_arg(labels: &Bound<'_, PyAny>, count: usize) -> R<Vec<String>> {
    let items = sequence(labels, "labels")?;
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let text = str_arg(item, "labels", "expected a str")?;
        checks::non_empty_str(&text, "labels")?;
        match std::str::from_utf8(&text) {
            Ok(s) => out.push(s.to_owned()),
            Err(_) => {
                return Err(invalid_value(
                    "labels",
                    format!("{} is not valid Unicode text", repr(item)),
                ))
            }
        }
    }
    if out.len() != count {
        return Err(invalid_value(
            "labels",
            format!(
                "{} label(s) for {count} replay result(s): one per result",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// The promote/iterate/refine decision; returns `(hint, rationale, promoted)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn decide<'py>(
    py: Python<'py>,
    valid_count: &Bound<'py, PyAny>,
    replay_results: &Bound<'py, PyAny>,
    thresholds: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    evaluation_cls: &Bound<'py, PyAny>,
    stats_cls: &Bound<'py, PyAny>,
    thresholds_cls: &Bound<'py, PyAny>,
) -> R<Bound<'py, PyTuple>> {
    let valid_count = decision::check_valid_count(int_arg(valid_count, "valid_count")?)?;
    let items = sequence(replay_results, "replay_results")?;
    let results = items
        .iter()
        .map(|r| replay_arg(py, r, evaluation_cls, stats_cls))
        .collect::<R<Vec<_>>>()?;
    let limits = thresholds_arg(py, thresholds, thresholds_cls)?;
    let names = if labels.is_none() {
        None
    } else {
        Some(labels_arg(labels, results.len())?)
    };
    let d = decision::decide(valid_count, &results, &limits, names.as_deref());
    let promoted = tuple_try(py, d.promoted.iter().map(|&i| i.into_bound_py_any(py)))?;
    Ok(PyTuple::new(
        py,
        [
            PyString::new(py, d.hint.as_str()).into_any(),
            PyString::new(py, &d.rationale).into_any(),
            promoted.into_any(),
        ],
    )?)
}

// ------------------------------------------------------------------ module

/// Test hook: panics on purpose, so that tests can check how a panic surfaces.
#[pyfunction]
fn _panic_for_tests() {
    panic!("deliberate panic for tests");
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    m.add_function(wrap_pyfunction!(enumerate_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(build_replay_plan, m)?)?;
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    m.add_function(wrap_pyfunction!(rank_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_replay, m)?)?;
    m.add_function(wrap_pyfunction!(decide, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
