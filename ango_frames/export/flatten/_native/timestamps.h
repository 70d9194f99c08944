// ISO-8601 export timestamps to epoch milliseconds, for the one shape the Python reader
// converts in bulk (ango_frames timestamps module, `_ISO`): YYYY-MM-DDTHH:MM:SS[.f{1,3}] and
// `Z` or +HH:MM / -HH:MM, year >= 1000. False for anything else (the record goes to Python).
#pragma once
#include <cstdint>
#include <string_view>

namespace af {

inline bool digits(std::string_view s, size_t at, size_t n, int* out) {
  int v = 0;
  for (size_t k = at; k < at + n; ++k) {
    const char c = s[k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

inline int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

inline bool iso_ms(std::string_view s, int64_t* out) {
  if (s.size() < 20) return false;
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, &y) || s[0] == '0' || s[4] != '-' || !digits(s, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, 8, 2, &d) || s[10] != 'T' || !digits(s, 11, 2, &h) ||
      s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' || !digits(s, 17, 2, &se)) {
    return false;
  }
  size_t at = 19;
  int ms = 0;
  if (s[at] == '.') {
    size_t k = at + 1;
    int scale = 100;
    while (k < s.size() && s[k] >= '0' && s[k] <= '9') {
      if (k - at > 3) return false;
      ms += (s[k] - '0') * scale;
      scale /= 10;
      ++k;
    }
    if (k == at + 1) return false;
    at = k;
  }
  int offset = 0;  // minutes east of UTC
  if (at + 1 == s.size() && s[at] == 'Z') {
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int oh, om;
    if (!digits(s, at + 1, 2, &oh) || !digits(s, at + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset = (oh * 60 + om) * (s[at] == '-' ? -1 : 1);
  } else {
    return false;
  }
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return false;
  const int64_t days = days_from_civil(y, mo, d);
  *out = (((days * 24 + h) * 60 + mi - offset) * 60 + se) * 1000 + ms;
  return true;
}

}  // namespace af
