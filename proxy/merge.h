// Merge: combines the part replies of a command that was split per backend or
// broadcast to all of them into the one reply the client expects. Replies are
// decoded only here, and only as far as the merge needs.
#pragma once

#include <cstdint>
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
};

// `parts[i]` is the complete reply of part i (i < nparts). For KeyOrder,
// key_part[k] is the part that holds key k. An error reply in any part wins
// (the first one, in part order). Appends the merged reply to `out`.
void merge_replies(Merge kind, const std::vector<std::string>& parts, size_t nparts,
                   const std::vector<uint16_t>& key_part, std::string& out);

}  // namespace proxy
