// Server implementation: start-up checks in order (lock, probe, map, bind,
// metrics), then the main thread waits on a libuv loop for signals. The
// control plane (telemetry, forecaster, migrations) will share this loop.
#include "proxy/server.h"

#include <malloc.h>

#include <csignal>
#include <ctime>

#include <uv.h>

#include "proxy/backend_probe.h"
#include "proxy/config_reload.h"
#include "proxy/context.h"
#include "proxy/control_plane.h"
#include "proxy/log.h"
#include "proxy/map_store.h"
#include "proxy/metrics.h"
#include "proxy/segment_map.h"
#include "proxy/worker.h"


namespace proxy {

namespace {

std::vector<BackendWeight> weights(const Config& cfg) {
  std::vector<BackendWeight> w;
  for (const auto& b : cfg.backends) {
    w.push_back({b.name, b.capacity});
  }
  return w;
}

std::vector<std::string> names(const Config& cfg) {
  std::vector<std::string> n;
  for (const auto& b : cfg.backends) {
    n.push_back(b.name);
  }
  return n;
}

struct SignalState {
  std::vector<std::unique_ptr<Worker>>* workers;
  ControlPlane* control = nullptr;
  ProxyContext* ctx = nullptr;
  uv_signal_t sigint, sigterm, sighup;
};

// SIGHUP: reload the config file (a refusal is logged; nothing changes).
void on_sighup_cb(uv_signal_t* h, int) {
  auto* st = static_cast<SignalState*>(h->data);
  auto r = reload_config(*st->ctx);
  if (r.is_ok()) {
    LOG_INFO("server", "SIGHUP: {}", r.value());
  } else {
    LOG_WARN("server", "SIGHUP: {}", r.status().message());
  }
}

void on_signal_cb(uv_signal_t* h, int signum) {
  auto* st = static_cast<SignalState*>(h->data);
  LOG_INFO("server", "signal {}: stopping", signum);
  // The control plane first: a move in progress goes back to its source while
  // the workers can still be told about the map.
  if (st->control != nullptr) {
    st->control->shutdown();
  }
  for (auto& w : *st->workers) {
    w->stop();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&st->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&st->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&st->sighup), nullptr);
}

}  // namespace

Result<SegmentMap> first_start_map(const Config& cfg, const std::vector<ProbeResult>& probes) {
  std::vector<size_t> holding;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (!probes[i].reachable) {
      return Status(Code::Unavailable,
                    "first start: backend " + cfg.backends[i].name + " (" +
                        cfg.backends[i].address.to_string() + ") is unreachable (" +
                        probes[i].error +
                        "). foreshard must see every backend on its first start to be sure "
                        "that no existing data would be hidden; start it and try again.");
    }
    if (probes[i].keys > 0) {
      holding.push_back(i);
    }
  }
  if (holding.size() == 1) {
    size_t b = holding[0];
    LOG_INFO("server", "first start: only {} holds keys ({}); it owns every segment for now",
             cfg.backends[b].name, probes[b].keys);
    return SegmentMap::single_owner(cfg.slots, cfg.segment_size, weights(cfg), uint16_t(b));
  }
  if (holding.size() > 1 && !cfg.ignore_existing_data) {
    std::string list;
    for (size_t b : holding) {
      list += (list.empty() ? "" : ", ") + cfg.backends[b].name + " (" +
              std::to_string(probes[b].keys) + " keys)";
    }
    return Status(
        Code::Refused,
        "first start refused: several backends already hold keys: " + list +
            ". Their keys were placed by some other scheme, so routing by foreshard's slots "
            "would hide many of them. Options: (1) start foreshard in front of only the backend "
            "that holds the data, plus empty ones, and let it spread the segments; (2) empty the "
            "other backends; (3) set 'ignoreExistingData: true' in " + cfg.file +
            " if that data may be ignored (it stays on the backends, unreachable through "
            "foreshard). An adoption mode for twemproxy (ketama) fleets is planned.");
  }
  return SegmentMap::initial(cfg.slots, cfg.segment_size, weights(cfg));
}

