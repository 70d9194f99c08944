// The strict JSON parser of json.h.
#include "json.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace af {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool hex4(const char* p, const char* e, uint32_t* out) {
  if (e - p < 4) return false;
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) {
    int h = hex(p[k]);
    if (h < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(h);
  }
  *out = v;
  return true;
}

void utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 when invalid.
int utf8_len(const unsigned char* p, const unsigned char* e) {
  unsigned c = p[0];
  int n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no encoded surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (e - p < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (int k = 2; k < n; ++k) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  }
  return n;
}

struct Plain {
  bool table[256];
  constexpr Plain() : table() {
    for (int c = 0x20; c < 0x80; ++c) table[c] = c != '"' && c != '\\';
  }
  constexpr bool operator[](unsigned char c) const { return table[c]; }
};
constexpr Plain PLAIN;

// The first byte at or after `q` that is not plain string text (printable ASCII other than `"`
// and `\`), or `e`: 16 bytes at a time where SSE2 is there.
const char* skip_plain(const char* q, const char* e) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (e - q >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    // signed bytes: below 0x20 are the controls and every byte >= 0x80
    const __m128i odd = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                  _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(odd);
    if (mask != 0) return q + __builtin_ctz(static_cast<unsigned>(mask));
    q += 16;
  }
#endif
  while (q < e && PLAIN[static_cast<unsigned char>(*q)]) ++q;
  return q;
}

// 10^k, k <= 22: every one exactly a double.
constexpr double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                            1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

}  // namespace

bool Doc::parse(const char* line, size_t n, int max_depth) {
  nodes_.clear();
  arena_.clear();
  if (arena_.capacity() < n) arena_.reserve(n);  // decoded strings never outgrow the line
  base_ = p_ = line;
  e_ = line + n;
  max_depth_ = std::min(max_depth, 1024);
  ws();
  if (p_ >= e_ || *p_ != '{') return false;
  if (!value(1)) return false;
  ws();
  return p_ == e_;
}

bool Doc::string(std::string_view* out) {
  // p_ is after the opening quote
  const char* start = p_;
  const char* q = p_;
  while (true) {  // fast path: no escapes
    q = skip_plain(q, e_);
    if (q >= e_) return false;
    unsigned char c = static_cast<unsigned char>(*q);
    if (c == '"') {
      *out = std::string_view(start, static_cast<size_t>(q - start));
      p_ = q + 1;
      return true;
    }
    if (c == '\\') break;
    if (c < 0x20) return false;
    int k = utf8_len(reinterpret_cast<const unsigned char*>(q),
                     reinterpret_cast<const unsigned char*>(e_));
    if (k == 0) return false;
    q += k;
  }
  if (q >= e_) return false;
  const size_t at = arena_.size();
  arena_.append(start, static_cast<size_t>(q - start));
  while (q < e_) {
    unsigned char c = static_cast<unsigned char>(*q);
    if (c == '"') {
      *out = std::string_view(arena_.data() + at, arena_.size() - at);
      p_ = q + 1;
      return true;
    }
    if (c < 0x20) return false;
    if (c == '\\') {
      if (++q >= e_) return false;
      switch (*q) {
        case '"': arena_.push_back('"'); break;
        case '\\': arena_.push_back('\\'); break;
        case '/': arena_.push_back('/'); break;
        case 'b': arena_.push_back('\b'); break;
        case 'f': arena_.push_back('\f'); break;
        case 'n': arena_.push_back('\n'); break;
        case 'r': arena_.push_back('\r'); break;
        case 't': arena_.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(q + 1, e_, &cp)) return false;
          q += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (e_ - q < 3 || q[1] != '\\' || q[2] != 'u' || !hex4(q + 3, e_, &lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;  // a lone low surrogate
          }
          utf8(arena_, cp);
          break;
        }
        default: return false;
      }
      ++q;
    } else if (c >= 0x80) {
      int k = utf8_len(reinterpret_cast<const unsigned char*>(q),
                       reinterpret_cast<const unsigned char*>(e_));
      if (k == 0) return false;
      arena_.append(q, static_cast<size_t>(k));
      q += k;
    } else {
      arena_.push_back(static_cast<char>(c));
      ++q;
    }
  }
  return false;
}

