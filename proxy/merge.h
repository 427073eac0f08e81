// Merge: combines the part replies of a command that was split per backend or
// broadcast to all of them into the one reply the client expects. Replies are
// decoded only here, and only as far as the merge needs.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <string>
#include <vector>

namespace proxy {

enum class Merge : uint8_t {
  Forward,    // one part, bytes as they are
  Sum,        // DEL UNLINK EXISTS TOUCH DBSIZE: integer sum
  AllOk,      // MSET FLUSHALL: +OK when every part says +OK
  KeyOrder,   // MGET: array elements put back in the request's key order
  Concat,     // KEYS: arrays concatenated
  AnyNonNil,  // RANDOMKEY: the first part with a non-nil reply
  Same,       // SCRIPT LOAD, FUNCTION LOAD: every part says the same; the first
  AndArrays,  // SCRIPT EXISTS: element-wise AND of 0/1 arrays
  Last,       // MULTI ... EXEC block: only the last part (EXEC) is the reply
  Scan,       // SCAN: one part; cursor re-encoded, keys of other owners dropped
};

// Keeps or drops one key of part `part` (KEYS and SCAN drop keys a backend
// holds but does not own).
using KeyFilter = std::function<bool(size_t part, std::string_view key)>;

// `parts[i]` is the complete reply of part i (i < nparts). For KeyOrder,
// key_part[k] is the part that holds key k. An error reply in any part wins
// (the first one, in part order). Appends the merged reply to `out`.
void merge_replies(Merge kind, const std::vector<std::string>& parts, size_t nparts,
                   const std::vector<uint16_t>& key_part, std::string& out,
                   const KeyFilter* keep = nullptr);

// SCAN through several backends: the client's cursor is
// backend_cursor * backends + backend. Splits a client cursor; false if malformed.
bool split_scan_cursor(std::string_view cursor, size_t backends, size_t& backend,
                       uint64_t& backend_cursor);
// Re-encodes a backend's SCAN reply for the client.
void merge_scan(std::string_view reply, size_t backend, size_t backends, const KeyFilter& keep,
                std::string& out);

}  // namespace proxy
