// Merge implementation: decodes part replies with the scanner's helpers and
// re-encodes the combined reply (RESP2 framing; arrays keep elements' bytes).
#include "proxy/merge.h"

#include <charconv>
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
                   const std::vector<uint16_t>& key_part, std::string& out,
                   const KeyFilter* keep) {
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
        for (std::string_view e : one) {
          std::string_view key;
          bool is_null = false;
          if (keep == nullptr || !decode_simple_or_bulk(e, key, is_null) || (*keep)(i, key)) {
            all.push_back(e);
          }
        }
      }
      w.array(all.size());
      for (std::string_view e : all) {
        out.append(e);
      }
      return;
    }
    case Merge::Same:
    case Merge::Last:
    case Merge::Scan:
      out += parts[nparts - 1];
      return;
    case Merge::AndArrays: {
      thread_local std::vector<std::string_view> first, other;
      first.clear();
      if (!split_aggregate(parts[0], first)) {
        out += kBadPart;
        return;
      }
      std::vector<int64_t> acc(first.size(), 1);
      for (size_t i = 0; i < nparts; ++i) {
        other.clear();
        if (!split_aggregate(parts[i], other) || other.size() != acc.size()) {
          out += kBadPart;
          return;
        }
        for (size_t k = 0; k < acc.size(); ++k) {
          int64_t v = 0;
          acc[k] = acc[k] && decode_integer(other[k], v) && v != 0;
        }
      }
      w.array(acc.size());
      for (int64_t v : acc) {
        w.integer(v);
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

bool split_scan_cursor(std::string_view cursor, size_t backends, size_t& backend,
                       uint64_t& backend_cursor) {
  uint64_t c = 0;
  auto r = std::from_chars(cursor.data(), cursor.data() + cursor.size(), c);
  if (r.ec != std::errc() || r.ptr != cursor.data() + cursor.size() || cursor.empty()) {
    return false;
  }
  backend = c % backends;
  backend_cursor = c / backends;
  return true;
}

void merge_scan(std::string_view reply, size_t backend, size_t backends, const KeyFilter& keep,
                std::string& out) {
  thread_local std::vector<std::string_view> top, keys;
  top.clear();
  keys.clear();
  std::string_view cur;
  bool is_null = false;
  uint64_t next = 0;
  if (is_error_reply(reply)) {
    out += reply;
    return;
  }
  if (!split_aggregate(reply, top) || top.size() != 2 ||
      !decode_simple_or_bulk(top[0], cur, is_null) || !split_aggregate(top[1], keys) ||
      std::from_chars(cur.data(), cur.data() + cur.size(), next).ec != std::errc()) {
    out += kBadPart;
    return;
  }
  // A finished backend hands over to the next one at its cursor 0.
  uint64_t client = next != 0 ? next * backends + backend
                              : (backend + 1 < backends ? backend + 1 : 0);
  RespWriter w(out, 2);
  w.array(2);
  w.bulk(std::to_string(client));
  size_t kept = 0;
  for (std::string_view k : keys) {
    std::string_view key;
    kept += decode_simple_or_bulk(k, key, is_null) && keep(backend, key);
  }
  w.array(kept);
  for (std::string_view k : keys) {
    std::string_view key;
    if (decode_simple_or_bulk(k, key, is_null) && keep(backend, key)) {
      out.append(k);
    }
  }
}

}  // namespace proxy
