// Running a shell command from a test, and requiring a tool scripts/setup
// installs (tshark, ping): a missing tool is a failed test, not a skip, so a
// broken set-up cannot pass unnoticed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace shunt::testing {

// Runs `cmd` with sh; returns its standard output and sets *status to the
// wait status (pclose).
inline std::string run_command(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

// True when `tool` is on the PATH; otherwise records a failure naming it.
// Use as: ASSERT_TRUE(have_tool("tshark"));
inline ::testing::AssertionResult have_tool(const std::string& tool) {
  int status = 0;
  run_command("command -v " + tool + " >/dev/null 2>&1", &status);
  if (status == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << tool << " is not installed: run scripts/setup";
}

}  // namespace shunt::testing
