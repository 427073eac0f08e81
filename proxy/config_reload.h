// Config hot reload (SIGHUP and FORESHARD RELOAD): re-reads the config file,
// compares it with the running config, and applies it only if every change
// can be made at run time; otherwise nothing changes and each refusal says
// why. What can change and how it takes effect: docs/OPERATIONS.md.
//
// Applying = publishing the new Config (ConfigCell) and waking every worker,
// which opens links to added backends. The control plane notices the new
// version on its next tick: it grows its history, adds the backends to the
// segment map once every worker has a link, and takes new balancer settings.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/status.h"

namespace proxy {

struct ProxyContext;

// The per-worker arrays are sized at start for this many backends.
size_t backend_capacity_for(size_t configured);

struct ConfigDiff {
  std::vector<std::string> changes;  // "backends[3] redis-4 added", "loadThreshold 0.8 -> 0.7"
  std::vector<std::string> refused;  // "listen: ... (restart foreshard to change it)"
};

// Pure: what going from `running` to `next` would change and what it may not.
ConfigDiff diff_config(const Config& running, const Config& next, size_t backend_capacity);

// Loads ctx.config_path and applies it if nothing is refused. Any thread;
// reloads are serialised. The text lists the changes ("no changes" if none);
// an error Status carries every reason, and the running config is untouched.
Result<std::string> reload_config(ProxyContext& ctx);

}  // namespace proxy
