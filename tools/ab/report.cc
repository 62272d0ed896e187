#include "tools/ab/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace shunt::ab {
namespace {

using Json = nlohmann::ordered_json;

// Rounds to `digits` significant digits, so that the JSON says 7579.47
// rather than 7579.4728700103802.
double round_significant(double v, int digits) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  const double scale =
      std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

Json number_or_null(const std::optional<double>& v) {
  if (!v) return nullptr;
  return round_significant(*v, 6);
}

std::string with_thousands(long long v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string format_ratio(const std::optional<double>& r) {
  if (!r) return "n/a";
  if (std::fabs(*r) >= 0.1) return fmt::format("{:.2f}", *r);
  return fmt::format("{:.2g}", *r);
}

// Counts (every value of the metric whole) print whole: 0, 58, not 58.0.
std::string format_cell(double v, bool whole) {
  if (whole && v == std::round(v) && std::fabs(v) < 1e15) return with_thousands(std::llround(v));
  return format_number(v);
}

std::string format_optional(const std::optional<double>& v, bool whole) {
  return v ? format_cell(*v, whole) : std::string("n/a");
}

bool all_whole(const MetricSummary& m) {
  for (const auto* vs : {&m.kernel_values, &m.shunt_values}) {
    for (double v : *vs) {
      if (v != std::round(v)) return false;
    }
  }
  return true;
}

// How many successful runs of `step` each side had.
size_t ok_runs(const Report& r, std::string_view step, Side side) {
  return static_cast<size_t>(
      std::count_if(r.results.begin(), r.results.end(),
                    [&](const StepResult& s) { return s.ok && s.side == side && s.step == step; }));
}

// A median, with "(n=3)" when some successful runs lack the figure.
std::string median_cell(const Summary& s, size_t runs, bool whole) {
  std::string cell = format_optional(s.median, whole);
  if (s.n > 0 && s.n < runs) cell += fmt::format(" (n={})", s.n);
  return cell;
}

std::string range_cell(const Summary& s, bool whole) {
  if (!s.min) return "n/a";
  return format_cell(*s.min, whole) + ".." + format_cell(*s.max, whole);
}

// Escapes a string for a double-quoted gnuplot string.
std::string gnuplot_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";  // gnuplot makes a line break of it
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Json side_json(const Summary& s, const std::vector<double>& values) {
  Json j;
  j["n"] = s.n;
  j["median"] = number_or_null(s.median);
  j["min"] = number_or_null(s.min);
  j["max"] = number_or_null(s.max);
  Json vs = Json::array();
  for (double v : values) vs.push_back(round_significant(v, 6));
  j["values"] = vs;
  return j;
}

}  // namespace

std::string_view to_string(Side s) {
  return s == Side::kKernel ? "kernel" : "shunt";
}
std::string_view to_string(Better b) {
  return b == Better::kHigher ? "higher" : "lower";
}

std::string_view step_of(std::string_view metric_id) {
  return metric_id.substr(0, metric_id.find('.'));
}

std::vector<MetricSummary> summarize(const Report& r) {
  std::vector<MetricSummary> out;
  for (const MetricDef& def : r.metrics) {
    MetricSummary m;
    m.def = def;
    for (const StepResult& s : r.results) {
      if (!s.ok) continue;
      auto it = s.values.find(def.id);
      if (it == s.values.end()) continue;
      (s.side == Side::kKernel ? m.kernel_values : m.shunt_values).push_back(it->second);
    }
    m.kernel = ab::summarize(m.kernel_values);
    m.shunt = ab::summarize(m.shunt_values);
    m.ratio = ratio(m.shunt.median, m.kernel.median);
    out.push_back(std::move(m));
  }
  return out;
}

std::string format_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::fabs(v);
  if (a >= 99.95) return with_thousands(std::llround(v));
  if (a >= 9.995) return fmt::format("{:.1f}", v);
  if (a >= 0.9995) return fmt::format("{:.2f}", v);
  if (a == 0.0) return "0";
  return fmt::format("{:.3g}", v);
}

