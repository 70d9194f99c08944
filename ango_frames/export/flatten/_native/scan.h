// Record boundaries of a JSON array, for the reader's native feed (see scan.cc).
#pragma once
#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace af {

// scan_array(chunk, depth, in_str, ceiling, transform)
//     -> (cuts, stop, kind, depth, in_str, out)
PyObject* scan_array(PyObject* self, PyObject* args);

}  // namespace af
