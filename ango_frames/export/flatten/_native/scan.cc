// Record boundaries of a JSON array, found without parsing: the native twin of the numpy
// scanner in ango_frames/export/jsonscan.py, which stays the reference (same cuts, same stops).
//
//   scan_array(chunk, depth, in_str, ceiling, transform)
//       -> (cuts, stop, kind, depth, in_str, out)
//
// The chunk is scanned from `depth` (1: between the array's records) and `in_str` (inside a
// string), exactly as the numpy scanner reads it: a quote preceded by an odd run of backslashes
// does not count, whatever the string state (the reader never ends a chunk on a backslash);
// brackets and commas inside strings do not count. `cuts` are the byte positions of the commas
// at depth 1. The scan stops at the first bracket that takes the depth above `ceiling` (kind 1)
// or below 1 (kind 2: the array's closing bracket, or a stray one), at byte `stop`; kind 0 and
// stop -1 when it read the whole chunk. `depth` and `in_str` are the state after the chunk
// (meaningless after a stop).
//
// With `transform`, `out` is a copy of the chunk in which every newline and carriage return
// (up to the stop) is a space outside strings and a NUL inside them, so that a record becomes
// one line for the flattening core, which refuses the NUL (a raw newline in a string is invalid
// JSON, left to the Python reader to report); else `out` is None. Runs without the GIL.
#include "scan.h"

#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace af {
namespace {

// 0 plain, 1 backslash, 2 quote, 3 newline or carriage return, 4 comma, 5 opening, 6 closing
struct Classes {
  uint8_t of[256];
  constexpr Classes() : of() {
    of[static_cast<unsigned char>('\\')] = 1;
    of[static_cast<unsigned char>('"')] = 2;
    of[static_cast<unsigned char>('\n')] = 3;
    of[static_cast<unsigned char>('\r')] = 3;
    of[static_cast<unsigned char>(',')] = 4;
    of[static_cast<unsigned char>('{')] = 5;
    of[static_cast<unsigned char>('[')] = 5;
    of[static_cast<unsigned char>('}')] = 6;
    of[static_cast<unsigned char>(']')] = 6;
  }
};
constexpr Classes CLASS;

struct State {
  long long depth;
  bool in_str;
  Py_ssize_t stop = -1;
  int kind = 0;
  std::vector<Py_ssize_t> cuts;
};

// One byte that is not plain: true when the scan stops here.
struct Scanner {
  const unsigned char* p;
  unsigned char* out;
  long long ceiling;
  long long depth;
  bool in_str;
  Py_ssize_t run_end = -2;  // the byte after the last backslash seen
  bool odd = false;         // that run of backslashes had an odd length
  State* st;

  bool at(Py_ssize_t i) {
    const uint8_t k = CLASS.of[p[i]];
    if (k == 1) {
      odd = run_end == i ? !odd : true;
      run_end = i + 1;
      return false;
    }
    switch (k) {
      case 2:
        if (!(odd && run_end == i)) in_str = !in_str;
        return false;
      case 3:
        if (out != nullptr) out[i] = in_str ? '\0' : ' ';
        return false;
      case 4:
        if (!in_str && depth == 1) st->cuts.push_back(i);
        return false;
      case 5:
        if (!in_str && ++depth > ceiling) {
          st->stop = i;
          st->kind = 1;
          return true;
        }
        return false;
      default:  // 6
        if (!in_str && --depth < 1) {
          st->stop = i;
          st->kind = 2;
          return true;
        }
        return false;
    }
  }
};

void scan(const unsigned char* p, Py_ssize_t n, unsigned char* out, long long ceiling,
          State& st) {
  Scanner sc{p, out, ceiling, st.depth, st.in_str};
  sc.st = &st;
  Py_ssize_t i = 0;
#ifdef __SSE2__
  // 16 bytes at a time: the positions of the bytes that are not plain, one bit each
  const __m128i backslash = _mm_set1_epi8('\\'), quote = _mm_set1_epi8('"');
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), comma = _mm_set1_epi8(',');
  const __m128i open1 = _mm_set1_epi8('{'), open2 = _mm_set1_epi8('[');
  const __m128i close1 = _mm_set1_epi8('}'), close2 = _mm_set1_epi8(']');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, backslash), _mm_cmpeq_epi8(v, quote));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, open1)));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, open2), _mm_cmpeq_epi8(v, close1)));
    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, close2));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    while (mask != 0) {
      const Py_ssize_t j = i + __builtin_ctz(mask);
      mask &= mask - 1;
      if (sc.at(j)) {
        st.depth = sc.depth;
        return;
      }
    }
  }
#endif
  for (; i < n; ++i) {
    if (CLASS.of[p[i]] != 0 && sc.at(i)) {
      st.depth = sc.depth;
      return;
    }
  }
  st.depth = sc.depth;
  st.in_str = sc.in_str;
}

}  // namespace

PyObject* scan_array(PyObject*, PyObject* args) {
  Py_buffer view;
  long long depth, ceiling;
  int in_str, transform;
  if (!PyArg_ParseTuple(args, "y*LpLp", &view, &depth, &in_str, &ceiling, &transform))
    return nullptr;
  const auto* data = static_cast<const unsigned char*>(view.buf);
  const Py_ssize_t n = view.len;
  PyObject* out = Py_None;
  unsigned char* buf = nullptr;
  if (transform) {
    out = PyBytes_FromStringAndSize(nullptr, n);
    if (out == nullptr) {
      PyBuffer_Release(&view);
      return nullptr;
    }
    buf = reinterpret_cast<unsigned char*>(PyBytes_AS_STRING(out));
  } else {
    Py_INCREF(out);
  }
  State st;
  st.depth = depth;
  st.in_str = in_str != 0;
  bool failed = false;
  Py_BEGIN_ALLOW_THREADS;
  try {
    if (buf != nullptr) std::memcpy(buf, data, static_cast<size_t>(n));
    scan(data, n, buf, ceiling, st);
  } catch (const std::bad_alloc&) {
    failed = true;
  }
  Py_END_ALLOW_THREADS;
  PyBuffer_Release(&view);
  if (failed) {
    Py_DECREF(out);
    return PyErr_NoMemory();
  }
  PyObject* cuts = PyList_New(static_cast<Py_ssize_t>(st.cuts.size()));
  if (cuts == nullptr) {
    Py_DECREF(out);
    return nullptr;
  }
  for (size_t i = 0; i < st.cuts.size(); ++i) {
    PyObject* at = PyLong_FromSsize_t(st.cuts[i]);
    if (at == nullptr) {
      Py_DECREF(cuts);
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(cuts, static_cast<Py_ssize_t>(i), at);
  }
  return Py_BuildValue("NniLON", cuts, st.stop, st.kind, st.depth,
                       st.in_str ? Py_True : Py_False, out);
}

}  // namespace af