std::string markdown(const Report& r) {
  const ReportInfo& i = r.info;
  std::string md = fmt::format("# shunt ab: {}\n\n{}\n\n", i.scenario, i.description);
  md += fmt::format("- server: {}\n", i.server);
  md += fmt::format("- kernel: {}\n", i.kernel);
  md += fmt::format("- shunt: {}\n", i.shunt);
  md += fmt::format(
      "- {} run{} per side, {:g} s per step, interleaved kernel, shunt, kernel, shunt, ...; "
      "started {} on {}\n\n",
      i.runs, i.runs == 1 ? "" : "s", i.duration_s, i.started, i.host);

  md += "| metric | better | kernel | shunt | shunt/kernel | kernel range | shunt range |\n";
  md += "|---|---|---:|---:|---:|---:|---:|\n";
  std::vector<std::string> unplotted;
  for (const MetricSummary& m : summarize(r)) {
    const std::string_view step = step_of(m.def.id);
    const bool whole = all_whole(m);
    md += fmt::format(
        "| {} ({}) | {} | {} | {} | {} | {} | {} |\n", m.def.label, m.def.unit,
        to_string(m.def.better), median_cell(m.kernel, ok_runs(r, step, Side::kKernel), whole),
        median_cell(m.shunt, ok_runs(r, step, Side::kShunt), whole), format_ratio(m.ratio),
        range_cell(m.kernel, whole), range_cell(m.shunt, whole));
    if (m.def.plot && !(m.ratio && *m.ratio > 0)) unplotted.push_back(m.def.label);
  }
  md +=
      "\nMedians over the successful runs (n=K when only K of them gave the figure); ranges are "
      "min..max; shunt/kernel is the ratio of the medians, so for a 'lower' metric a ratio below 1 "
      "favours shunt.";
  if (!unplotted.empty()) {
    md +=
        fmt::format(" Not in the plot (no ratio: a side without the figure, or a median of 0): {}.",
                    fmt::join(unplotted, "; "));
  }
  md += "\n\n";

  size_t total[2] = {0, 0};
  size_t good[2] = {0, 0};
  for (const StepResult& s : r.results) {
    ++total[static_cast<int>(s.side)];
    if (s.ok) ++good[static_cast<int>(s.side)];
  }
  md += fmt::format("Client runs that succeeded: kernel {} of {}, shunt {} of {}.\n", good[0],
                    total[0], good[1], total[1]);
  bool header = false;
  for (const StepResult& s : r.results) {
    if (s.ok) continue;
    if (!header) {
      md += "\nFailed runs (left out of the medians):\n\n";
      header = true;
    }
    md += fmt::format("- run {}, {}, {}: {}", s.run, to_string(s.side), s.step, s.error);
    if (!s.log.empty()) md += fmt::format(" (log: {})", s.log);
    md += "\n";
  }
  if (!i.notes.empty()) {
    md += "\nThe runs stopped early:\n\n";
    for (const std::string& n : i.notes) md += fmt::format("- {}\n", n);
  }
  return md;
}

