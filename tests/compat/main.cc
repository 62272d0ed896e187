// compat_checks: the comparison harness's program (harness.h).
//
//   compat_checks run --peer ADDR --self ADDR --ifname NAME [--filter TEXT]
//       runs every check (or those whose name contains TEXT) and prints
//       "name: observation" lines; run once on the kernel and once under
//       libshunt.so (tests/programs/compat_test.sh).
//   compat_checks list
//       prints the names of the checks.
//   compat_checks compare KERNEL_OUT SHUNT_OUT KNOWN_DIFFERENCES [gtest flags]
//       one gtest per check: the two runs agree, or differ as listed.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/compat/compare.h"
#include "tests/compat/harness.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: compat_checks run --peer ADDR --self ADDR --ifname NAME [--filter TEXT]\n"
               "       compat_checks list\n"
               "       compat_checks compare KERNEL_OUT SHUNT_OUT KNOWN_DIFFERENCES [gtest flags]\n");
  return 2;
}

int run(int argc, char** argv) {
  compat::Env env;
  std::string filter;
  bool have_peer = false, have_self = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--peer") {
      have_peer = inet_pton(AF_INET, argv[i + 1], &env.peer) == 1;
    } else if (flag == "--self") {
      have_self = inet_pton(AF_INET, argv[i + 1], &env.self) == 1;
    } else if (flag == "--ifname") {
      env.ifname = argv[i + 1];
    } else if (flag == "--filter") {
      filter = argv[i + 1];
    } else {
      return usage();
    }
  }
  if (!have_peer || !have_self || env.ifname.empty()) return usage();
  // A check that hits a reset connection must see EPIPE, not die of SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  // Linux stamps received packets only while some socket asks for it, and
  // turns stamping on through deferred work (net_enable_timestamp): the first
  // segments after a check's SO_TIMESTAMP may arrive unstamped on a loaded
  // machine. One socket that asks for the whole run keeps it on for the
  // timestamp checks; it is never used otherwise (and costs shunt nothing).
  const int stamping = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int on = 1;
  (void)::setsockopt(stamping, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on);
  for (const compat::Check& c : compat::checks()) {
    if (!filter.empty() && std::strstr(c.name, filter.c_str()) == nullptr) continue;
    std::string seen = c.observe(env);
    std::printf("%s: %s\n", c.name, seen.c_str());
    std::fflush(stdout);
  }
  ::close(stamping);
  return 0;
}

class OutcomeTest : public ::testing::Test {
 public:
  explicit OutcomeTest(compat::Outcome o) : o_(std::move(o)) {}
  void TestBody() override {
    if (o_.passed()) {
      std::cout << o_.message() << "\n";
    } else {
      ADD_FAILURE() << o_.message();
    }
  }

 private:
  compat::Outcome o_;
};

class ProblemTest : public ::testing::Test {
 public:
  explicit ProblemTest(std::string p) : p_(std::move(p)) {}
  void TestBody() override { ADD_FAILURE() << p_; }

 private:
  std::string p_;
};

int compare(int argc, char** argv) {
  if (argc < 5) return usage();
  std::ifstream k(argv[2]), s(argv[3]), d(argv[4]);
  if (!k || !s || !d) {
    std::fprintf(stderr, "compat_checks: cannot read %s, %s or %s\n", argv[2], argv[3], argv[4]);
    return 2;
  }
  const compat::Observations kernel = compat::parse_observations(k);
  const compat::Observations shunt = compat::parse_observations(s);
  const compat::KnownDifferences known = compat::parse_known(d);
  std::vector<std::string> problems;
  for (const auto& p : kernel.problems) problems.push_back("kernel run: " + p);
  for (const auto& p : shunt.problems) problems.push_back("shunt run: " + p);
  for (const auto& p : known.problems) problems.push_back("known_differences.txt: " + p);
  if (kernel.order.empty()) problems.push_back("the kernel run printed no checks");
  for (size_t i = 0; i < problems.size(); ++i) {
    std::string p = problems[i];
    ::testing::RegisterTest("CompatInput", ("problem" + std::to_string(i)).c_str(), nullptr, nullptr, __FILE__,
                            __LINE__, [p]() -> ::testing::Test* { return new ProblemTest(p); });
  }
  for (const compat::Outcome& o : compat::compare(kernel, shunt, known)) {
    ::testing::RegisterTest("KernelVsShunt", o.name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [o]() -> ::testing::Test* { return new OutcomeTest(o); });
  }
  int gargc = argc - 4;
  std::vector<char*> gargv{argv[0]};
  for (int i = 5; i < argc; ++i) gargv.push_back(argv[i]);
  gargv.push_back(nullptr);
  ::testing::InitGoogleTest(&gargc, gargv.data());
  return RUN_ALL_TESTS();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  if (cmd == "run") return run(argc, argv);
  if (cmd == "list") {
    for (const compat::Check& c : compat::checks()) std::printf("%s\n", c.name);
    return 0;
  }
  if (cmd == "compare") return compare(argc, argv);
  return usage();
}
