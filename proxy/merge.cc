// Merge implementation: decodes part replies with the scanner's helpers and
// re-encodes the combined reply (RESP2 framing; arrays keep elements' bytes).
#include "proxy/merge.h"

#include <string_view>

#include "proxy/resp_scanner.h"
#include "proxy/resp_writer.h"

namespace proxy {

namespace {

// First error among the parts, if any.
const std::string* first_error(const std::vector<std::string>& parts, size_t nparts) {
  for (size_t i = 0; i < nparts; ++i) {
    if (is_error_reply(parts[i])) {
      return &parts[i];
    }
  }
  return nullptr;
}

const std::string_view kBadPart = "-ERR foreshard: unexpected reply from a backend while merging\r\n";

}  // namespace

void merge_replies(Merge kind, const std::vector<std::string>& parts, size_t nparts,
                   const std::vector<uint16_t>& key_part, std::string& out) {
  if (const std::string* err = first_error(parts, nparts)) {
    out += *err;
    return;
  }
  RespWriter w(out, 2);
  switch (kind) {
    case Merge::Forward:
      out += parts[0];
      return;
    case Merge::Sum: {
      int64_t sum = 0;
      for (size_t i = 0; i < nparts; ++i) {
        int64_t v = 0;
        if (!decode_integer(parts[i], v)) {
          out += kBadPart;
          return;
        }
        sum += v;
      }
      w.integer(sum);
      return;
    }
    case Merge::AllOk:
      w.simple("OK");
      return;
    case Merge::KeyOrder: {
      // Each part is an array of its keys' values in the order it was sent.
      thread_local std::vector<std::vector<std::string_view>> elems;
      thread_local std::vector<size_t> cursor;
      if (elems.size() < nparts) {
        elems.resize(nparts);
      }
      cursor.assign(nparts, 0);
      for (size_t i = 0; i < nparts; ++i) {
        elems[i].clear();
        if (!split_aggregate(parts[i], elems[i])) {
          out += kBadPart;
          return;
        }
      }
      w.array(key_part.size());
      for (uint16_t p : key_part) {
        if (cursor[p] >= elems[p].size()) {
          out.resize(out.size());  // keep what was written; the reply is short
          out += kBadPart;
          return;
        }
        out.append(elems[p][cursor[p]++]);
      }
      return;
    }
    case Merge::Concat: {
      thread_local std::vector<std::string_view> all;
      thread_local std::vector<std::string_view> one;
      all.clear();
      for (size_t i = 0; i < nparts; ++i) {
        one.clear();
        if (!split_aggregate(parts[i], one)) {
          out += kBadPart;
          return;
        }
        all.insert(all.end(), one.begin(), one.end());
      }
      w.array(all.size());
      for (std::string_view e : all) {
        out.append(e);
      }
      return;
    }
    case Merge::AnyNonNil: {
      for (size_t i = 0; i < nparts; ++i) {
        std::string_view v;
        bool is_null = false;
        if (decode_simple_or_bulk(parts[i], v, is_null) && !is_null) {
          out += parts[i];
          return;
        }
      }
      out += parts[0];
      return;
    }
  }
}

}  // namespace proxy