Json to_json(const Report& r) {
  const ReportInfo& i = r.info;
  Json j;
  j["tool"] = "shunt ab";
  j["format"] = 1;
  j["scenario"] = i.scenario;
  j["description"] = i.description;
  j["runs"] = i.runs;
  j["duration_s"] = i.duration_s;
  j["server"] = i.server;
  j["kernel"] = i.kernel;
  j["shunt"] = i.shunt;
  j["started"] = i.started;
  j["host"] = i.host;
  Json metrics = Json::array();
  for (const MetricSummary& m : summarize(r)) {
    Json mj;
    mj["id"] = m.def.id;
    mj["label"] = m.def.label;
    mj["unit"] = m.def.unit;
    mj["better"] = to_string(m.def.better);
    mj["kernel"] = side_json(m.kernel, m.kernel_values);
    mj["shunt"] = side_json(m.shunt, m.shunt_values);
    mj["ratio"] = number_or_null(m.ratio);
    metrics.push_back(std::move(mj));
  }
  j["metrics"] = std::move(metrics);
  Json results = Json::array();
  size_t failed = 0;
  for (const StepResult& s : r.results) {
    Json sj;
    sj["run"] = s.run;
    sj["side"] = to_string(s.side);
    sj["step"] = s.step;
    sj["ok"] = s.ok;
    sj["error"] = s.ok ? Json(nullptr) : Json(s.error);
    sj["wall_s"] = round_significant(s.wall_s, 6);
    Json values = Json::object();
    for (const MetricDef& def : r.metrics) {  // report order, not alphabetical
      if (auto it = s.values.find(def.id); it != s.values.end()) {
        values[def.id] = round_significant(it->second, 6);
      }
    }
    sj["values"] = std::move(values);
    sj["log"] = s.log;
    if (!s.ok) ++failed;
    results.push_back(std::move(sj));
  }
  j["results"] = std::move(results);
  j["failed"] = failed;
  j["notes"] = i.notes;
  return j;
}

