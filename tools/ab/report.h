// The results of `shunt ab` and the three forms it writes them in: a
// Markdown table (ab.md, also on stdout), JSON (ab.json) and a gnuplot
// script for the PNG (ab.gp -> ab.png). Pure functions of a Report, so the
// writers are unit-tested with golden output (tests/unit/ab_report_test.cc).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/ab/stats.h"

namespace shunt::ab {

// Which client: the Linux kernel's stack, or shunt's.
enum class Side : uint8_t { kKernel, kShunt };
std::string_view to_string(Side s);

enum class Better : uint8_t { kHigher, kLower };
std::string_view to_string(Better b);

// One figure a step reports, e.g. {"upload.throughput", "upload: throughput",
// "Mbit/s", kHigher}. The id is "<step>.<figure>".
struct MetricDef {
  std::string id;
  std::string label;
  std::string unit;
  Better better = Better::kHigher;
  bool plot = true;  // in ab.png (counts such as retransmissions are not)
};

// The step part of a metric id ("upload" of "upload.throughput").
std::string_view step_of(std::string_view metric_id);

// One client invocation: run `run` (1-based) of step `step` on one side.
struct StepResult {
  int run = 0;
  Side side = Side::kKernel;
  std::string step;
  bool ok = false;
  std::string error;  // one line, when !ok
  double wall_s = 0;
  std::map<std::string, double> values;  // metric id -> value; a figure may be missing
  std::string log;                       // the client's output, relative to the report
};

struct ReportInfo {
  std::string scenario;
  std::string description;         // the workload, one paragraph
  int runs = 0;                    // per side
  double duration_s = 0;           // per step
  std::string server;              // where the server runs
  std::string kernel;              // what "kernel" means in this report
  std::string shunt;               // what "shunt" means in this report
  std::string started;             // local time, ISO 8601
  std::string host;                // machine and load
  std::vector<std::string> notes;  // what stopped the runs early, if anything
};

struct Report {
  ReportInfo info;
  std::vector<MetricDef> metrics;   // in report order
  std::vector<StepResult> results;  // in the order they ran
};

struct MetricSummary {
  MetricDef def;
  std::vector<double> kernel_values;  // in run order, successful runs only
  std::vector<double> shunt_values;
  Summary kernel;
  Summary shunt;
  std::optional<double> ratio;  // shunt median / kernel median
};

std::vector<MetricSummary> summarize(const Report& r);

// 9,410 / 338 / 16.3 / 6.11 / 0.223 (three or more significant digits).
std::string format_number(double v);

std::string markdown(const Report& r);
nlohmann::ordered_json to_json(const Report& r);
// A gnuplot script that draws, for each plotted metric, the ratio of the
// medians as a bar from 1 (the kernel) on a log scale, green where shunt
// does better and red where it does worse, with every run of both sides as
// a point over the kernel's median; into `png_path`.
std::string gnuplot_script(const Report& r, std::string_view png_path);

}  // namespace shunt::ab
