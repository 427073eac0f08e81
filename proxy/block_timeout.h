// The timeout argument of blocking commands (BLPOP ... XREAD BLOCK), for a
// call re-issued on a segment's new owner after a migration unblocked it on
// the old one (session_blocked.cc): the new call waits only for the time left.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace proxy {

// Rewrites the timeout in `args` (args[0] is the command name, any case) for a
// call first sent `elapsed_ms` ago: 0 (block forever) stays 0. Returns false
// for a command it does not know or a malformed timeout: such a call is not
// re-issued. *expired is set when no time is left (the call then answers its
// timeout reply). XREAD/XREADGROUP without BLOCK do not block: unchanged.
bool rewrite_block_timeout(std::vector<std::string>& args, uint64_t elapsed_ms, bool* expired);

}  // namespace proxy
