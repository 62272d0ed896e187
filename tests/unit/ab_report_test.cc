// shunt ab's report writers (tools/ab/report.h) on a fixed report: the
// Markdown, the JSON and the gnuplot script are compared with golden text,
// so any change to what users read is deliberate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/ab/report.h"

namespace shunt::ab {
namespace {

// Compares `actual` with tests/unit/golden/NAME; SHUNT_UPDATE_GOLDEN=1
// rewrites the file instead (then review the diff).
void expect_golden(const std::string& name, const std::string& actual) {
  const auto path = std::filesystem::path(SHUNT_GOLDEN_DIR) / name;
  if (std::getenv("SHUNT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "no golden file " << path << " (SHUNT_UPDATE_GOLDEN=1 writes it)";
  std::stringstream want;
  want << f.rdbuf();
  EXPECT_EQ(actual, want.str()) << "golden file " << path;
}

// Two runs per side of one step; the second shunt run failed, and one
// kernel run lacks the server's retransmission count.
Report fixed_report() {
  Report r;
  r.info.scenario = "iperf3";
  r.info.description = "Bulk TCP.";
  r.info.runs = 2;
  r.info.duration_s = 5;
  r.info.server = "the kernel in P-peer";
  r.info.kernel = "the client in P-client";
  r.info.shunt = "the client through shunt";
  r.info.started = "2026-11-22 09:00:00 +0000";
  r.info.host = "vm (Linux 6.18, 2 CPUs)";
  r.info.notes = {"server iperf3 ended with exit status 1: iperf3: error; no runs after that"};
  r.metrics = {
      {"upload.throughput", "upload: throughput", "Mbit/s", Better::kHigher},
      {"upload.cpu", "upload: client CPU", "s", Better::kLower},
      {"upload.retrans_server", "upload: retransmitted by the server", "segments", Better::kLower,
       false},
  };
  auto result = [](int run, Side side, bool ok, std::map<std::string, double> values) {
    StepResult s;
    s.run = run;
    s.side = side;
    s.step = "upload";
    s.ok = ok;
    s.wall_s = 5.25;
    s.values = std::move(values);
    s.log = "logs/x";
    if (!ok) s.error = "exit status 1: iperf3: error - the server is busy";
    return s;
  };
  r.results = {
      result(1, Side::kKernel, true,
             {{"upload.throughput", 9000}, {"upload.cpu", 1.5}, {"upload.retrans_server", 0}}),
      result(1, Side::kShunt, true,
             {{"upload.throughput", 3000.123456789},
              {"upload.cpu", 2.25},
              {"upload.retrans_server", 2}}),
      result(2, Side::kKernel, true, {{"upload.throughput", 11000}, {"upload.cpu", 2.5}}),
      result(2, Side::kShunt, false, {}),
  };
  return r;
}

TEST(AbReport, FormatNumber) {
  EXPECT_EQ(format_number(9409.6), "9,410");
  EXPECT_EQ(format_number(1234567), "1,234,567");
  EXPECT_EQ(format_number(338.4), "338");
  EXPECT_EQ(format_number(16.31), "16.3");
  EXPECT_EQ(format_number(6.109), "6.11");
  EXPECT_EQ(format_number(0.2234), "0.223");
  EXPECT_EQ(format_number(0.000123456), "0.000123");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(58), "58.0");
  EXPECT_EQ(format_number(-2.5), "-2.50");
}

TEST(AbReport, SummaryUsesSuccessfulRunsOnly) {
  auto s = summarize(fixed_report());
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].kernel.median, 10000.0);
  EXPECT_EQ(s[0].shunt.n, 1u);
  EXPECT_DOUBLE_EQ(*s[0].ratio, 3000.123456789 / 10000.0);
  EXPECT_EQ(s[2].kernel.n, 1u);
  EXPECT_EQ(s[2].ratio, std::nullopt);  // the kernel's median is 0
}

TEST(AbReport, MarkdownGolden) {
  expect_golden("ab_report.md", markdown(fixed_report()));
}

TEST(AbReport, JsonGolden) {
  const std::string json = to_json(fixed_report()).dump(2) + "\n";
  expect_golden("ab_report.json", json);
  // It parses back, with the figures in place.
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["metrics"][0]["kernel"]["median"], 10000.0);
  EXPECT_EQ(j["metrics"][2]["ratio"], nullptr);
  EXPECT_EQ(j["failed"], 1);
}

TEST(AbReport, GnuplotGolden) {
  expect_golden("ab_report.gp", gnuplot_script(fixed_report(), "ab.png"));
}

TEST(AbReport, GnuplotWithNothingToCompare) {
  Report r = fixed_report();
  for (StepResult& s : r.results) {
    if (s.side == Side::kKernel) s.ok = false;
  }
  const std::string gp = gnuplot_script(r, "ab.png");
  EXPECT_NE(gp.find("no metric with a kernel figure"), std::string::npos) << gp;
  EXPECT_NE(gp.find("\nplot "), std::string::npos) << gp;
}

TEST(AbReport, GnuplotQuotesLabels) {
  Report r = fixed_report();
  r.metrics[0].label = "a \"quoted\" \\ label";
  const std::string gp = gnuplot_script(r, "dir \"x\"/ab.png");
  EXPECT_NE(gp.find(R"(set output "dir \"x\"/ab.png")"), std::string::npos) << gp;
  EXPECT_NE(gp.find(R"(a \"quoted\" \\ label)"), std::string::npos) << gp;
}

}  // namespace
}  // namespace shunt::ab
