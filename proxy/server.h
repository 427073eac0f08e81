// Server: the process shell of `foreshard serve`. It takes the data-dir lock,
// probes the backends, loads or creates the segment map (refusing a first
// start that would hide data), starts the workers and the metrics endpoint,
// and stops everything in order on SIGINT/SIGTERM.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "proxy/config.h"
#include "proxy/status.h"

namespace proxy {

class SegmentMap;
class ControlPlane;
struct ProbeResult;
struct ProxyContext;

// Builds the control plane on the main thread's loop (migrate/ provides it;
// proxy/ only knows the interface). Called once the map is loaded, before the
// workers start.
using ControlFactory =
    std::function<std::unique_ptr<ControlPlane>(ProxyContext& ctx, uv_loop_t* loop)>;

// Decides the map of a first start (no saved map) from what the backends hold.
// Exposed for tests. `probes[i]` belongs to cfg.backends[i].
Result<SegmentMap> first_start_map(const Config& cfg, const std::vector<ProbeResult>& probes);

// Runs until a stop signal; returns the process exit code.
int run_server(const Config& cfg, const std::string& config_path,
               const ControlFactory& make_control = {});

}  // namespace proxy
