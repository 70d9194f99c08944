// The native flattening core: ndjson lines of v3 export records -> Arrow columns of the export
// tables, row for row what the Python flattener (ango_frames flatten module) gives.
//
// The core walks only what it fully understands: a v3 asset with a `task` holding a string
// `taskId`, documented keys at every level, values of the column's own type. Anything else
// (an unknown key, an odd type, a legacy shape, a made-up task id, a value that would land in
// `extra`) stops the block at that record: the caller hands it to the Python flattener, so
// that rows, their order and every made-up id stay exactly what the Python engine gives.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "arrow_c.h"
#include "json.h"

namespace af {

enum Table : int {
  TASKS, OBJECTS, CLASSIFICATIONS, RELATIONS, STAGE_HISTORY,
  HISTORY_OBJECTS, HISTORY_CLASSIFICATIONS, HISTORY_RELATIONS, ISSUES, N_TABLES
};

// The column types of every table, in schema order.
const std::vector<ColType>& table_types(int table);

// A value for one cell, converted and checked against the column's type on commit.
struct V {
  enum K : uint8_t { NUL, NODE, STR, ID, INT, DBL, BOOL, WRAP, SPLIT, RING1 } k = NUL;
  const Node* n = nullptr;
  std::string_view s;
  int64_t i = 0;
  double d = 0;
  int order = -1;  // ID: the history snapshot, -1 for none
  char tag = 0;    // ID: 'o', 'c' or 'r'
};

enum Status : int { END = 0, FULL = 1, FALLBACK = 2 };

struct Result {
  size_t pos = 0;        // where reading stopped (the start of the fallback line)
  int64_t lines = 0;     // lines consumed (blank ones included)
  int64_t records = 0;   // records flattened
  Status status = END;
  // per task row: byte spans of `metadata` and `contextData` (-1: absent or null)
  std::vector<int64_t> dynamic;
  // per record flattened: its rows in each table (N_TABLES counts), then the ids it made up,
  // the byte offset of its line and the line's index from the start of this run
  std::vector<int64_t> counts;
};

class Core {
 public:
  Core();
  // Flatten the lines of data[pos:n] until the end, a fallback record, or a full window:
  // `pending[t]` rows are already in the window of table t, and the window is full when a
  // wanted table (bit t of `wanted`) reaches `batch_rows`. Runs without the GIL.
  Result run(const char* data, size_t n, size_t pos, const int64_t* pending, int wanted,
             int64_t batch_rows, int max_depth);
  std::vector<Column>& columns(int table) { return tables_[table]; }
  int64_t rows(int table) const { return static_cast<int64_t>(tables_[table][0].size()); }

 private:
  bool record(const char* line, size_t n, int max_depth, std::vector<int64_t>& dyn);
  bool task(const Node* asset, const Node* task, std::vector<int64_t>& dyn, size_t base);
  bool content(const Node* holder, std::string_view tid, int order);
  bool objects(const Node* list, std::string_view tid, int order, int64_t* counter,
               int64_t start);
  bool object(const Node* entry, std::string_view tid, int order, int64_t n, int64_t* counter);
  bool classifications(const Node* list, std::string_view tid, int order, V object_id,
                       V parent, int64_t* counter);
  bool relations(const Node* list, std::string_view tid, int order, int64_t* counter);
  bool audit(const Node* meta, V* out);
  bool commit(int table, V* vals, int order);
  bool put(Column& col, const V& v, std::string_view tid);

  Doc doc_;
  std::vector<std::vector<Column>> tables_;
  const char* base_ = nullptr;  // the block being read (spans of dynamic values)
  std::vector<Mark> marks_;     // column sizes before the current record
  int64_t made_ = 0;            // ids made up for the current record's children
};

}  // namespace af
