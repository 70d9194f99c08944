// The CPython binding of the native core: ango_frames' `_core` extension module.
//
//   new_core() -> capsule                      one per Flattener (builders and parse buffers)
//   run(core, data, pos, pending, wanted, batch_rows, max_depth)
//       -> (pos, lines, records, status, columns, dynamic, counts, owner)
//   table_types(table) -> tuple of type codes  (checked against ango_frames.schemas in tests)
//   scan_array(chunk, depth, in_str, ceiling, transform)  record boundaries of a JSON array
//       -> (cuts, stop, kind, depth, in_str, out)      (see scan.cc)
//
// `columns` holds, per table, None (no rows) or (mask, address): the address of an exported
// struct array whose children are the columns flagged in mask (the others are all null);
// `counts` per record (int64): its rows in each table, the ids it made up, its line's byte offset
// and the line's index in this run. `owner` frees every array that
// pyarrow did not take. The parse and the flattening run without the GIL.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <vector>

#include "flatten.h"
#include "scan.h"

namespace {

constexpr const char* CORE = "ango_frames._core.Core";
constexpr const char* OWNER = "ango_frames._core.Arrays";

void drop_core(PyObject* capsule) {
  delete static_cast<af::Core*>(PyCapsule_GetPointer(capsule, CORE));
}

void drop_arrays(PyObject* capsule) {
  auto* arrays = static_cast<std::vector<ArrowArray*>*>(PyCapsule_GetPointer(capsule, OWNER));
  for (ArrowArray* a : *arrays) af::free_exported(a);
  delete arrays;
}

PyObject* new_core(PyObject*, PyObject*) {
  af::Core* core = new (std::nothrow) af::Core();
  if (core == nullptr) return PyErr_NoMemory();
  PyObject* capsule = PyCapsule_New(core, CORE, drop_core);
  if (capsule == nullptr) delete core;
  return capsule;
}

PyObject* table_types(PyObject*, PyObject* arg) {
  const long t = PyLong_AsLong(arg);
  if (t == -1 && PyErr_Occurred()) return nullptr;
  if (t < 0 || t >= af::N_TABLES) return PyErr_Format(PyExc_IndexError, "no table %ld", t);
  const auto& types = af::table_types(static_cast<int>(t));
  PyObject* out = PyTuple_New(static_cast<Py_ssize_t>(types.size()));
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < types.size(); ++i)
    PyTuple_SET_ITEM(out, i, PyLong_FromLong(types[i]));
  return out;
}

// Per table: None (no rows), or (mask, address): the non-null columns (mask[c] true) as the
// children of one exported struct array.
PyObject* columns_of(af::Core* core, std::vector<ArrowArray*>* owned) {
  PyObject* tables = PyList_New(af::N_TABLES);
  if (tables == nullptr) return nullptr;
  for (int t = 0; t < af::N_TABLES; ++t) {
    std::vector<af::Column>& cols = core->columns(t);
    const int64_t n = core->rows(t);
    if (n == 0) {
      Py_INCREF(Py_None);
      PyList_SET_ITEM(tables, t, Py_None);
      continue;
    }
    PyObject* mask = PyTuple_New(static_cast<Py_ssize_t>(cols.size()));
    if (mask == nullptr) {
      Py_DECREF(tables);
      return nullptr;
    }
    std::vector<ArrowArray*> children;
    for (size_t c = 0; c < cols.size(); ++c) {
      const bool keep = cols[c].any && cols[c].type != af::T_NULL;
      if (keep) {
        children.push_back(af::export_column(cols[c]));
      } else {
        cols[c].renew();
      }
      PyObject* flag = keep ? Py_True : Py_False;
      Py_INCREF(flag);
      PyTuple_SET_ITEM(mask, c, flag);
    }
    ArrowArray* arr = af::export_struct(std::move(children), n);
    owned->push_back(arr);
    PyObject* item = Py_BuildValue("NN", mask, PyLong_FromVoidPtr(arr));
    if (item == nullptr) {
      Py_DECREF(tables);
      return nullptr;
    }
    PyList_SET_ITEM(tables, t, item);
  }
  return tables;
}

