// Building blocks of the /metrics families (metrics.cc: worker counters,
// metrics_control.cc: the control plane's forecasts, migrations, balancer).
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "proxy/control_plane.h"

namespace proxy {

inline prometheus::MetricFamily family(const char* name, const char* help,
                                       prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

inline prometheus::ClientMetric value(prometheus::MetricType type, double v,
                                      std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

// Appends the forecast, migration and balancer families.
void append_control_families(const ControlPlane& control,
                             std::vector<prometheus::MetricFamily>& out);

}  // namespace proxy