std::string gnuplot_script(const Report& r, std::string_view png_path) {
  std::vector<MetricSummary> plotted;
  for (MetricSummary& m : summarize(r)) {
    if (m.def.plot && m.ratio && *m.ratio > 0) plotted.push_back(std::move(m));
  }
  const size_t n = plotted.size();
  const double right = n == 0 ? 0.6 : static_cast<double>(n) - 0.4;
  const int width = std::clamp(static_cast<int>(260 + 125 * n), 640, 2400);

  // Tick labels: the label wrapped at 18 characters, then unit and direction.
  size_t max_lines = 1;
  std::vector<std::string> tics;
  for (size_t x = 0; x < n; ++x) {
    const MetricDef& d = plotted[x].def;
    std::string text;
    size_t col = 0;
    size_t lines = 1;
    size_t pos = 0;
    const std::string& label = d.label;
    while (pos < label.size()) {
      size_t sp = label.find(' ', pos);
      if (sp == std::string::npos) sp = label.size();
      const std::string word = label.substr(pos, sp - pos);
      if (col > 0 && col + 1 + word.size() > 18) {
        text += '\n';
        col = 0;
        ++lines;
      } else if (col > 0) {
        text += ' ';
        ++col;
      }
      text += word;
      col += word.size();
      pos = sp + 1;
    }
    text += fmt::format("\n({})\n{} is better", d.unit, to_string(d.better));
    max_lines = std::max(max_lines, lines + 2);
    tics.push_back(fmt::format("{} {}", gnuplot_quote(text), x));
  }

  // The y range: every bar and point, with some room, on a 1-2-5 log scale.
  double lo = 1;
  double hi = 1;
  auto see = [&](double v) {
    if (v > 0 && std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  };
  for (const MetricSummary& m : plotted) {
    see(*m.ratio);
    for (double v : m.kernel_values) see(v / *m.kernel.median);
    for (double v : m.shunt_values) see(v / *m.kernel.median);
  }
  lo /= 1.6;
  hi *= 1.6;
  std::vector<std::string> yt;
  for (int e = -6; e <= 6; ++e) {
    for (double f : {1.0, 2.0, 5.0}) {
      const double v = f * std::pow(10.0, e);
      if (v >= lo && v <= hi) yt.push_back(fmt::format("\"{:g}\" {:g}", v, v));
    }
  }

  std::string gp =
      "# shunt ab: shunt's median over the kernel's for each metric (bars from 1), and\n"
      "# every run over the kernel's median (points). Run with: gnuplot ab.gp\n";
  gp += fmt::format("set terminal pngcairo size {},560 font \"sans,9\" noenhanced\n", width);
  gp += fmt::format("set output {}\n", gnuplot_quote(png_path));
  gp += fmt::format("set title {}\n",
                    gnuplot_quote(fmt::format("shunt ab: {}, {} runs per side: shunt / kernel "
                                              "(1 = the kernel's median)",
                                              r.info.scenario, r.info.runs)));
  gp += "set ylabel \"shunt / kernel median (log scale)\"\n";
  gp += "set logscale y\n";
  gp += fmt::format("set yrange [{:.4g}:{:.4g}]\n", lo, hi);
  if (!yt.empty()) gp += fmt::format("set ytics ({})\n", fmt::join(yt, ", "));
  gp += "set grid ytics\n";
  gp += "set key outside right top vertical\n";
  gp += "set style fill solid 0.75 border -1\n";
  gp += fmt::format("set bmargin {}\n", max_lines + 2);
  gp += fmt::format("set xrange [-0.6:{}]\n", right);
  gp += fmt::format(
      "set arrow from -0.6,1 to {},1 nohead linewidth 1.5 linecolor rgb \"#404040\"\n", right);
  if (n == 0) {
    gp += "set label \"no metric with a kernel figure to compare with\" at 0,1 center\n";
    gp += "plot 1 notitle linecolor rgb \"#404040\"\n";
    return gp;
  }
  gp += fmt::format("set xtics ({}) scale 0\n", fmt::join(tics, ", "));

  // Bars from 1 to the ratio: better (green) or worse (red) for shunt.
  std::string better, worse, kernel_runs, shunt_runs, up_labels, down_labels;
  for (size_t x = 0; x < n; ++x) {
    const MetricSummary& m = plotted[x];
    const double q = *m.ratio;
    const bool shunt_better = m.def.better == Better::kHigher ? q >= 1 : q <= 1;
    (shunt_better ? better : worse) +=
        fmt::format("{} {:.6g} {:.6g} {:.6g}\n", x, q, std::min(1.0, q), std::max(1.0, q));
    (q >= 1 ? up_labels : down_labels) += fmt::format("{} {:.6g} \"{}x\"\n", x, q, format_ratio(q));
    for (double v : m.kernel_values) {
      if (v > 0) kernel_runs += fmt::format("{} {:.6g}\n", x - 0.2, v / *m.kernel.median);
    }
    for (double v : m.shunt_values) {
      if (v > 0) shunt_runs += fmt::format("{} {:.6g}\n", x + 0.2, v / *m.kernel.median);
    }
  }
  std::vector<std::string> plots;
  auto block = [&](std::string_view name, const std::string& rows, std::string_view how) {
    if (rows.empty()) return;
    gp += fmt::format("${} << EOD\n{}EOD\n", name, rows);
    plots.push_back(fmt::format("${} {}", name, how));
  };
  block("better", better,
        "using 1:2:($1-0.32):($1+0.32):3:4 with boxxyerror linecolor rgb \"#2ca02c\" title "
        "\"shunt better\"");
  block("worse", worse,
        "using 1:2:($1-0.32):($1+0.32):3:4 with boxxyerror linecolor rgb \"#d62728\" title "
        "\"shunt worse\"");
  block("kernel_runs", kernel_runs,
        "using 1:2 with points pointtype 6 pointsize 0.9 linecolor rgb \"#505050\" title \"kernel "
        "runs\"");
  block("shunt_runs", shunt_runs,
        "using 1:2 with points pointtype 7 pointsize 0.7 linecolor rgb \"#000000\" title \"shunt "
        "runs\"");
  block("up_labels", up_labels, "using 1:2:3 with labels offset 0,0.8 notitle");
  block("down_labels", down_labels, "using 1:2:3 with labels offset 0,-0.8 notitle");
  gp += fmt::format("plot {}\n", fmt::join(plots, ", \\\n     "));
  return gp;
}

}  // namespace shunt::ab
