// Reads the golden files of tests/forecast/testdata (written by
// scripts/make_goldens.py from independent Python implementations) for the
// forecast tests. Test-only helper: failures are reported through doctest.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "forecast/series.h"

namespace forecast_test {

// The build defines FORESHARD_SOURCE_DIR; a hand-made build (g++ ... tests/forecast/*.cc)
// falls back to the directory this header was included from.
inline std::string source_dir() {
#ifdef FORESHARD_SOURCE_DIR
  return FORESHARD_SOURCE_DIR;
#else
  const std::string here = __FILE__, tail = "tests/forecast/testdata.h";
  const size_t at = here.rfind(tail);
  return at == std::string::npos ? std::string(".") : here.substr(0, at);
#endif
}

inline std::string testdata_path(const std::string& name) {
  return source_dir() + "/tests/forecast/testdata/" + name;
}

// The gappy test series (tests/forecast/testdata/series_gappy.csv).
inline forecast::TimeSeries gappy() {
  return forecast::load_csv(testdata_path("series_gappy.csv")).value();
}

// Rows of a CSV file without its header, split on commas.
inline std::vector<std::vector<std::string>> read_rows(const std::string& name) {
  std::ifstream in(testdata_path(name));
  REQUIRE_MESSAGE(in.good(), "missing golden file ", name, " (run scripts/make_goldens.py)");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

// Column `col` of every row as doubles ("nan" parses to NaN).
inline std::vector<double> read_column(const std::string& name, size_t col) {
  std::vector<double> out;
  for (const auto& r : read_rows(name)) out.push_back(std::strtod(r.at(col).c_str(), nullptr));
  return out;
}

}  // namespace forecast_test
