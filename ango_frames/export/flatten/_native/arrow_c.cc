// Hand-over of Column buffers as ArrowArray structs (see arrow_c.h).
#include "arrow_c.h"

#include <cstdlib>
#include <memory>

namespace af {
namespace {

// Owns the buffers of one exported array (and its children).
struct Holder {
  std::vector<ArrowArray*> kids;  // a struct's children
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<int32_t> offsets;
  std::string data;
  std::vector<double> doubles;
  const void* buffers[3] = {nullptr, nullptr, nullptr};
  ArrowArray* children[1] = {nullptr};
};

void release(ArrowArray* arr) {
  if (arr == nullptr || arr->release == nullptr) return;
  for (int64_t i = 0; i < arr->n_children; ++i) {
    ArrowArray* child = arr->children[i];
    if (child->release) child->release(child);
    delete child;
  }
  delete static_cast<Holder*>(arr->private_data);
  arr->release = nullptr;
}

// Packs per-row validity bytes into an Arrow bitmap; empty when there are no nulls.
std::vector<uint8_t> bitmap(const std::vector<uint8_t>& valid, int64_t* nulls) {
  std::vector<uint8_t> bits((valid.size() + 7) / 8 + 1, 0);
  int64_t n = 0;
  for (size_t i = 0; i < valid.size(); ++i) {
    if (valid[i]) {
      bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
    } else {
      ++n;
    }
  }
  *nulls = n;
  if (n == 0) bits.clear();
  return bits;
}

ArrowArray* shell(int64_t length, int64_t nulls, int64_t n_buffers, Holder* h) {
  auto* arr = new ArrowArray;
  arr->length = length;
  arr->null_count = nulls;
  arr->offset = 0;
  arr->n_buffers = n_buffers;
  arr->n_children = 0;
  arr->buffers = h->buffers;
  arr->children = h->children;
  arr->dictionary = nullptr;
  arr->release = release;
  arr->private_data = h;
  return arr;
}

// A validity buffer owned by `h` (nullptr when there are no nulls).
const void* own_bits(Holder* h, const std::vector<uint8_t>& valid, int64_t* nulls) {
  h->bytes.push_back(bitmap(valid, nulls));
  return h->bytes.back().empty() ? nullptr : h->bytes.back().data();
}

ArrowArray* doubles_array(std::vector<double>&& values) {
  auto* h = new Holder;
  h->doubles = std::move(values);
  if (h->doubles.empty()) h->doubles.reserve(1);
  h->buffers[1] = h->doubles.data();
  return shell(static_cast<int64_t>(h->doubles.size()), 0, 2, h);
}

}  // namespace

ArrowArray* export_column(Column& col) {
  const Mark sizes = col.mark();
  auto* h = new Holder;
  int64_t nulls = 0;
  const int64_t n = static_cast<int64_t>(col.valid.size());
  h->buffers[0] = own_bits(h, col.valid, &nulls);
  ArrowArray* arr = nullptr;
  switch (col.type) {
    case T_STR:
      h->offsets = std::move(col.offsets);
      h->data = std::move(col.data);
      h->buffers[1] = h->offsets.data();
      h->buffers[2] = h->data.data();
      arr = shell(n, nulls, 3, h);
      break;
    case T_LSTR: {
      h->offsets = std::move(col.offsets);
      h->buffers[1] = h->offsets.data();
      arr = shell(n, nulls, 2, h);
      auto* ch = new Holder;
      int64_t child_nulls = 0;
      ch->buffers[0] = own_bits(ch, col.child_valid, &child_nulls);
      ch->offsets = std::move(col.child_offsets);
      ch->data = std::move(col.data);
      ch->buffers[1] = ch->offsets.data();
      ch->buffers[2] = ch->data.data();
      h->children[0] = shell(static_cast<int64_t>(col.child_valid.size()), child_nulls, 3, ch);
      arr->n_children = 1;
      break;
    }
    case T_RING: {
      h->offsets = std::move(col.offsets);
      h->buffers[1] = h->offsets.data();
      arr = shell(n, nulls, 2, h);
      auto* ph = new Holder;  // the points: list<double>
      ph->offsets = std::move(col.child_offsets);
      ph->buffers[1] = ph->offsets.data();
      ArrowArray* points = shell(static_cast<int64_t>(ph->offsets.size() - 1), 0, 2, ph);
      ph->children[0] = doubles_array(std::move(col.doubles));
      points->n_children = 1;
      h->children[0] = points;
      arr->n_children = 1;
      break;
    }
    case T_BOOL: {
      int64_t unused = 0;
      h->bytes.push_back(bitmap(col.fixed, &unused));
      if (h->bytes.back().empty()) h->bytes.back().assign((n + 7) / 8 + 1, 0xFF);
      h->buffers[1] = h->bytes.back().data();
      arr = shell(n, nulls, 2, h);
      break;
    }
    default:  // fixed-width values
      h->bytes.push_back(std::move(col.fixed));
      if (h->bytes.back().empty()) h->bytes.back().resize(8);
      h->buffers[1] = h->bytes.back().data();
      arr = shell(n, nulls, 2, h);
  }
  col.hint = sizes;
  col.renew();
  return arr;
}

ArrowArray* export_struct(std::vector<ArrowArray*>&& children, int64_t length) {
  auto* h = new Holder;
  h->kids = std::move(children);
  ArrowArray* arr = shell(length, 0, 1, h);
  arr->n_children = static_cast<int64_t>(h->kids.size());
  arr->children = h->kids.data();
  return arr;
}

void free_exported(ArrowArray* arr) {
  if (arr == nullptr) return;
  if (arr->release) arr->release(arr);
  delete arr;
}

}  // namespace af
