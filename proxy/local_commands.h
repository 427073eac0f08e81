// LocalCommands: the commands foreshard answers itself (DESIGN §4 "answered
// by the proxy"): PING ECHO SELECT QUIT RESET AUTH HELLO CLIENT COMMAND INFO
// TIME and the *|HELP subcommands. What clients send when they connect must
// never error (ioredis: HELLO, CLIENT SETINFO, INFO; redis-cli: COMMAND DOCS).
#pragma once

#include <string>

#include "proxy/commands.h"
#include "proxy/resp_parser.h"

namespace proxy {

class Session;

class LocalCommands {
 public:
  // Writes the complete reply to `out` (in the session's protocol). May mark
  // the session to close after the reply (QUIT).
  static void run(Session& s, const CommandInfo& info, const Command& cmd, std::string& out);
};

// The text of INFO for the given section names (empty = default sections).
std::string build_info(Session& s, const Command& cmd);

}  // namespace proxy
