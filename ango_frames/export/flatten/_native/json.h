// A strict JSON DOM parser for one ndjson line (one export record).
//
// It accepts exactly what it is sure orjson reads the same way and refuses the rest: invalid
// JSON, invalid UTF-8, a lone surrogate, an integer outside int64, a float outside double
// range, a duplicate key, nesting deeper than the limit. A refused line is not an error here:
// the record goes to the Python reader, which raises the positioned error (or reads it).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace af {

enum Kind : uint8_t { J_NULL, J_BOOL, J_INT, J_DBL, J_STR, J_ARR, J_OBJ };

struct Node {
  Kind kind;
  bool b;
  uint32_t count;  // elements of an array, pairs of an object
  uint32_t next;   // index of the node after this value's subtree
  uint32_t begin, end;  // byte span of the value in the line
  int64_t i;
  double d;
  std::string_view s;  // string contents (decoded), or key text
};

class Doc {
 public:
  // Parse `line` (without its newline). False: not something this parser vouches for.
  bool parse(const char* line, size_t n, int max_depth);
  const Node& root() const { return nodes_[0]; }
  const Node* at(uint32_t i) const { return &nodes_[i]; }
  // The value of `key` in object `obj` (nullptr when absent).
  const Node* get(const Node* obj, std::string_view key) const;
  uint32_t index(const Node* n) const { return static_cast<uint32_t>(n - nodes_.data()); }
  // first child / next sibling (objects: key nodes; a key's value is key + 1)
  const Node* first(const Node* n) const { return n + 1; }
  const Node* after(const Node* n) const { return &nodes_[n->next]; }

 private:
  bool value(int depth);
  bool string(std::string_view* out);
  bool number();
  bool distinct_keys(uint32_t obj);
  void ws() {  // most calls meet no whitespace at all (compact JSON): one test for those
    if (p_ < e_ && static_cast<unsigned char>(*p_) > ' ') return;
    while (p_ < e_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }

  std::vector<Node> nodes_;
  std::string arena_;
  const char* base_ = nullptr;
  const char* p_ = nullptr;
  const char* e_ = nullptr;
  int max_depth_ = 64;
};

}  // namespace af