// The number s..q (valid JSON syntax, checked by the caller) when it is exactly what
// from_chars gives without calling it: an integer of at most 18 digits, or a decimal whose
// digits make an integer m < 2^53 scaled by 10^k, |k| <= 22 (then m and 10^|k| are exact
// doubles, and one multiplication or division rounds correctly). False: use from_chars.
static bool fast_number(const char* s, const char* q, bool is_int, Node* nd) {
  const bool negative = *s == '-';
  const char* t = s + (negative ? 1 : 0);
  uint64_t m = 0;
  int digits = 0, scale = 0;
  for (; t < q && *t >= '0' && *t <= '9'; ++t, ++digits) m = m * 10 + uint64_t(*t - '0');
  if (is_int) {
    if (digits > 18) return false;
    nd->kind = J_INT;
    nd->i = negative ? -static_cast<int64_t>(m) : static_cast<int64_t>(m);
    return true;
  }
#if FLT_EVAL_METHOD == 0
  if (t < q && *t == '.') {
    for (++t; t < q && *t >= '0' && *t <= '9'; ++t, ++digits, --scale)
      m = m * 10 + uint64_t(*t - '0');
  }
  if (digits > 18 || m > (uint64_t{1} << 53)) return false;
  if (t < q) {  // e / E, an optional sign, digits
    ++t;
    bool minus = false;
    if (*t == '+' || *t == '-') minus = *t++ == '-';
    int e = 0;
    for (int n = 0; t < q; ++t, ++n) {
      if (n == 4) return false;
      e = e * 10 + (*t - '0');
    }
    scale += minus ? -e : e;
  }
  if (scale < -22 || scale > 22) return false;
  double v = static_cast<double>(m);
  v = scale < 0 ? v / POW10[-scale] : v * POW10[scale];
  nd->kind = J_DBL;
  nd->d = negative ? -v : v;
  return true;
#else
  (void)nd;
  return false;
#endif
}

bool Doc::number() {
  Node& nd = nodes_.back();
  const char* s = p_;
  const char* q = p_;
  if (q < e_ && *q == '-') ++q;
  if (q >= e_) return false;
  if (*q == '0') {
    ++q;
  } else if (*q >= '1' && *q <= '9') {
    while (q < e_ && *q >= '0' && *q <= '9') ++q;
  } else {
    return false;
  }
  bool is_int = true;
  if (q < e_ && *q == '.') {
    is_int = false;
    ++q;
    const char* d = q;
    while (q < e_ && *q >= '0' && *q <= '9') ++q;
    if (q == d) return false;
  }
  if (q < e_ && (*q == 'e' || *q == 'E')) {
    is_int = false;
    ++q;
    if (q < e_ && (*q == '+' || *q == '-')) ++q;
    const char* d = q;
    while (q < e_ && *q >= '0' && *q <= '9') ++q;
    if (q == d) return false;
  }
  if (fast_number(s, q, is_int, &nd)) {
    p_ = q;
    return true;
  }
  if (is_int) {
    int64_t v = 0;
    auto r = std::from_chars(s, q, v);
    if (r.ec != std::errc() || r.ptr != q) return false;  // beyond int64: Python reads it
    nd.kind = J_INT;
    nd.i = v;
  } else {
    double v = 0;
    auto r = std::from_chars(s, q, v);
    if (r.ec != std::errc() || r.ptr != q || !std::isfinite(v)) return false;
    if (v == 0) {  // a zero is a zero; non-zero digits that round to 0 are an underflow
      for (const char* t = s; t < q && *t != 'e' && *t != 'E'; ++t) {
        if (*t >= '1' && *t <= '9') return false;
      }
    }
    nd.kind = J_DBL;
    nd.d = v;
  }
  p_ = q;
  return true;
}

