// The preload settings (preload/config.cc, docs/settings.md): every SHUNT_*
// variable with a bad value is refused with one line that names it and
// says what to give instead; good values are taken.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "preload/config.h"

namespace shunt::preload {
namespace {

// Sets the variables for one test and removes every SHUNT_* one after.
class Env {
 public:
  explicit Env(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ~Env() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

struct Bad {
  const char* var;
  const char* value;
  const char* says;  // part of the one-line error
};

TEST(Config, DefaultsWithNothingSet) {
  auto c = config_from_env();
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->exit_linger_ms, 2000u);
  EXPECT_TRUE(c->control);
  EXPECT_EQ(c->busy_poll_us, 0u);
  EXPECT_EQ(c->ifname, "shunt0");
}

TEST(Config, BadValuesAreRefusedWithTheVariableNamed) {
  const Bad cases[] = {
      {"SHUNT_EXIT_LINGER_MS", "abc", "use milliseconds from 0 to 3600000"},
      {"SHUNT_EXIT_LINGER_MS", "-5", "use milliseconds from 0 to 3600000"},
      {"SHUNT_EXIT_LINGER_MS", "3600001", "use milliseconds"},
      {"SHUNT_EXIT_LINGER_MS", "", "use milliseconds"},
      {"SHUNT_CONTROL", "maybe", "use 1 to serve the control socket"},
      {"SHUNT_CONTROL", "", "use 1 to serve the control socket"},
      {"SHUNT_BUSY_POLL_US", "-1", "use microseconds from 0 to 1000000"},
      {"SHUNT_BUSY_POLL_US", "1000001", "use microseconds"},
      {"SHUNT_MTU", "100", "use a number from 576 to 9000"},
      {"SHUNT_MTU", "9001", "use a number from 576 to 9000"},
      {"SHUNT_MTU", "1500x", "use a number"},
      {"SHUNT_IP", "198.18.0.2", "use ADDRESS/PREFIX"},
      {"SHUNT_IP", "0.0.0.0/24", "use ADDRESS/PREFIX"},
      {"SHUNT_IP", "224.0.0.1/4", "use ADDRESS/PREFIX"},
      {"SHUNT_IP", "198.18.0.2/0", "use ADDRESS/PREFIX"},
      {"SHUNT_IP", "198.18.0.2/33", "use ADDRESS/PREFIX"},
      {"SHUNT_GATEWAY", "10.0.0.1", "inside 198.18.0.2/24"},
      {"SHUNT_GATEWAY", "198.18.0.2", "other than the stack's own"},
      {"SHUNT_MAC", "01:00:5e:00:00:01", "use a unicast MAC"},
      {"SHUNT_MAC", "00:00:00:00:00:00", "use a unicast MAC"},
      {"SHUNT_MAC", "02:00:00", "use a unicast MAC"},
      {"SHUNT_TAP", "", "give an interface name"},
      {"SHUNT_TAP", "a-name-longer-than-15", "1 to 15 characters"},
      {"SHUNT_PACKET", "", "give an existing interface name"},
      {"SHUNT_TAP_HOST_IP", "198.18.0.2/24", "different from SHUNT_IP"},
      {"SHUNT_TAP_HOST_IP", "nope", "use ADDRESS/PREFIX"},
      {"SHUNT_PCAP", "", "give a file name"},
      {"SHUNT_LOG", "verbose", "use error, warn, info or debug"},
      {"SHUNT_LOOPBACK", "both", "use kernel"},
      {"SHUNT_FORK", "both", "use parent"},
      {"SHUNT_SEED", "-1", "use a decimal number"},
      {"SHUNT_SEED", "0x10", "use a decimal number"},
      {"SHUNT_SEED", "99999999999999999999", "use a decimal number"},
      {"SHUNT_STATS", "2", "use 1 to print"},
      {"SHUNT_FAULTS", "both truncate=0", "truncate=14 or more"},
      {"SHUNT_FAULTS", "both drop 200%", "SHUNT_FAULTS (--fault)"},
      {"SHUNT_PCAP_FILTER", "port", "SHUNT_PCAP_FILTER (--pcap-filter)"},
  };
  for (const Bad& b : cases) {
    Env env(std::vector<std::pair<std::string, std::string>>{{b.var, b.value}});
    auto c = config_from_env();
    ASSERT_FALSE(c.ok()) << b.var << "=" << b.value << " was accepted";
    EXPECT_EQ(c.error().rfind("shunt: ", 0), 0u) << c.error();
    EXPECT_NE(c.error().find(b.var), std::string::npos) << c.error();
    EXPECT_NE(c.error().find(b.says), std::string::npos) << b.var << "=" << b.value << ": " << c.error();
    EXPECT_EQ(c.error().find('\n'), std::string::npos) << "one line: " << c.error();
  }
}

TEST(Config, GoodValuesAreTaken) {
  Env env({{"SHUNT_EXIT_LINGER_MS", "0"},
           {"SHUNT_CONTROL", "no"},
           {"SHUNT_BUSY_POLL_US", "50"},
           {"SHUNT_MTU", "1280"},
           {"SHUNT_IP", "198.18.1.2/16"},
           {"SHUNT_GATEWAY", "198.18.0.1"},
           {"SHUNT_SEED", "18446744073709551615"}});
  auto c = config_from_env();
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->exit_linger_ms, 0u);
  EXPECT_FALSE(c->control);
  EXPECT_EQ(c->busy_poll_us, 50u);
  EXPECT_EQ(c->mtu, 1280u);
  EXPECT_EQ(c->address.to_string(), "198.18.1.2/16");
  ASSERT_TRUE(c->seed.has_value());
  EXPECT_EQ(*c->seed, UINT64_MAX);
}

TEST(Config, BothDevicesIsAnError) {
  Env env({{"SHUNT_TAP", "tap0"}, {"SHUNT_PACKET", "veth0"}});
  auto c = config_from_env();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("choose one device"), std::string::npos) << c.error();
}

}  // namespace
}  // namespace shunt::preload
