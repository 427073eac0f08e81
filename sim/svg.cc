// SVG text for write_svg(): fixed 900-px-wide panels, nice ticks, polylines
// rounded to whole pixels to keep the files small.
#include "sim/svg.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace sim {
namespace {

constexpr double kW = 900, kPanelH = 190, kLeft = 60, kRight = 20, kTop = 40, kGap = 45;

double nice_step(double range, int ticks) {
  const double raw = range / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      return m * mag;
    }
  }
  return 10 * mag;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

std::string label(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", std::round(v * 1000) / 1000);
  return b;
}

}  // namespace

bool write_svg(const std::string& path, const std::string& title, const std::string& x_label,
               double x_max, const std::vector<Panel>& panels) {
  const double h = kTop + static_cast<double>(panels.size()) * (kPanelH + kGap) + 10;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
       "fill=\"white\"/>\n<text x=\""
    << kW / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << title << "</text>\n";
  const double pw = kW - kLeft - kRight;
  for (size_t p = 0; p < panels.size(); ++p) {
    const Panel& pn = panels[p];
    const double y0 = kTop + static_cast<double>(p) * (kPanelH + kGap);
    const double span = pn.y_max > pn.y_min ? pn.y_max - pn.y_min : 1;
    auto py = [&](double v) {
      return y0 + kPanelH * (1 - (std::fmin(std::fmax(v, pn.y_min), pn.y_max) - pn.y_min) / span);
    };
    s << "<text x=\"" << kLeft << "\" y=\"" << y0 - 6 << "\" font-size=\"12\">" << pn.title
      << "</text>\n<rect x=\"" << kLeft << "\" y=\"" << y0 << "\" width=\"" << pw << "\" height=\""
      << kPanelH << "\" fill=\"none\" stroke=\"#888\"/>\n";
    const double ys = nice_step(span, 4);
    for (double v = std::ceil(pn.y_min / ys) * ys; v <= pn.y_max + 1e-9; v += ys) {
      s << "<text x=\"" << kLeft - 4 << "\" y=\"" << num(py(v) + 4) << "\" text-anchor=\"end\">"
        << label(v) << "</text>\n";
    }
    const double xs = nice_step(x_max, 14);
    for (double v = 0; v <= x_max + 1e-9; v += xs) {
      s << "<text x=\"" << num(kLeft + pw * v / x_max) << "\" y=\"" << y0 + kPanelH + 13
        << "\" text-anchor=\"middle\">" << label(v) << "</text>\n";
    }
    s << "<text x=\"14\" y=\"" << y0 + kPanelH / 2 << "\" transform=\"rotate(-90 14 "
      << y0 + kPanelH / 2 << ")\" text-anchor=\"middle\">" << pn.y_label << "</text>\n";
    for (const Line& l : pn.lines) {
      if (l.y.size() < 2) {
        continue;
      }
      s << "<polyline fill=\"none\" stroke=\"" << l.color << "\" stroke-width=\"" << l.width
        << "\" stroke-opacity=\"" << l.opacity << "\" points=\"";
      for (size_t i = 0; i < l.y.size(); ++i) {
        s << num(kLeft + pw * static_cast<double>(i) / static_cast<double>(l.y.size() - 1)) << ','
          << num(py(l.y[i])) << ' ';
      }
      s << "\"/>\n";
    }
    for (const auto& [v, text] : pn.refs) {
      s << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << num(py(v))
        << "\" y2=\"" << num(py(v)) << "\" stroke=\"#c00\" stroke-dasharray=\"5,4\"/>\n<text x=\""
        << kLeft + pw - 4 << "\" y=\"" << num(py(v) - 3) << "\" text-anchor=\"end\" fill=\"#c00\">"
        << text << "</text>\n";
    }
    double lx = kLeft + 8;
    for (const Line& l : pn.lines) {
      if (l.name.empty()) {
        continue;
      }
      s << "<rect x=\"" << lx << "\" y=\"" << y0 + 6 << "\" width=\"12\" height=\"3\" fill=\""
        << l.color << "\"/><text x=\"" << lx + 16 << "\" y=\"" << y0 + 11 << "\">" << l.name
        << "</text>\n";
      lx += 30 + 6.5 * static_cast<double>(l.name.size());
    }
  }
  s << "<text x=\"" << kW / 2 << "\" y=\"" << h - 4 << "\" text-anchor=\"middle\">" << x_label
    << "</text>\n</svg>\n";
  std::ofstream f(path);
  f << s.str();
  return static_cast<bool>(f);
}

}  // namespace sim
