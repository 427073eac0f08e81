// LocalCommands implementation. Replies are built with RespWriter in the
// session's protocol. CLIENT LIST/INFO/KILL concern the proxy's own clients
// (the backends only ever see the proxy), on every worker, through the
// client directory (proxy/client_directory.h).
#include "proxy/local_commands.h"

#include <sys/time.h>

#include <algorithm>
#include <cstring>

#include "proxy/context.h"
#include "proxy/resp_writer.h"
#include "proxy/router.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "proxy/text.h"

namespace proxy {

namespace {


void client_line(uint64_t id, const ClientEntry& e, uint64_t now_ms, std::string& line) {
  line += "id=" + std::to_string(id) + " addr=" + e.addr + " laddr=" + e.laddr + " name=" +
          e.name + " age=" + std::to_string((now_ms - std::min(now_ms, e.created_ms)) / 1000) +
          " db=0 user=" + e.user + " resp=" + std::to_string(e.resp) +
          " worker=" + std::to_string(e.worker) + "\n";
}

// CLIENT KILL: old form (ip:port) answers +OK or "No such client"; the filter
// form answers the number of clients killed. The caller itself, when it
// matches, gets its reply and is then closed.
void client_kill(Session& s, const Command& cmd, RespWriter& w) {
  KillFilter f;
  std::string err;
  std::vector<std::string_view> args(cmd.args.begin() + 2, cmd.args.end());
  if (!parse_kill_filter(args, f, err)) {
    w.error(err);
    return;
  }
  ProxyContext& ctx = s.worker().ctx();
  auto victims = match_kill(ctx.clients, f, s.id());
  for (const auto& [id, worker] : victims) {
    if (id == s.id()) {
      s.quit_after_reply();
    } else if (worker < ctx.workers.size()) {
      ctx.workers[worker]->post_kill(id);
    }
  }
  if (f.old_form) {
    if (victims.empty()) {
      w.error("ERR No such client");
    } else {
      w.simple("OK");
    }
  } else {
    w.integer(int64_t(victims.size()));
  }
}

// Checks a user/password pair against the config: "default" (password),
// "admin" (adminPassword) and the users list. Sets the session's user.
bool authenticate(Session& s, std::string_view user, std::string_view pass) {
  const Config& c = *s.worker().ctx().config;
  if (user == "default") {
    if (c.password.empty() || pass != c.password) {
      return false;
    }
    s.set_user(user, false, c.admin_password.empty());
  } else if (user == "admin") {
    if (c.admin_password.empty() || pass != c.admin_password) {
      return false;
    }
    s.set_user(user, false, true);
  } else {
    const UserConfig* found = nullptr;
    for (const UserConfig& u : c.users) {
      if (u.name == user && u.password == pass) {
        found = &u;
      }
    }
    if (found == nullptr) {
      return false;
    }
    s.set_user(user, found->readonly, c.admin_password.empty());
  }
  s.set_authenticated(true);
  return true;
}

void hello(Session& s, const Command& cmd, std::string& out) {
  int proto = s.protocol();
  size_t i = 1;
  if (cmd.args.size() > 1) {
    std::string_view v = cmd.args[1];
    if (v != "2" && v != "3") {
      RespWriter(out, proto).error("NOPROTO unsupported protocol version");
      return;
    }
    proto = v == "3" ? 3 : 2;
    i = 2;
  }
  for (; i < cmd.args.size(); ++i) {
    if (iequals(cmd.args[i], "auth") && i + 2 < cmd.args.size()) {
      if (!authenticate(s, cmd.args[i + 1], cmd.args[i + 2])) {
        RespWriter(out, s.protocol())
            .error("WRONGPASS invalid username-password pair or user is disabled.");
        return;
      }
      i += 2;
    } else if (iequals(cmd.args[i], "setname") && i + 1 < cmd.args.size()) {
      s.set_name(cmd.args[++i]);
    } else {
      RespWriter(out, s.protocol())
          .error("ERR Syntax error in HELLO option '" + std::string(cmd.args[i]) + "'");
      return;
    }
  }
  if (!s.authenticated()) {
    RespWriter(out, s.protocol())
        .error("NOAUTH HELLO must be called with the client already authenticated, otherwise "
               "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
               "client and select the RESP protocol version at the same time");
    return;
  }
  s.set_protocol(proto);  // replies from here on, this one included, use it
  RespWriter w(out, proto);
  const ProxyContext& ctx = s.worker().ctx();
  w.map(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(ctx.backend_redis_version);
  w.bulk("proto");
  w.integer(proto);
  w.bulk("id");
  w.integer(int64_t(s.id()));
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array(0);
}

void client(Session& s, const Command& cmd, RespWriter& w) {
  std::string_view sub = cmd.args.size() > 1 ? cmd.args[1] : std::string_view();
  if (iequals(sub, "setname") && cmd.args.size() == 3) {
    for (char c : cmd.args[2]) {
      if (c <= ' ' || c > '~') {
        w.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    }
    s.set_name(cmd.args[2]);
    w.simple("OK");
  } else if (iequals(sub, "getname")) {
    if (s.name().empty()) {
      w.null();
    } else {
      w.bulk(s.name());
    }
  } else if (iequals(sub, "id")) {
    w.integer(int64_t(s.id()));
  } else if (iequals(sub, "setinfo") || iequals(sub, "no-evict") || iequals(sub, "no-touch")) {
    w.simple("OK");
  } else if (iequals(sub, "info")) {
    std::string line;
    uint64_t now = uv_now(s.worker().loop());
    ClientEntry e;
    if (s.worker().ctx().clients.get(s.id(), e)) {
      client_line(s.id(), e, now, line);
    } else {
      line = "id=" + std::to_string(s.id()) + "\n";
    }
    w.verbatim(line);
  } else if (iequals(sub, "list")) {
    // CLIENT LIST [ID id ...]; TYPE normal lists everyone, other types no one.
    std::vector<uint64_t> ids;
    bool none = false;
    for (size_t i = 2; i < cmd.args.size(); ++i) {
      if (iequals(cmd.args[i], "id")) {
        for (++i; i < cmd.args.size(); ++i) {
          ids.push_back(std::strtoull(std::string(cmd.args[i]).c_str(), nullptr, 10));
        }
      } else if (iequals(cmd.args[i], "type") && i + 1 < cmd.args.size()) {
        none = !iequals(cmd.args[++i], "normal");
      } else {
        w.error("ERR syntax error");
        return;
      }
    }
    std::string text;
    uint64_t now = uv_now(s.worker().loop());
    for (const auto& [id, e] : s.worker().ctx().clients.list()) {
      if (!none && (ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end())) {
        client_line(id, e, now, text);
      }
    }
    w.verbatim(text);
  } else if (iequals(sub, "kill") && cmd.args.size() > 2) {
    client_kill(s, cmd, w);
  } else if (iequals(sub, "help")) {
    const char* lines[] = {"CLIENT <subcommand> (foreshard)", "ID", "GETNAME", "SETNAME <name>",
                           "SETINFO <attr> <value>", "INFO", "LIST [TYPE normal] [ID id ...]",
                           "KILL <ip:port> | KILL [ID id] [ADDR ip:port] [LADDR ip:port] "
                           "[USER name] [TYPE normal] [SKIPME yes|no]"};
    w.array(std::size(lines));
    for (const char* l : lines) {
      w.simple(l);
    }
  } else {
    std::string e = Router::refused("client|" + std::string(sub));
    w.raw(e);
  }
}

void command(Session& s, const Command& cmd, RespWriter& w) {
  const CommandTable& table = *s.worker().ctx().commands;
  std::string_view sub = cmd.args.size() > 1 ? cmd.args[1] : std::string_view();
  if (cmd.args.size() == 1) {
    auto all = table.top_level();
    w.array(all.size());
    for (const CommandInfo* c : all) {
      w.raw(table.raw_entry(*c));
    }
  } else if (iequals(sub, "count")) {
    w.integer(int64_t(table.top_level().size()));
  } else if (iequals(sub, "info")) {
    if (cmd.args.size() == 2) {
      return command(s, Command{{cmd.args[0]}, false, 0}, w);
    }
    w.array(cmd.args.size() - 2);
    for (size_t i = 2; i < cmd.args.size(); ++i) {
      const CommandInfo* c = table.lookup({cmd.args[i]});
      if (c == nullptr) {
        w.null_array();
      } else {
        w.raw(table.raw_entry(*c));
      }
    }
  } else if (iequals(sub, "list")) {
    auto all = table.top_level();
    w.array(all.size());
    for (const CommandInfo* c : all) {
      w.bulk(c->name);
    }
  } else if (iequals(sub, "docs")) {
    w.map(0);  // redis-cli asks at start for hints; an empty answer is valid
  } else if (iequals(sub, "getkeys") && cmd.args.size() > 2) {
    Command inner;
    inner.args.assign(cmd.args.begin() + 2, cmd.args.end());
    const CommandInfo* c = table.lookup(inner.args);
    std::vector<uint32_t> keys;
    if (c == nullptr || !table.key_positions(*c, inner.args, keys) || keys.empty()) {
      w.error("ERR The command has no key arguments");
      return;
    }
    w.array(keys.size());
    for (uint32_t k : keys) {
      w.bulk(inner.args[k]);
    }
  } else {
    w.raw(Router::refused("command|" + std::string(sub)));
  }
}

}  // namespace

void LocalCommands::run(Session& s, const CommandInfo& info, const Command& cmd,
                        std::string& out) {
  RespWriter w(out, s.protocol());
  const std::string& n = info.name;
  const Config& cfg = *s.worker().ctx().config;
  if (n == "ping") {
    if (cmd.args.size() > 1) {
      w.bulk(cmd.args[1]);
    } else {
      w.simple("PONG");
    }
  } else if (n == "echo") {
    w.bulk(cmd.args[1]);
  } else if (n == "select") {
    if (cmd.args[1] == "0") {
      w.simple("OK");
    } else {
      w.error("ERR foreshard serves database 0 only (SELECT " +
              std::string(cmd.args[1].substr(0, 32)) + " is not supported)");
    }
  } else if (n == "quit") {
    w.simple("OK");
    s.quit_after_reply();
  } else if (n == "reset") {
    s.reset_modes();
    s.set_name("");
    s.set_user("default", false, cfg.admin_password.empty());
    s.set_authenticated(cfg.password.empty());
    RespWriter(out, 2).simple("RESET");
  } else if (n == "auth") {
    std::string_view user = cmd.args.size() == 3 ? cmd.args[1] : std::string_view("default");
    if (cmd.args.size() == 2 && cfg.password.empty()) {
      w.error("ERR AUTH <password> called without any password configured for the default "
              "user. Are you sure your configuration is correct?");
    } else if (!authenticate(s, user, cmd.args.back())) {
      w.error("WRONGPASS invalid username-password pair or user is disabled.");
    } else {
      w.simple("OK");
    }
  } else if (n == "hello") {
    hello(s, cmd, out);
  } else if (n.rfind("client", 0) == 0) {
    client(s, cmd, w);
  } else if (n.rfind("command", 0) == 0) {
    command(s, cmd, w);
  } else if (n == "info") {
    w.verbatim(build_info(s, cmd));
  } else if (n == "time") {
    timeval tv{};
    gettimeofday(&tv, nullptr);
    w.array(2);
    w.bulk(std::to_string(tv.tv_sec));
    w.bulk(std::to_string(tv.tv_usec));
  } else if (n == "acl|whoami") {
    w.bulk("default");
  } else if (n == "lolwut") {
    w.verbatim("foreshard: a Redis sharding proxy that moves data before the peak.\n");
  } else {
    w.raw(Router::refused(n));
  }
}

}  // namespace proxy