bool Doc::distinct_keys(uint32_t obj) {
  const Node& o = nodes_[obj];
  if (o.count < 2) return true;
  if (o.count <= 16) {
    const Node* keys[16];
    uint32_t k = 0;
    for (uint32_t i = obj + 1; k < o.count; i = nodes_[i + 1].next) keys[k++] = &nodes_[i];
    for (uint32_t a = 0; a < k; ++a)
      for (uint32_t b = a + 1; b < k; ++b)
        if (keys[a]->s == keys[b]->s) return false;
    return true;
  }
  std::vector<std::string_view> keys;
  keys.reserve(o.count);
  for (uint32_t i = obj + 1, k = 0; k < o.count; i = nodes_[i + 1].next, ++k) {
    keys.push_back(nodes_[i].s);
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) == keys.end();
}

bool Doc::value(int depth) {
  ws();
  if (p_ >= e_) return false;
  const uint32_t me = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  {
    Node& nd = nodes_.back();
    nd.begin = static_cast<uint32_t>(p_ - base_);
    nd.count = 0;
    nd.b = false;
    nd.i = 0;
    nd.d = 0;
  }
  const char c = *p_;
  if (c == '{' || c == '[') {
    if (depth > max_depth_) return false;
    const bool obj = c == '{';
    ++p_;
    ws();
    uint32_t count = 0;
    if (p_ < e_ && *p_ == (obj ? '}' : ']')) {
      ++p_;
    } else {
      while (true) {
        if (obj) {
          ws();
          if (p_ >= e_ || *p_ != '"') return false;
          const uint32_t key = static_cast<uint32_t>(nodes_.size());
          nodes_.emplace_back();
          nodes_[key].begin = static_cast<uint32_t>(p_ - base_);
          ++p_;
          std::string_view s;
          if (!string(&s)) return false;
          nodes_[key].kind = J_STR;
          nodes_[key].s = s;
          nodes_[key].count = 0;
          nodes_[key].next = key + 1;
          nodes_[key].end = static_cast<uint32_t>(p_ - base_);
          ws();
          if (p_ >= e_ || *p_ != ':') return false;
          ++p_;
        }
        if (!value(depth + 1)) return false;
        ++count;
        ws();
        if (p_ >= e_) return false;
        if (*p_ == ',') {
          ++p_;
          continue;
        }
        if (*p_ == (obj ? '}' : ']')) {
          ++p_;
          break;
        }
        return false;
      }
    }
    Node& nd = nodes_[me];
    nd.kind = obj ? J_OBJ : J_ARR;
    nd.count = count;
    if (obj && !distinct_keys(me)) return false;
  } else if (c == '"') {
    ++p_;
    std::string_view s;
    if (!string(&s)) return false;
    nodes_[me].kind = J_STR;
    nodes_[me].s = s;
  } else if (c == 't' || c == 'f' || c == 'n') {
    const char* word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    const size_t len = std::strlen(word);
    if (static_cast<size_t>(e_ - p_) < len || std::memcmp(p_, word, len) != 0) return false;
    p_ += len;
    nodes_[me].kind = c == 'n' ? J_NULL : J_BOOL;
    nodes_[me].b = c == 't';
  } else {
    if (!number()) return false;
  }
  nodes_[me].next = static_cast<uint32_t>(nodes_.size());
  nodes_[me].end = static_cast<uint32_t>(p_ - base_);
  return true;
}

const Node* Doc::get(const Node* obj, std::string_view key) const {
  const Node* k = obj + 1;
  for (uint32_t i = 0; i < obj->count; ++i) {
    if (k->s == key) return k + 1;
    k = &nodes_[(k + 1)->next];
  }
  return nullptr;
}

}  // namespace af