int run_server(const Config& cfg_in, const std::string& config_path,
               const ControlFactory& make_control) {
  signal(SIGPIPE, SIG_IGN);
  // Memory policy: a buffer of 1 MB or more (an oversized command, a big
  // value) is always its own mapping, given back to the kernel when freed, and
  // the trim threshold stays at its default. Without this glibc raises both
  // after the first big free (up to 32 and 64 MB), and a worker's arena then
  // keeps tens of MB after every oversized request (abuse test, check 4b).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  auto cfg = std::make_shared<const Config>(cfg_in);
  MapStore store(cfg->data_dir);
  if (Status s = store.ensure_dir(); !s.is_ok()) {
    LOG_ERROR("server", "{}", s.message());
    return 1;
  }
  if (Status s = store.lock(); !s.is_ok()) {
    LOG_ERROR("server", "{}", s.message());
    return 1;
  }

  // Probe every backend: data check, version, and the command table source.
  std::vector<ProbeResult> probes;
  bool have_commands = false;
  for (const auto& b : cfg->backends) {
    probes.push_back(probe_backend(b, cfg->timeouts.connect_ms * 2, !have_commands));
    const ProbeResult& p = probes.back();
    if (p.reachable) {
      LOG_INFO("server", "b {} {} reachable: redis {} with {} keys", b.name,
               b.address.to_string(), p.redis_version, p.keys);
      have_commands = have_commands || !p.command_reply.empty();
    } else {
      LOG_WARN("server", "b {} {} unreachable: {}", b.name, b.address.to_string(), p.error);
    }
  }

  auto ctx = std::make_unique<ProxyContext>();
  ctx->config.store(cfg);
  ctx->backend_capacity = backend_capacity_for(cfg->backends.size());
  ctx->config_path = config_path;
  ctx->start_unix_s = uint64_t(time(nullptr));
  ctx->backend_redis_version = "7.0.0";
  for (size_t i = 0; i < probes.size(); ++i) {
    if (!probes[i].command_reply.empty()) {
      auto table = CommandTable::from_command_reply(probes[i].command_reply);
      if (table.is_ok()) {
        ctx->commands = std::make_shared<const CommandTable>(std::move(table).value());
        ctx->commands_source = "backend " + cfg->backends[i].name;
      } else {
        LOG_WARN("server", "COMMAND reply of {} unusable ({}); using the built-in table",
                 cfg->backends[i].name, table.status().message());
      }
    }
    if (probes[i].reachable && ctx->backend_redis_version == "7.0.0" &&
        !probes[i].redis_version.empty()) {
      ctx->backend_redis_version = probes[i].redis_version;
    }
  }
  if (!ctx->commands) {
    ctx->commands = std::make_shared<const CommandTable>(CommandTable::builtin());
    ctx->commands_source = "built-in Redis 7.0 table";
  }

  // The segment map: saved state wins; a first start checks for hidden data.
  std::shared_ptr<const SegmentMap> map;
  if (store.exists()) {
    auto loaded = store.load(names(*cfg));
    if (!loaded.is_ok()) {
      LOG_ERROR("server", "{}: {}", store.path(), loaded.status().message());
      return 1;
    }
    map = std::make_shared<const SegmentMap>(std::move(loaded).value());
    LOG_INFO("server", "segment map loaded from {} (epoch {}, {} segments)", store.path(),
             map->epoch(), map->size());
  } else {
    auto fresh = first_start_map(*cfg, probes);
    if (!fresh.is_ok()) {
      LOG_ERROR("server", "{}", fresh.status().message());
      return 1;
    }
    if (Status s = store.save(fresh.value()); !s.is_ok()) {
      LOG_ERROR("server", "cannot save the segment map: {}", s.message());
      return 1;
    }
    map = std::make_shared<const SegmentMap>(std::move(fresh).value());
    LOG_INFO("server", "segment map created (epoch {}, {} segments of {} slots) in {}",
             map->epoch(), map->size(), cfg->segment_size, store.path());
  }
  ctx->map.store(map);
  ctx->trackers.store(std::make_shared<const TrackerSet>());

  uv_loop_t loop;  // the main thread's loop: signals and the control plane
  uv_loop_init(&loop);
  std::unique_ptr<ControlPlane> control;
  if (make_control) {
    control = make_control(*ctx, &loop);
    ctx->control = control.get();
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t i = 0; i < cfg->effective_workers(); ++i) {
    workers.push_back(std::make_unique<Worker>(i, *ctx));
    if (Status s = workers.back()->init(); !s.is_ok()) {
      LOG_ERROR("server", "{}", s.message());
      return 1;
    }
    ctx->workers.push_back(workers.back().get());
  }
  MetricsServer metrics(*ctx);
  if (Status s = metrics.start(); !s.is_ok()) {
    LOG_ERROR("server", "{}", s.message());
    return 1;
  }
  for (auto& w : workers) {
    w->start();
  }
  LOG_INFO("server",
           "foreshard {} listening on {} with {} workers, {} backends, {} segments (epoch {}), "
           "commands from {}, metrics {}",
           FORESHARD_VERSION, cfg->listen.to_string(), workers.size(), cfg->backends.size(),
           map->size(), map->epoch(), ctx->commands_source,
           cfg->metrics.port ? "on http://" + cfg->metrics.to_string() + "/metrics" : "off");

  SignalState st;
  st.workers = &workers;
  st.control = control.get();
  uv_signal_init(&loop, &st.sigint);
  uv_signal_init(&loop, &st.sigterm);
  st.sigint.data = st.sigterm.data = &st;
  uv_signal_start(&st.sigint, on_signal_cb, SIGINT);
  uv_signal_start(&st.sigterm, on_signal_cb, SIGTERM);
  st.ctx = ctx.get();
  uv_signal_init(&loop, &st.sighup);
  st.sighup.data = &st;
  uv_signal_start(&st.sighup, on_sighup_cb, SIGHUP);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (auto& w : workers) {
    w->join();
  }
  workers.clear();
  ctx->control = nullptr;
  control.reset();
  CHECK(uv_loop_close(&loop) == 0);
  LOG_INFO("server", "stopped");
  return 0;
}

}  // namespace proxy
