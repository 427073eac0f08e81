// AdminCommands: FORESHARD <subcommand> over RESP on the proxy port (DESIGN
// §10), guarded by adminPassword when one is set. What the data plane knows
// (the segment map, backends) it answers itself; forecasts and the rest come
// from the control plane through ControlPlane.
#pragma once

#include <string>

#include "proxy/resp_parser.h"

namespace proxy {

class Session;

class AdminCommands {
 public:
  // True if cmd is FORESHARD ...; then the whole reply is in `out`.
  static bool run(Session& s, const Command& cmd, std::string& out);
};

}  // namespace proxy