PyObject* run(PyObject*, PyObject* args) {
  PyObject *capsule, *data, *pending_obj;
  Py_ssize_t pos;
  int wanted, max_depth;
  long long batch_rows;
  if (!PyArg_ParseTuple(args, "OSnOiLi", &capsule, &data, &pos, &pending_obj, &wanted,
                        &batch_rows, &max_depth)) {
    return nullptr;
  }
  auto* core = static_cast<af::Core*>(PyCapsule_GetPointer(capsule, CORE));
  if (core == nullptr) return nullptr;
  int64_t pending[af::N_TABLES];
  PyObject* seq = PySequence_Fast(pending_obj, "pending must be a sequence");
  if (seq == nullptr) return nullptr;
  if (PySequence_Fast_GET_SIZE(seq) != af::N_TABLES) {
    Py_DECREF(seq);
    return PyErr_Format(PyExc_ValueError, "pending needs %d counts", af::N_TABLES);
  }
  for (int t = 0; t < af::N_TABLES; ++t) {
    pending[t] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, t));
  }
  Py_DECREF(seq);
  if (PyErr_Occurred()) return nullptr;
  const char* buf = PyBytes_AS_STRING(data);
  const Py_ssize_t n = PyBytes_GET_SIZE(data);
  if (pos < 0 || pos > n) return PyErr_Format(PyExc_ValueError, "pos %zd outside the data", pos);
  af::Result res;
  auto* owned = new std::vector<ArrowArray*>();
  bool failed = false;
  Py_BEGIN_ALLOW_THREADS
  try {
    res = core->run(buf, static_cast<size_t>(n), static_cast<size_t>(pos), pending, wanted,
                    batch_rows, max_depth);
  } catch (const std::bad_alloc&) {
    failed = true;
  }
  Py_END_ALLOW_THREADS
  PyObject* owner = PyCapsule_New(owned, OWNER, drop_arrays);
  if (owner == nullptr) {
    delete owned;
    return nullptr;
  }
  if (failed) {
    Py_DECREF(owner);
    return PyErr_NoMemory();
  }
  PyObject* tables = columns_of(core, owned);
  if (tables == nullptr) {
    Py_DECREF(owner);
    return nullptr;
  }
  PyObject* dynamic = PyList_New(static_cast<Py_ssize_t>(res.dynamic.size()));
  if (dynamic == nullptr) {
    Py_DECREF(owner);
    Py_DECREF(tables);
    return nullptr;
  }
  for (size_t i = 0; i < res.dynamic.size(); ++i)
    PyList_SET_ITEM(dynamic, i, PyLong_FromLongLong(res.dynamic[i]));
  PyObject* counts = PyBytes_FromStringAndSize(
      reinterpret_cast<const char*>(res.counts.data()),
      static_cast<Py_ssize_t>(res.counts.size() * sizeof(int64_t)));
  if (counts == nullptr) {
    Py_DECREF(owner);
    Py_DECREF(tables);
    Py_DECREF(dynamic);
    return nullptr;
  }
  return Py_BuildValue("nLLiNNNN", static_cast<Py_ssize_t>(res.pos),
                       static_cast<long long>(res.lines), static_cast<long long>(res.records),
                       static_cast<int>(res.status), tables, dynamic, counts, owner);
}

PyMethodDef METHODS[] = {
    {"new_core", new_core, METH_NOARGS, "A new flattening core (one per Flattener)."},
    {"run", run, METH_VARARGS, "Flatten ndjson lines into Arrow columns (see the module doc)."},
    {"table_types", table_types, METH_O, "The column type codes of a table."},
    {"scan_array", af::scan_array, METH_VARARGS, "Record boundaries of a JSON array (scan.cc)."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_core",
                      "The native flattening core of ango_frames (optional).", -1, METHODS};

}  // namespace

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&MODULE); }
