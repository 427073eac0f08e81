// AdminCommands implementation: text replies (bulk strings) meant for people
// at redis-cli, one line per item.
#include "proxy/admin_commands.h"

#include <cctype>

#include "proxy/config_reload.h"
#include "proxy/context.h"
#include "proxy/control_plane.h"
#include "proxy/resp_writer.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace proxy {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    c = char(std::toupper(static_cast<unsigned char>(c)));
  }
  return u;
}

std::string segments_text(const ProxyContext& ctx) {
  auto map = ctx.current_map();
  const auto& names = map->backend_names();
  std::string out = "epoch " + std::to_string(map->epoch()) + ", " + std::to_string(map->size()) +
                    " segments over " + std::to_string(map->slots()) + " slots\n";
  for (uint32_t i = 0; i < map->size(); ++i) {
    const Segment& s = map->segment(i);
    out += "seg " + std::to_string(i) + " slots " + std::to_string(s.first) + "-" +
           std::to_string(s.last) + " owner " + names[s.owner] + " " +
           segment_state_name(s.state);
    if (s.state != SegmentState::Stable) {
      out += " -> " + names[s.dst];
    }
    out += "\n";
  }
  return out;
}

}  // namespace

bool AdminCommands::run(Session& s, const Command& cmd, std::string& out) {
  if (upper(cmd.args[0]) != "FORESHARD") {
    return false;
  }
  RespWriter w(out, s.protocol());
  const ProxyContext& ctx = s.worker().ctx();
  if (!s.admin()) {
    w.error("NOPERM FORESHARD needs the admin password (AUTH admin <adminPassword>)");
    return true;
  }
  std::string sub = cmd.args.size() > 1 ? upper(cmd.args[1]) : "HELP";
  std::string_view target = cmd.args.size() > 2 ? cmd.args[2] : std::string_view();
  if (sub == "SEGMENTS") {
    w.verbatim(segments_text(ctx));
  } else if (sub == "STATUS") {
    std::string text = segments_text(ctx).substr(0, segments_text(ctx).find('\n') + 1);
    text += ctx.control ? ctx.control->status_report() : "control plane: off\n";
    w.verbatim(text);
  } else if (sub == "FORECAST") {
    if (ctx.control == nullptr) {
      w.error("ERR the control plane (forecaster) is not running");
    } else {
      w.verbatim(ctx.control->forecast_report(target));
    }
  } else if (sub == "MIGRATE" || sub == "MIGRATIONS" || sub == "ABORT" || sub == "SPLIT" ||
             sub == "MERGE" || sub == "DRAIN" || sub == "PLAN" || sub == "BALANCER") {
    if (ctx.control == nullptr) {
      w.error("ERR the control plane is not running (telemetry.enabled: false)");
    } else {
      std::vector<std::string> args{sub};
      for (size_t i = 2; i < cmd.args.size(); ++i) {
        args.emplace_back(cmd.args[i]);
      }
      bool error = false;
      std::string text = ctx.control->admin(args, &error);
      if (error) {
        w.error(text);
      } else if (sub == "MIGRATIONS" || sub == "PLAN") {
        w.verbatim(text);
      } else {
        w.simple(text);
      }
    }
  } else if (sub == "RELOAD") {
    auto r = reload_config(s.worker().ctx());
    if (r.is_ok()) {
      w.verbatim(r.value() + "\n");
    } else {
      w.error("ERR " + r.status().message());
    }
  } else if (sub == "HELP") {
    const char* lines[] = {"FORESHARD STATUS", "FORESHARD SEGMENTS",
                           "FORESHARD FORECAST [backend | segment N]",
                           "FORESHARD MIGRATE <segment> <backend>", "FORESHARD MIGRATIONS",
                           "FORESHARD ABORT <segment>", "FORESHARD SPLIT <segment> [slot]",
                           "FORESHARD MERGE <segment> <segment+1>", "FORESHARD DRAIN <backend>",
                           "FORESHARD PLAN", "FORESHARD RELOAD",
                           "FORESHARD BALANCER [on|off|static|reactive|predictive]"};
    w.array(std::size(lines));
    for (const char* l : lines) {
      w.simple(l);
    }
  } else {
    w.error("ERR unknown FORESHARD subcommand '" + sub + "'; try FORESHARD HELP");
  }
  return true;
}

}  // namespace proxy
