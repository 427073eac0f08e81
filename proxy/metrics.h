// Metrics: the Prometheus endpoint (prometheus-cpp pull exposer) and the one
// collectable that sums worker counters at scrape time, so the request path
// never locks for metrics. Every metric name is listed in metrics.cc.
#pragma once

#include <memory>

#include "proxy/context.h"
#include "proxy/status.h"

namespace prometheus {
class Exposer;
}

namespace proxy {

class MetricsServer {
 public:
  explicit MetricsServer(ProxyContext& ctx);
  ~MetricsServer();
  // Listens on config.metrics (port 0 = disabled: returns ok, serves nothing).
  Status start();

 private:
  ProxyContext& ctx_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<class WorkerCollectable> collectable_;
};

}  // namespace proxy
