// foreshard executable: `serve` runs the proxy, `forecast` evaluates the
// forecasting models on CSV traces, `simulate` replays a fleet (sim/). Parses
// flags, loads the config, hands over; exit code 0 on a clean stop, 1 on a
// start-up error, 2 on bad usage.
#include <cstring>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#if __has_include("app/forecast_cmd.h")
#include "app/forecast_cmd.h"
#define HAVE_FORECAST_CMD 1
#endif
#if __has_include("app/simulate_cmd.h")
#include "app/simulate_cmd.h"
#define HAVE_SIMULATE_CMD 1
#endif
#include "migrate/controller.h"
#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/server.h"

int main(int argc, char** argv) {
  // `forecast` owns its own flags; hand it the rest of the command line.
#ifdef HAVE_FORECAST_CMD
  if (argc >= 2 && std::strcmp(argv[1], "forecast") == 0) {
    return run_forecast_command(argc - 1, argv + 1);
  }
#endif
#ifdef HAVE_SIMULATE_CMD
  if (argc >= 2 && std::strcmp(argv[1], "simulate") == 0) {
    return run_simulate_command(argc - 1, argv + 1);
  }
#endif
  CLI::App app{"foreshard: a Redis-protocol sharding proxy that forecasts load and moves "
               "segments before the peak"};
  app.require_subcommand(1);
  app.set_version_flag("--version", FORESHARD_VERSION);
  std::string config_path = "conf/foreshard.yaml";
  std::string log_level;
  auto* serve = app.add_subcommand("serve", "run the proxy");
  serve->add_option("-c,--config", config_path, "YAML config file")->capture_default_str();
  serve->add_option("--log-level", log_level, "override logLevel (debug|info|warn|error)");
  bool check_only = false;
  serve->add_flag("--check", check_only, "validate the config and exit");
  app.add_subcommand("forecast", "evaluate forecasting models: foreshard forecast eval --help");
  app.add_subcommand("simulate", "replay a workload on a simulated fleet: foreshard simulate --help");
  CLI11_PARSE(app, argc, argv);

  proxy::init_logging("info");
  auto cfg = proxy::load_config(config_path);
  if (!cfg.is_ok()) {
    std::cerr << "foreshard: " << cfg.status().message() << "\n";
    return 1;
  }
  if (!log_level.empty()) {
    cfg.value().log_level = log_level;
  }
  if (!proxy::init_logging(cfg.value().log_level)) {
    std::cerr << "foreshard: unknown log level '" << cfg.value().log_level << "'\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": ok (" << cfg.value().backends.size() << " backends)\n";
    return 0;
  }
  proxy::ControlFactory control;
  if (cfg.value().telemetry.enabled) {
    control = [](proxy::ProxyContext& ctx, uv_loop_t* loop) {
      return std::make_unique<migrate::Controller>(ctx, loop);
    };
  }
  return proxy::run_server(cfg.value(), config_path, control);
}
