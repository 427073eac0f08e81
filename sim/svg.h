// Minimal SVG line charts for the simulator's plots: stacked panels sharing
// an x axis, each with polylines, dashed reference lines and a legend. Owns
// only the text it writes; no plotting library.
#pragma once

#include <string>
#include <vector>

namespace sim {

struct Line {
  std::string name;       // legend text; empty = not in the legend
  std::string color;      // any SVG colour
  std::vector<double> y;  // evenly spaced over the panel's x range
  double width = 1.5;
  double opacity = 1;
};

struct Panel {
  std::string title;
  std::string y_label;
  double y_min = 0, y_max = 1;
  std::vector<Line> lines;
  std::vector<std::pair<double, std::string>> refs;  // dashed lines at y, with a label
};

// Writes panels stacked vertically; x runs from 0 to x_max (x_label's units).
// Returns false if the file cannot be written.
bool write_svg(const std::string& path, const std::string& title, const std::string& x_label,
               double x_max, const std::vector<Panel>& panels);

}  // namespace sim
