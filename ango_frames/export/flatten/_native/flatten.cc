// The walker of flatten.h: one v3 record to rows of the export tables (see the Python
// flattener's tasks / objects / geometry / answers modules for the rules mirrored here).
#include "flatten.h"

#include <cstring>
#include <initializer_list>

#include "timestamps.h"

namespace af {
namespace {

using Keys = std::initializer_list<std::string_view>;

const Keys ASSET_KEYS = {"asset", "assetId", "dataset", "externalId", "metadata", "batches",
                         "contextData", "task", "tasks", "data", "labeledAt", "reviewedAt",
                         "status", "labelDuration(ms)", "labelDuration", "consensus"};
// TASK_KEYS without `issues` (kept in `extra`: the Python engine does that)
const Keys TASK_KEYS = {"taskId", "stage", "stageId", "updatedAt", "updatedBy", "tools",
                        "objects", "classifications", "relations", "brushDataUrl",
                        "medicalBrushDataUrl", "stageHistory", "totalDuration",
                        "consensusAverage", "consensusDetailed", "status", "completedAt",
                        "completedBy", "duration(ms)", "duration", "isSkipped", "review",
                        "isBenchmark", "benchmark"};
const Keys REVIEW_KEYS = {"status", "completedBy", "completedAt", "duration(ms)", "duration"};
const Keys HISTORY_KEYS = {"stage", "stageId", "duration", "duration(ms)", "completedAt",
                           "completedBy", "tools", "objects", "classifications", "relations",
                           "brushDataUrl", "medicalBrushDataUrl", "reviewStatus"};
const Keys OBJECT_KEYS = {"objectId", "schemaId", "title", "classifications", "page",
                          "interpolationStopped", "medical-brush", "lock", "metadata",
                          "isKeyFrame", "keyFrame", "keyframe", "ocr"};
const Keys GEOMETRY_KEYS = {"bounding-box", "rotated-bounding-box", "polygon", "polyline",
                            "point", "segmentation", "ner", "pdf"};
const Keys CLASSIFICATION_KEYS = {"objectId", "schemaId", "title", "tool", "answer",
                                  "classifications", "page", "interpolationStopped",
                                  "columnField", "lock", "metadata"};
const Keys RELATION_KEYS = {"objectId", "schemaId", "title", "from", "to", "direction",
                            "group", "page", "metadata", "classifications"};
const Keys AUDIT_KEYS = {"createdAt", "createdBy", "createdIn", "updatedAt", "updatedBy",
                         "updatedIn", "description"};
const Keys BOX_KEYS = {"x", "y", "width", "height"};
const Keys RBOX_KEYS = {"x", "y", "width", "height", "rotation", "corners"};

constexpr int64_t F64_EXACT = int64_t{1} << 53;  // ints a float64 column holds exactly

// The position of `k` in `keys`, or keys.size() when it is not one of them.
int key_index(const Keys& keys, std::string_view k) {
  int at = 0;
  for (std::string_view x : keys) {
    if (x == k) break;
    ++at;
  }
  return at;
}

bool in(const Keys& keys, std::string_view k) {
  for (std::string_view x : keys)
    if (x == k) return true;
  return false;
}

std::vector<ColType> history(std::vector<ColType> t) {
  t.insert(t.begin() + 1, T_I32);
  return t;
}

const std::vector<ColType> AUDIT_T = {T_TS, T_STR, T_STR, T_TS, T_STR, T_STR, T_STR};
constexpr int N_AUDIT = 7;

std::vector<ColType> cat(std::vector<ColType> a, const std::vector<ColType>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<ColType> TASKS_T = {
    T_STR, T_STR, T_STR, T_STR, T_LSTR, T_STR, T_STR, T_LSTR, T_TS, T_STR,
    T_I64, T_F64, T_STR, T_STR, T_STR, T_I32, T_STR, T_TS, T_STR, T_I64,
    T_BOOL, T_BOOL, T_STR, T_STR, T_TS, T_STR, T_I64, T_TS, T_TS, T_STR};
const std::vector<ColType> OBJECTS_T = cat(
    cat({T_STR, T_STR, T_STR, T_STR, T_STR, T_I32, T_BOOL, T_BOOL, T_BOOL,
         T_F64, T_F64, T_F64, T_F64, T_F64, T_F64, T_F64, T_RING, T_RING, T_NULL,
         T_F64, T_F64, T_STR, T_I32, T_F64, T_F64, T_F64, T_F64, T_F64, T_F64, T_NULL,
         T_STR, T_STR, T_F64, T_F64, T_F64, T_BOOL, T_STR, T_F64},
        AUDIT_T),
    {T_STR});
const std::vector<ColType> CLASSIFICATIONS_T = cat(
    cat({T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_I32, T_BOOL, T_BOOL,
         T_LSTR, T_I32, T_BOOL, T_BOOL, T_BOOL},
        AUDIT_T),
    {T_STR});
const std::vector<ColType> RELATIONS_T = cat(
    cat({T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_STR, T_LSTR, T_I32}, AUDIT_T),
    {T_STR});
const std::vector<ColType> STAGE_HISTORY_T = {T_STR, T_I32, T_STR, T_STR, T_I64, T_TS,
                                              T_STR, T_STR, T_STR, T_STR, T_STR};
const std::vector<ColType> ISSUES_T = {T_NULL};  // issue records always go to Python

// objects columns
enum { O_SCHEMA = 2, O_TITLE, O_TOOL, O_PAGE, O_INTERP, O_KEYFRAME, O_BRUSH, O_X, O_Y, O_W,
       O_H, O_OX, O_OY, O_ROT, O_CORNERS, O_POINTS, O_LOCK = 35, O_OCR_TEXT, O_OCR_CONFIDENCE,
       O_AUDIT, O_N = O_AUDIT + N_AUDIT + 1 };
// classifications columns
enum { C_OBJECT = 1, C_ID, C_PARENT, C_SCHEMA, C_TITLE, C_TYPE, C_ANSWER, C_INDEX, C_IS_LIST,
       C_IS_JSON, C_PATH, C_PAGE, C_INTERP, C_COLUMN, C_LOCK, C_AUDIT, C_N = C_AUDIT + N_AUDIT + 1 };
// relations columns
enum { R_ID = 1, R_SCHEMA, R_TITLE, R_KIND, R_FROM, R_TO, R_DIRECTION, R_GROUP, R_PAGE,
       R_AUDIT, R_N = R_AUDIT + N_AUDIT + 1 };

V node(const Node* n) {
  V v;
  if (n != nullptr && n->kind != J_NULL) {
    v.k = V::NODE;
    v.n = n;
  }
  return v;
}
V str(std::string_view s) { V v; v.k = V::STR; v.s = s; return v; }
V integer(int64_t i) { V v; v.k = V::INT; v.i = i; return v; }
V dbl(double d) { V v; v.k = V::DBL; v.d = d; return v; }
V boolean(bool b) { V v; v.k = V::BOOL; v.i = b; return v; }
V made_id(int order, char tag, int64_t n, int64_t* made) {
  ++*made;
  V v;
  v.k = V::ID;
  v.order = order;
  v.tag = tag;
  v.i = n;
  return v;
}
bool is_null(const Node* n) { return n == nullptr || n->kind == J_NULL; }
bool number(const Node* n) {
  return n->kind == J_DBL || (n->kind == J_INT && n->i <= F64_EXACT && n->i >= -F64_EXACT);
}
double as_double(const Node* n) { return n->kind == J_DBL ? n->d : static_cast<double>(n->i); }

void append_int(std::string& s, int64_t v) {
  char buf[24];
  int k = 0;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    buf[k++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) s.push_back('-');
  while (k) s.push_back(buf[--k]);
}

}  // namespace

const std::vector<ColType>& table_types(int table) {
  static const std::vector<ColType>* all[N_TABLES] = {
      &TASKS_T, &OBJECTS_T, &CLASSIFICATIONS_T, &RELATIONS_T, &STAGE_HISTORY_T,
      new std::vector<ColType>(history(OBJECTS_T)),
      new std::vector<ColType>(history(CLASSIFICATIONS_T)),
      new std::vector<ColType>(history(RELATIONS_T)), &ISSUES_T};
  return *all[table];
}

Core::Core() {
  for (int t = 0; t < N_TABLES; ++t) {
    std::vector<Column> cols;
    for (ColType type : table_types(t)) cols.emplace_back(type);
    tables_.push_back(std::move(cols));
  }
}

bool Core::put(Column& col, const V& v, std::string_view tid) {
  if (v.k == V::NUL) {
    col.null();
    return true;
  }
  const Node* n = v.n;
  switch (col.type) {
    case T_STR:
      if (v.k == V::STR) {
        col.str(v.s);
      } else if (v.k == V::ID) {
        col.value();
        col.data.append(tid.data(), tid.size());
        if (v.order >= 0) {
          col.data.append("/h");
          append_int(col.data, v.order);
        }
        col.data.push_back('/');
        col.data.push_back(v.tag);
        append_int(col.data, v.i);
        col.offsets.push_back(static_cast<int32_t>(col.data.size()));
      } else if (v.k == V::NODE && n->kind == J_STR) {
        col.str(n->s);
      } else {
        return false;
      }
      return true;
    case T_I64:
      if (v.k == V::INT) col.i64(v.i);
      else if (v.k == V::NODE && n->kind == J_INT) col.i64(n->i);
      else return false;
      return true;
    case T_I32: {
      int64_t i;
      if (v.k == V::INT) i = v.i;
      else if (v.k == V::NODE && n->kind == J_INT) i = n->i;
      else return false;
      if (i < INT32_MIN || i > INT32_MAX) return false;
      col.i32(static_cast<int32_t>(i));
      return true;
    }
    case T_F64:
      if (v.k == V::DBL) col.f64(v.d);
      else if (v.k == V::INT && v.i <= F64_EXACT && v.i >= -F64_EXACT) col.f64(double(v.i));
      else if (v.k == V::NODE && number(n)) col.f64(as_double(n));
      else return false;
      return true;
    case T_BOOL:
      if (v.k == V::BOOL) col.boolean(v.i != 0);
      else if (v.k == V::NODE && n->kind == J_BOOL) col.boolean(n->b);
      else return false;
      return true;
    case T_TS: {
      if (v.k != V::NODE) return false;
      int64_t ms;
      if (n->kind == J_INT) ms = n->i;
      else if (n->kind != J_STR || !iso_ms(n->s, &ms)) return false;
      col.i64(ms);
      return true;
    }
    case T_LSTR:
      if (v.k == V::SPLIT) {  // tree-dropdown path: split on " / "
        col.value();
        std::string_view s = v.s;
        while (true) {
          size_t at = s.find(" / ");
          col.list_item(s.substr(0, at), false);
          if (at == std::string_view::npos) break;
          s.remove_prefix(at + 3);
        }
        col.list_end();
        return true;
      }
      if (v.k == V::WRAP && n->kind == J_STR) {  // a scalar where a list belongs: [s]
        col.value();
        col.list_item(n->s, false);
        col.list_end();
        return true;
      }
      if ((v.k != V::NODE && v.k != V::WRAP) || n->kind != J_ARR) return false;
      col.value();  // a failed record is reset to its marks
      for (const Node* e = n + 1; e != doc_.after(n); e = doc_.after(e)) {
        if (e->kind == J_STR) col.list_item(e->s, false);
        else if (e->kind == J_NULL) col.list_item({}, true);
        else return false;
      }
      col.list_end();
      return true;
    case T_RING: {
      if (v.k == V::RING1) {  // a point [x, y] -> [[x, y]]
        col.value();
        for (const Node* c = n + 1; c != doc_.after(n); c = doc_.after(c)) {
          if (!number(c)) return false;
          col.doubles.push_back(as_double(c));
        }
        col.point_end();
        col.ring_end();
        return true;
      }
      if (v.k != V::NODE || n->kind != J_ARR) return false;
      col.value();
      for (const Node* p = n + 1; p != doc_.after(n); p = doc_.after(p)) {
        if (p->kind != J_ARR) return false;
        for (const Node* c = p + 1; c != doc_.after(p); c = doc_.after(c)) {
          if (!number(c)) return false;
          col.doubles.push_back(as_double(c));
        }
        col.point_end();
      }
      col.ring_end();
      return true;
    }
    case T_NULL:
      return false;
  }
  return false;
}

bool Core::commit(int table, V* vals, int order) {
  std::vector<Column>& cols = tables_[table];
  const std::string_view tid = vals[0].s;
  Column* col = cols.data();
  const size_t n = cols.size();
  size_t c = 0, shift = 0;
  if (order >= 0) {  // a history table: the snapshot's order is its second column
    if (!put(col[0], vals[0], tid) || !put(col[1], integer(order), tid)) return false;
    c = 2;
    shift = 1;
  }
  for (; c < n; ++c) {
    const V& v = vals[c - shift];
    if (v.k == V::NUL) {
      col[c].null();  // most cells: inlined, and only counted while the column is lazy
    } else if (!put(col[c], v, tid)) {
      return false;
    }
  }
  return true;
}

bool Core::audit(const Node* meta, V* out) {
  for (int k = 0; k < N_AUDIT; ++k) out[k] = V();
  if (is_null(meta)) return true;
  if (meta->kind != J_OBJ) return false;
  const Node* k = meta + 1;
  for (uint32_t i = 0; i < meta->count; ++i, k = doc_.after(k + 1)) {
    const int at = key_index(AUDIT_KEYS, k->s);
    if (at == N_AUDIT) return false;
    out[at] = node(k + 1);
  }
  return true;
}

bool Core::classifications(const Node* list, std::string_view tid, int order, V object_id,
                           V parent, int64_t* counter) {
  if (list->kind != J_ARR) return false;
  V row[C_N];
  for (const Node* item = list + 1; item != doc_.after(list); item = doc_.after(item)) {
    if (item->kind != J_OBJ) return false;
    for (auto& v : row) v = V();
    const Node *oid = nullptr, *tool = nullptr, *answer = nullptr, *children = nullptr,
               *meta = nullptr;
    const Node* k = item + 1;
    for (uint32_t i = 0; i < item->count; ++i, k = doc_.after(k + 1)) {
      const std::string_view key = k->s;
      const Node* val = k + 1;
      if (key == "objectId") oid = val;
      else if (key == "schemaId") row[C_SCHEMA] = node(val);
      else if (key == "title") row[C_TITLE] = node(val);
      else if (key == "tool") tool = val;
      else if (key == "answer") answer = val;
      else if (key == "classifications") children = val;
      else if (key == "page") row[C_PAGE] = node(val);
      else if (key == "interpolationStopped") row[C_INTERP] = node(val);
      else if (key == "columnField") row[C_COLUMN] = node(val);
      else if (key == "lock") row[C_LOCK] = node(val);
      else if (key == "metadata") meta = val;
      else return false;
    }
    V cid;
    if (is_null(oid)) cid = made_id(order, 'c', *counter, &made_);
    else if (oid->kind == J_STR) cid = str(oid->s);
    else return false;
    ++*counter;
    if (!is_null(tool) && tool->kind != J_STR) return false;
    const bool tree = !is_null(tool) && tool->s == "tree-dropdown";
    if (!audit(meta, row + C_AUDIT)) return false;
    row[0] = str(tid);
    row[C_OBJECT] = object_id;
    row[C_ID] = cid;
    row[C_PARENT] = parent;
    row[C_TYPE] = node(tool);
    const int table = order < 0 ? CLASSIFICATIONS : HISTORY_CLASSIFICATIONS;
    if (!is_null(answer) && answer->kind == J_ARR) {
      row[C_IS_LIST] = boolean(true);
      row[C_IS_JSON] = boolean(false);
      if (answer->count == 0 && !commit(table, row, order)) return false;
      int64_t i = 0;
      for (const Node* a = answer + 1; a != doc_.after(answer); a = doc_.after(a), ++i) {
        row[C_INDEX] = integer(i);
        row[C_PATH] = V();
        if (a->kind == J_NULL) {  // a null stays a null
          row[C_ANSWER] = V();
          if (!commit(table, row, order)) return false;
          continue;
        }
        if (a->kind != J_STR) return false;  // JSON text of a non-string: Python
        row[C_ANSWER] = str(a->s);
        if (tree) {
          row[C_PATH].k = V::SPLIT;
          row[C_PATH].s = a->s;
        }
        if (!commit(table, row, order)) return false;
      }
    } else if (is_null(answer) || answer->kind == J_STR) {
      row[C_ANSWER] = node(answer);
      row[C_IS_LIST] = boolean(false);
      row[C_IS_JSON] = boolean(false);
      if (tree && !is_null(answer)) {
        row[C_PATH].k = V::SPLIT;
        row[C_PATH].s = answer->s;
      }
      if (!commit(table, row, order)) return false;
    } else {
      return false;
    }
    if (!is_null(children) && !(children->kind == J_ARR && children->count == 0)) {
      if (!classifications(children, tid, order, object_id, cid, counter)) return false;
    }
  }
  return true;
}

bool Core::object(const Node* entry, std::string_view tid, int order, int64_t n,
                  int64_t* counter) {
  if (entry->kind != J_OBJ) return false;
  V row[O_N];
  const Node *oid = nullptr, *geom = nullptr, *meta = nullptr, *nested = nullptr;
  const Node *is_kf = nullptr, *key_frame = nullptr, *keyframe = nullptr, *ocr = nullptr;
  std::string_view tool;
  const Node* k = entry + 1;
  for (uint32_t i = 0; i < entry->count; ++i, k = doc_.after(k + 1)) {
    const std::string_view key = k->s;
    const Node* val = k + 1;
    if (key == "objectId") oid = val;
    else if (key == "schemaId") row[O_SCHEMA] = node(val);
    else if (key == "title") row[O_TITLE] = node(val);
    else if (key == "classifications") nested = val;
    else if (key == "page") row[O_PAGE] = node(val);
    else if (key == "interpolationStopped") row[O_INTERP] = node(val);
    else if (key == "medical-brush") row[O_BRUSH] = node(val);
    else if (key == "lock") row[O_LOCK] = node(val);
    else if (key == "metadata") meta = val;
    else if (key == "isKeyFrame") is_kf = val;
    else if (key == "keyFrame") key_frame = val;
    else if (key == "keyframe") keyframe = val;
    else if (key == "ocr") ocr = val;
    else if (geom == nullptr && in(GEOMETRY_KEYS, key)) {
      geom = val;
      tool = key;
    } else {
      return false;  // a second geometry, frames, masks, an undocumented tool: Python
    }
  }
  if (!is_null(ocr)) {  // text, or {text, confidence}
    if (ocr->kind == J_STR) {
      row[O_OCR_TEXT] = node(ocr);
    } else if (ocr->kind == J_OBJ) {
      for (const Node* o = ocr + 1; o != doc_.after(ocr); o = doc_.after(o + 1)) {
        if (o->s == "text") row[O_OCR_TEXT] = node(o + 1);
        else if (o->s == "confidence") row[O_OCR_CONFIDENCE] = node(o + 1);
        else return false;
      }
    } else {
      return false;
    }
  }
  if (geom != nullptr) {
    row[O_TOOL] = str(tool);
    if (tool == "polygon" || tool == "polyline") {
      if (geom->kind != J_ARR) return false;
      row[O_POINTS] = node(geom);
      if (tool == "polyline" && geom->count > 0) {  // vertices [x, y, z]: a 3D line
        bool all3 = true;
        for (const Node* v = geom + 1; v != doc_.after(geom); v = doc_.after(v)) {
          if (v->kind == J_OBJ) return false;  // {x, y, z} vertices: Python
          all3 = all3 && v->kind == J_ARR && v->count == 3;
        }
        if (all3) row[O_TOOL] = str("line-3d");
      }
    } else if (tool == "point") {
      if (geom->kind != J_ARR || geom->count != 2) return false;
      const Node* x = geom + 1;
      const Node* y = doc_.after(x);
      row[O_X] = node(x);
      row[O_Y] = node(y);
      row[O_POINTS].k = V::RING1;
      row[O_POINTS].n = geom;
    } else if (tool == "bounding-box" || tool == "rotated-bounding-box") {
      if (geom->kind != J_OBJ) return false;
      const bool rotated = tool == "rotated-bounding-box";
      const Node *x = nullptr, *y = nullptr, *w = nullptr, *h = nullptr;
      const Node* g = geom + 1;
      for (uint32_t i = 0; i < geom->count; ++i, g = doc_.after(g + 1)) {
        const std::string_view key = g->s;
        const Node* val = g + 1;
        if (key == "x") x = val;
        else if (key == "y") y = val;
        else if (key == "width") w = val;
        else if (key == "height") h = val;
        else if (rotated && key == "rotation") row[O_ROT] = node(val);
        else if (rotated && key == "corners") row[O_CORNERS] = node(val);
        else return false;  // x1 (a PDF area), objectId, unknown keys: Python
      }
      for (const Node* v : {x, y, w, h})
        if (!is_null(v) && !number(v)) return false;
      row[O_OX] = node(x);
      row[O_OY] = node(y);
      V vx = node(x), vy = node(y), vw = node(w), vh = node(h);
      // top-left corner and positive size from the first-clicked corner and signed size
      auto flip = [&](const Node* pos, const Node* size, V* vp, V* vs) -> bool {
        if (is_null(pos) || is_null(size) || as_double(size) >= 0) return true;
        if (size->kind == J_INT) *vs = integer(-size->i);
        else *vs = dbl(-size->d);
        if (pos->kind == J_INT && size->kind == J_INT) {
          const int64_t sum = pos->i + size->i;
          if (sum > F64_EXACT || sum < -F64_EXACT) return false;
          *vp = integer(sum);
        } else {
          *vp = dbl(as_double(pos) + as_double(size));
        }
        return true;
      };
      if (!flip(x, w, &vx, &vw) || !flip(y, h, &vy, &vh)) return false;
      row[O_X] = vx;
      row[O_Y] = vy;
      row[O_W] = vw;
      row[O_H] = vh;
    } else {
      return false;  // segmentation, ner, pdf: Python
    }
  }
  V id;
  if (is_null(oid)) id = made_id(order, 'o', n, &made_);
  else if (oid->kind == J_STR) id = str(oid->s);
  else return false;
  row[0] = str(tid);
  row[1] = id;
  const Node* kf = !is_null(is_kf) ? is_kf : !is_null(key_frame) ? key_frame : keyframe;
  row[O_KEYFRAME] = node(kf);
  if (!audit(meta, row + O_AUDIT)) return false;
  if (!commit(order < 0 ? OBJECTS : HISTORY_OBJECTS, row, order)) return false;
  if (!is_null(nested) && !(nested->kind == J_ARR && nested->count == 0)) {
    if (!classifications(nested, tid, order, id, V(), counter)) return false;
  }
  return true;
}

bool Core::objects(const Node* list, std::string_view tid, int order, int64_t* counter,
                   int64_t start) {
  if (list->kind != J_ARR) return false;
  int64_t n = start;
  for (const Node* e = list + 1; e != doc_.after(list); e = doc_.after(e), ++n)
    if (!object(e, tid, order, n, counter)) return false;
  return true;
}

bool Core::relations(const Node* list, std::string_view tid, int order, int64_t* counter) {
  if (list->kind != J_ARR) return false;
  int64_t n = 0;
  V row[R_N];
  for (const Node* item = list + 1; item != doc_.after(list); item = doc_.after(item), ++n) {
    if (item->kind != J_OBJ) return false;
    for (auto& v : row) v = V();
    const Node *oid = nullptr, *meta = nullptr, *nested = nullptr, *group = nullptr;
    const Node* k = item + 1;
    for (uint32_t i = 0; i < item->count; ++i, k = doc_.after(k + 1)) {
      const std::string_view key = k->s;
      const Node* val = k + 1;
      if (key == "objectId") oid = val;
      else if (key == "schemaId") row[R_SCHEMA] = node(val);
      else if (key == "title") row[R_TITLE] = node(val);
      else if (key == "from") row[R_FROM] = node(val);
      else if (key == "to") row[R_TO] = node(val);
      else if (key == "direction") row[R_DIRECTION] = node(val);
      else if (key == "group") group = val;
      else if (key == "page") row[R_PAGE] = node(val);
      else if (key == "metadata") meta = val;
      else if (key == "classifications") nested = val;
      else return false;
    }
    V id;
    if (is_null(oid)) id = made_id(order, 'r', n, &made_);
    else if (oid->kind == J_STR) id = str(oid->s);
    else return false;
    if (!audit(meta, row + R_AUDIT)) return false;
    row[0] = str(tid);
    row[R_ID] = id;
    row[R_KIND] = str(is_null(group) ? "single" : "group");
    row[R_GROUP] = node(group);
    if (!commit(order < 0 ? RELATIONS : HISTORY_RELATIONS, row, order)) return false;
    if (!is_null(nested) && !(nested->kind == J_ARR && nested->count == 0)) {
      if (!classifications(nested, tid, order, id, V(), counter)) return false;
    }
  }
  return true;
}

bool Core::content(const Node* holder, std::string_view tid, int order) {
  int64_t counter = 0;  // classifications of this task (or snapshot), depth first
  int64_t start = 0;    // `objects` beside `tools` continue their numbering
  const Node* lists[4] = {doc_.get(holder, "tools"), doc_.get(holder, "objects"),
                          doc_.get(holder, "classifications"), doc_.get(holder, "relations")};
  for (int i = 0; i < 4; ++i) {
    const Node* l = lists[i];
    if (is_null(l) || (l->kind == J_ARR && l->count == 0)) continue;
    bool ok = i < 2   ? objects(l, tid, order, &counter, start)
              : i == 2 ? classifications(l, tid, order, V(), V(), &counter)
                       : relations(l, tid, order, &counter);
    if (!ok) return false;
    if (i < 2) start += l->count;
  }
  return true;
}

bool Core::task(const Node* asset, const Node* task, std::vector<int64_t>& dyn, size_t base) {
  V row[30];
  const Node* a[16] = {};  // asset values, in ASSET_KEYS order
  bool has_data = false, has_status = false, has_label_ms = false;
  for (const Node* k = asset + 1; k != doc_.after(asset); k = doc_.after(k + 1)) {
    const int at = key_index(ASSET_KEYS, k->s);
    if (at == 16) return false;
    a[at] = k + 1;
    has_data |= at == 9;
    has_status |= at == 12;
    has_label_ms |= at == 13;
  }
  const Node* t[24] = {};  // task values, in TASK_KEYS order
  bool has_duration_ms = false;
  for (const Node* k = task + 1; k != doc_.after(task); k = doc_.after(k + 1)) {
    const int at = key_index(TASK_KEYS, k->s);
    if (at == 24) return false;  // unknown, or `issues` (kept in extra)
    t[at] = k + 1;
    has_duration_ms |= at == 18;
  }
  if (!is_null(a[8])) return false;  // `tasks` beside `task`: kept in extra, by Python
  const Node* tid = t[0];
  if (is_null(tid) || tid->kind != J_STR) return false;  // a made-up task id: Python
  row[0] = str(tid->s);
  row[1] = node(a[1]);
  row[2] = node(a[3]);
  if (!is_null(a[0])) {
    if (has_data) return false;  // `data` beside `asset` goes to extra
    row[3] = node(a[0]);
  } else {
    row[3] = node(a[9]);
  }
  row[4] = node(a[2]);
  row[4].k = row[4].k == V::NODE ? V::WRAP : V::NUL;
  row[5] = node(t[1]);
  row[6] = node(t[2]);
  row[7] = node(a[5]);
  row[7].k = row[7].k == V::NODE ? V::WRAP : V::NUL;
  row[8] = node(t[3]);
  row[9] = node(t[4]);
  row[10] = !is_null(t[12]) ? node(t[12]) : has_label_ms ? node(a[13]) : node(a[14]);
  row[11] = !is_null(t[13]) ? node(t[13]) : node(a[15]);
  if (!is_null(t[14])) return false;  // consensusDetailed: JSON text, by Python
  row[13] = node(t[9]);
  row[14] = node(t[10]);
  row[15] = integer(0);
  if (!is_null(t[15])) {
    if (has_status) return false;  // the asset's status goes to extra
    row[16] = node(t[15]);
  } else {
    row[16] = node(a[12]);
  }
  row[17] = node(t[16]);
  row[18] = node(t[17]);
  row[19] = has_duration_ms ? node(t[18]) : node(t[19]);
  row[20] = node(t[20]);
  row[21] = node(t[22]);
  row[22] = node(t[23]);
  const Node* review = t[21];
  if (!is_null(review)) {
    if (review->kind != J_OBJ) return false;
    const Node* r[5] = {};
    bool review_ms = false;
    for (const Node* k = review + 1; k != doc_.after(review); k = doc_.after(k + 1)) {
      const int at = key_index(REVIEW_KEYS, k->s);
      if (at == 5) return false;
      r[at] = k + 1;
      review_ms |= at == 3;
    }
    row[23] = node(r[0]);
    row[24] = node(r[2]);
    row[25] = node(r[1]);
    row[26] = review_ms ? node(r[3]) : node(r[4]);
  }
  row[27] = node(a[10]);
  row[28] = node(a[11]);
  for (int i : {4, 6}) {  // metadata, contextData: dynamic columns, typed by Python
    const Node* d = a[i];
    if (!is_null(d) && d->kind != J_OBJ) return false;
    dyn.push_back(is_null(d) ? -1 : static_cast<int64_t>(base + d->begin));
    dyn.push_back(is_null(d) ? -1 : static_cast<int64_t>(base + d->end));
  }
  if (!commit(TASKS, row, -1)) return false;
  const std::string_view id = tid->s;
  if (!content(task, id, -1)) return false;
  const Node* hist = t[11];
  if (is_null(hist)) return true;
  if (hist->kind != J_ARR) return false;
  int order = 0;
  for (const Node* snap = hist + 1; snap != doc_.after(hist); snap = doc_.after(snap), ++order) {
    if (snap->kind != J_OBJ) return false;
    V h[10];
    const Node* s[13] = {};
    bool has_duration = false;
    for (const Node* k = snap + 1; k != doc_.after(snap); k = doc_.after(k + 1)) {
      const int at = key_index(HISTORY_KEYS, k->s);
      if (at == 13) return false;
      s[at] = k + 1;
      has_duration |= at == 2;
    }
    h[0] = str(id);
    h[1] = node(s[0]);
    h[2] = node(s[1]);
    h[3] = has_duration ? node(s[2]) : node(s[3]);
    h[4] = node(s[4]);
    h[5] = node(s[5]);
    h[6] = node(s[10]);
    h[7] = node(s[11]);
    h[8] = node(s[12]);
    if (!commit(STAGE_HISTORY, h, order)) return false;
    if (!content(snap, id, order)) return false;
  }
  return true;
}

bool Core::record(const char* line, size_t n, int max_depth, std::vector<int64_t>& dyn) {
  if (!doc_.parse(line, n, max_depth)) return false;
  const Node* root = &doc_.root();
  const Node* task = doc_.get(root, "task");
  if (task == nullptr || task->kind != J_OBJ) return false;  // legacy, bare, issue: Python
  return this->task(root, task, dyn, static_cast<size_t>(line - base_));
}

Result Core::run(const char* data, size_t n, size_t pos, const int64_t* pending, int wanted,
                 int64_t batch_rows, int max_depth) {
  Result res;
  base_ = data;
  for (auto& cols : tables_)
    for (auto& c : cols)
      if (c.size() != 0) c.renew();  // left over (all null, or a table nobody took)
  std::vector<Mark>& marks = marks_;
  size_t m_first[N_TABLES];  // where each table's marks start
  while (pos < n) {
    const char* line = data + pos;
    const char* nl = static_cast<const char*>(std::memchr(line, '\n', n - pos));
    const size_t len = nl ? static_cast<size_t>(nl - line) : n - pos;
    const size_t next = nl ? pos + len + 1 : n;
    bool blank = true;  // bytes.isspace(): the Python reader skips such lines
    for (size_t i = 0; i < len && blank; ++i) {
      const char c = line[i];
      blank = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\x0b' || c == '\x0c';
    }
    if (blank) {
      pos = next;
      ++res.lines;
      continue;
    }
    marks.clear();
    for (int t = 0; t < N_TABLES; ++t) {
      m_first[t] = marks.size();
      for (auto& c : tables_[t]) marks.push_back(c.mark());
    }
    const size_t dyn_mark = res.dynamic.size();
    bool big = false;
    made_ = 0;
    const bool ok = record(line, len, max_depth, res.dynamic);
    if (ok) {
      for (auto& cols : tables_)
        for (auto& c : cols) big |= c.too_big();
    }
    if (!ok || big) {
      size_t m = 0;
      for (auto& cols : tables_)
        for (auto& c : cols) c.reset(marks[m++]);
      res.dynamic.resize(dyn_mark);
      if (!ok || res.records == 0) {
        res.status = FALLBACK;
        res.pos = pos;
        return res;
      }
      res.status = END;  // buffers near 2 GiB: end the segment before this record
      res.pos = pos;
      return res;
    }
    bool full = false;
    for (int t = 0; t < N_TABLES; ++t) {
      const int64_t now = rows(t);
      res.counts.push_back(now - static_cast<int64_t>(marks[m_first[t]].rows));
      if ((wanted >> t) & 1) full |= pending[t] + now >= batch_rows;
    }
    res.counts.push_back(made_);
    res.counts.push_back(static_cast<int64_t>(pos));
    res.counts.push_back(res.lines);
    pos = next;
    ++res.lines;
    ++res.records;
    if (full) {
      res.status = FULL;
      res.pos = pos;
      return res;
    }
  }
  res.status = END;
  res.pos = pos;
  return res;
}

}  // namespace af
