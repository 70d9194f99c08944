// Column builders and their hand-over to pyarrow through the Arrow C data interface.
//
// Only `struct ArrowArray` of the public C data interface is used: the Python side passes the
// pyarrow type of every column to `Array._import_from_c`, so the layout is checked against the
// schemas of the Python flattener (ango_frames.schemas) on every import. Buffers are moved into
// a heap holder owned by the exported array; its release callback frees them.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
}

namespace af {

// The column types of the export tables, as far as the native core fills them.
enum ColType : uint8_t {
  T_STR,   // utf8
  T_I64,   // int64
  T_I32,   // int32
  T_F64,   // float64
  T_BOOL,  // bool
  T_TS,    // timestamp[ms, UTC] (int64 values)
  T_LSTR,  // list<utf8>
  T_RING,  // list<list<float64>>
  T_NULL,  // a column the core leaves null (Python fills pa.nulls of its type)
};

struct Mark {
  size_t rows, a, b;
};

// One column: per-row validity bytes, then the type's buffers. Not every member is used by
// every type: `fixed` holds int64/int32/double/bool-byte values, `offsets` / `data` strings,
// `offsets` + `child_offsets` + `doubles` lists and rings. Until its first value a column only
// counts its nulls (`lazy`): most columns of a wide table stay null in a batch, and such a
// column is never exported (Python fills it), so its buffers are written only from the first
// value on.
struct Column {
  ColType type;
  std::vector<uint8_t> valid;
  std::vector<uint8_t> fixed;
  std::vector<int32_t> offsets{0};
  std::string data;
  std::vector<int32_t> child_offsets{0};  // list<utf8>: string offsets; ring: point offsets
  std::vector<uint8_t> child_valid;       // list<utf8>: validity of the strings
  std::vector<double> doubles;            // ring: the coordinates
  bool any = false;                       // any non-null value (else the rows are `lazy`)
  size_t lazy = 0;                        // rows, all null, while `any` is false
  Mark hint{0, 0, 0};                     // sizes of the last exported batch, to reserve

  explicit Column(ColType t) : type(t) {}
  // A fresh column sized for a batch like the last one (no regrowth while it fills).
  void renew() {
    const Mark h = hint;
    *this = Column(type);
    hint = h;
    if (h.rows == 0) return;  // never had a value: nothing to reserve
    valid.reserve(h.rows);
    sized(h, [](auto& buffer, size_t n) { buffer.reserve(n); });
  }
  size_t size() const { return any ? valid.size() : lazy; }
  Mark mark() const {
    if (!any) return {lazy, type == T_RING ? size_t{1} : 0, 0};
    switch (type) {
      case T_STR: return {valid.size(), data.size(), 0};
      case T_LSTR: return {valid.size(), child_valid.size(), data.size()};
      case T_RING: return {valid.size(), child_offsets.size(), doubles.size()};
      default: return {valid.size(), fixed.size(), 0};
    }
  }
  void reset(const Mark& m) {
    if (!any) {
      lazy = m.rows;
      return;
    }
    valid.resize(m.rows);
    sized(m, [](auto& buffer, size_t n) { buffer.resize(n); });
  }
  // `f(buffer, n)` on each buffer of this type but `valid`, with its size at mark `m`.
  template <class F>
  void sized(const Mark& m, F f) {
    switch (type) {
      case T_STR: f(offsets, m.rows + 1); f(data, m.a); break;
      case T_LSTR:
        f(offsets, m.rows + 1);
        f(child_valid, m.a);
        f(child_offsets, m.a + 1);
        f(data, m.b);
        break;
      case T_RING:
        f(offsets, m.rows + 1);
        f(child_offsets, m.a);
        f(doubles, m.b);
        break;
      default: f(fixed, m.a);
    }
  }
  // The first value: the nulls counted so far become rows of the buffers.
  void materialize() {
    const size_t n = lazy;
    any = true;
    lazy = 0;
    valid.assign(n, 0);
    switch (type) {
      case T_STR: case T_LSTR: case T_RING: offsets.assign(n + 1, 0); break;
      case T_I64: case T_F64: case T_TS: fixed.assign(n * 8, 0); break;
      case T_I32: fixed.assign(n * 4, 0); break;
      case T_BOOL: fixed.assign(n, 0); break;
      case T_NULL: break;
    }
  }
  void value() {  // a non-null row begins
    if (!any) materialize();
    valid.push_back(1);
  }
  template <class T>
  void put(T v) {
    const size_t n = fixed.size();
    fixed.resize(n + sizeof(T));
    std::memcpy(fixed.data() + n, &v, sizeof(T));
  }
  void null() {
    if (!any) {
      ++lazy;
      return;
    }
    valid.push_back(0);
    switch (type) {
      case T_STR: case T_LSTR: case T_RING: offsets.push_back(offsets.back()); break;
      case T_I64: case T_F64: case T_TS: put<int64_t>(0); break;
      case T_I32: put<int32_t>(0); break;
      case T_BOOL: fixed.push_back(0); break;
      case T_NULL: break;
    }
  }
  void str(std::string_view s) {
    value();
    data.append(s.data(), s.size());
    offsets.push_back(static_cast<int32_t>(data.size()));
  }
  void i64(int64_t v) { value(); put<int64_t>(v); }
  void i32(int32_t v) { value(); put<int32_t>(v); }
  void f64(double v) { value(); put<double>(v); }
  void boolean(bool v) { value(); fixed.push_back(v ? 1 : 0); }
  // list<utf8>: begin (value), items, end
  void list_item(std::string_view s, bool is_null) {
    child_valid.push_back(is_null ? 0 : 1);
    data.append(s.data(), s.size());
    child_offsets.push_back(static_cast<int32_t>(data.size()));
  }
  void list_end() { offsets.push_back(static_cast<int32_t>(child_valid.size())); }
  // ring: begin (value), points, each a list of doubles, end
  void point_end() { child_offsets.push_back(static_cast<int32_t>(doubles.size())); }
  void ring_end() { offsets.push_back(static_cast<int32_t>(child_offsets.size() - 1)); }
  bool too_big() const {  // int32 offsets: keep every buffer well below 2 GiB
    return data.size() > (1u << 30) || doubles.size() > (1u << 27) ||
           child_valid.size() > (1u << 28) || child_offsets.size() > (1u << 28);
  }
};

// Export one finished column as an ArrowArray (the column is emptied).
ArrowArray* export_column(Column& col);
// A struct array (no nulls) of `length` rows over `children` (which it then owns).
ArrowArray* export_struct(std::vector<ArrowArray*>&& children, int64_t length);
// Release (if not imported) and free an exported array shell.
void free_exported(ArrowArray* arr);

}  // namespace af
