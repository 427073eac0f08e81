// Controller: the control plane on the main thread's loop. Every second it
// sums the workers' load counters into a TelemetrySnapshot for the History;
// every telemetry.refit it asks the Forecaster for new forecasts of every
// backend and of the segments that carry load; it saves the history to the
// data directory; every balancer.interval the LiveBalancer plans (and acts).
// Other threads see only what it publishes (an immutable
// Published snapshot behind an atomic pointer), through proxy::ControlPlane.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "migrate/forecaster.h"
#include "migrate/history.h"
#include "migrate/map_authority.h"
#include "migrate/live_balancer.h"
#include "migrate/migrations.h"
#include "migrate/segment_sizes.h"
#include "proxy/context.h"
#include "proxy/control_plane.h"
#include "proxy/snapshot_cell.h"

namespace migrate {

class Controller final : public proxy::ControlPlane {
 public:
  // Loads dataDir/history if it is there; starts the timers on `loop`.
  Controller(proxy::ProxyContext& ctx, uv_loop_t* loop);
  ~Controller() override;

  // proxy::ControlPlane: any thread.
  std::string forecast_report(std::string_view target) const override;
  std::string status_report() const override;
  std::vector<proxy::BackendForecastGauge> backend_gauges() const override;
  proxy::MigrationGauges migration_gauges() const override;
  std::string admin(const std::vector<std::string>& args, bool* error) override;
  void shutdown() override;  // main thread: stops moves, saves the history, closes the timers

  // What other threads read: rebuilt on the loop after each tick and refit.
  struct Published {
    std::shared_ptr<const ForecastSet> forecasts;
    std::vector<proxy::BackendForecastGauge> gauges;
    std::string status;
  };

 private:
  static void on_tick_cb(uv_timer_t* t);
  void tick();
  void refit();
  void publish();
  TelemetrySnapshot snapshot() const;
  // After a config reload: history rings for added backends, balancer
  // settings; and once every worker has a link to an added backend, the map
  // learns its name (from then on it can receive segments).
  void follow_config();
  std::string history_path() const;

  proxy::ProxyContext& ctx_;
  uv_loop_t* loop_;
  std::string load_note_;  // how the history started; set while history_ is built, so first
  History history_;
  Forecaster forecaster_;
  uv_timer_t tick_;
  uv_timer_t moves_;  // 100 ms: starts queued moves, collects finished ones
  uint64_t ticks_ = 0;
  uint64_t last_refit_s_ = 0;
  uint64_t last_save_s_ = 0;
  uint64_t refits_ = 0;
  proxy::SnapshotCell<Published> published_;
  MapAuthority authority_;
  Migrations migrations_;  // read by scrapes and admin commands
  SegmentSizes sizes_;      // sampled once per balancer.interval, read by the balancer
  LiveBalancer balancer_;   // plans every balancer.interval on tick()
  uint64_t last_plan_s_ = 0;
  const proxy::Config* config_seen_;  // the ConfigCell keeps every version alive
};

}  // namespace migrate
