// Backend probe: the blocking, start-up-only conversation with each backend
// before the workers run: is it reachable, how many keys does it hold (the
// "never hide data" check of DESIGN §5), its version, and its COMMAND reply
// (raw RESP, for the CommandTable). Plain sockets + RespScanner: no loop yet.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/config.h"

namespace proxy {

struct ProbeResult {
  bool reachable = false;
  std::string error;           // why not reachable / why a reply was unusable
  int64_t keys = -1;           // DBSIZE
  std::string redis_version;   // from INFO server
  std::string command_reply;   // raw RESP of COMMAND (only when asked)
};

ProbeResult probe_backend(const BackendConfig& backend, uint32_t timeout_ms, bool want_commands);

}  // namespace proxy
