// Reads the golden files of tests/forecast/testdata (written by
// scripts/make_goldens.py from independent Python implementations) for the
// forecast tests. Test-only helper: failures are reported through doctest.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#ifndef FORESHARD_SOURCE_DIR
#define FORESHARD_SOURCE_DIR "."
#endif

namespace forecast_test {

inline std::string testdata_path(const std::string& name) {
  return std::string(FORESHARD_SOURCE_DIR) + "/tests/forecast/testdata/" + name;
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
