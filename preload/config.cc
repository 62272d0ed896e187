#include "preload/config.h"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

namespace shunt::preload {
namespace {

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;  // overflow
    v = v * 10 + d;
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

const char* env(const char* name) { return secure_getenv(name); }

MacAddress Config::effective_mac() const {
  if (mac) return *mac;
  uint32_t a = address.address().value();
  return MacAddress({0x02, 0x00, static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                     static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)});
}

Expected<Config, std::string> config_from_env() {
  Config c;
  auto bad = [](const char* name, std::string_view value, std::string_view fix) {
    return fmt::format("shunt: {}='{}' is not valid: {}", name, value, fix);
  };
  const char* tap = env("SHUNT_TAP");
  const char* packet = env("SHUNT_PACKET");
  if (tap != nullptr && packet != nullptr) {
    return std::string(
        "shunt: SHUNT_TAP and SHUNT_PACKET are both set: choose one device (--tap or --packet)");
  }
  if (tap != nullptr) {
    if (*tap == '\0' || std::string_view(tap).size() > 15) {
      return bad("SHUNT_TAP", tap, "give an interface name of 1 to 15 characters");
    }
    c.device = Config::Device::kTap;
    c.ifname = tap;
    c.default_device = false;
  }
  if (packet != nullptr) {
    if (*packet == '\0' || std::string_view(packet).size() > 15) {
      return bad("SHUNT_PACKET", packet, "give an existing interface name (see `ip link`)");
    }
    c.device = Config::Device::kPacket;
    c.ifname = packet;
    c.default_device = false;
  }
  if (const char* v = env("SHUNT_IP")) {
    auto cidr = Ipv4Cidr::parse(v);
    if (!cidr || cidr->address().is_unspecified() || cidr->address().is_multicast() ||
        cidr->address().is_broadcast() || cidr->prefix_len() == 0) {
      return bad("SHUNT_IP", v, "use ADDRESS/PREFIX, e.g. 198.18.0.2/24");
    }
    c.address = *cidr;
  }
  if (const char* v = env("SHUNT_GATEWAY")) {
    auto gw = Ipv4Address::parse(v);
    if (!gw || !c.address.contains(*gw) || *gw == c.address.address()) {
      return bad("SHUNT_GATEWAY", v,
                 fmt::format("use an address inside {} other than the stack's own", c.address.to_string()));
    }
    c.gateway = *gw;
  }
  if (const char* v = env("SHUNT_MAC")) {
    auto mac = MacAddress::parse(v);
    if (!mac || mac->is_multicast() || mac->is_zero()) {
      return bad("SHUNT_MAC", v, "use a unicast MAC such as 02:00:c6:12:00:02");
    }
    c.mac = *mac;
  }
  if (const char* v = env("SHUNT_MTU")) {
    auto mtu = parse_uint(v, 65535);
    if (!mtu || *mtu < 576 || *mtu > 9000) return bad("SHUNT_MTU", v, "use a number from 576 to 9000");
    c.mtu = static_cast<uint32_t>(*mtu);
  }
  if (const char* v = env("SHUNT_TAP_HOST_IP")) {
    auto cidr = Ipv4Cidr::parse(v);
    if (!cidr || cidr->address() == c.address.address()) {
      return bad("SHUNT_TAP_HOST_IP", v, "use ADDRESS/PREFIX different from SHUNT_IP, e.g. 198.18.0.1/24");
    }
    c.tap_host = *cidr;
  }
  if (const char* v = env("SHUNT_PCAP")) {
    if (*v == '\0') return bad("SHUNT_PCAP", v, "give a file name to write the capture to");
    c.pcap = v;
  }
  if (const char* v = env("SHUNT_LOG")) {
    std::string_view s(v);
    if (s == "error") c.log = Config::LogLevel::kError;
    else if (s == "warn") c.log = Config::LogLevel::kWarn;
    else if (s == "info") c.log = Config::LogLevel::kInfo;
    else if (s == "debug") c.log = Config::LogLevel::kDebug;
    else return bad("SHUNT_LOG", v, "use error, warn, info or debug");
  }
  if (const char* v = env("SHUNT_LOG_FILE")) c.log_file = v;
  if (const char* v = env("SHUNT_LOOPBACK")) {
    std::string_view s(v);
    if (s == "kernel") c.loopback = Config::Loopback::kKernel;
    else if (s == "stack") c.loopback = Config::Loopback::kStack;
    else return bad("SHUNT_LOOPBACK", v, "use kernel (127.x goes to the kernel) or stack");
  }
  if (const char* v = env("SHUNT_FORK")) {
    std::string_view s(v);
    if (s == "parent") c.fork = Config::ForkPolicy::kParent;
    else if (s == "child") c.fork = Config::ForkPolicy::kChild;
    else return bad("SHUNT_FORK", v, "use parent (the parent keeps the stack) or child");
  }
  if (const char* v = env("SHUNT_BUSY_POLL_US")) {
    auto us = parse_uint(v, 1000000);
    if (!us) return bad("SHUNT_BUSY_POLL_US", v, "use microseconds from 0 to 1000000");
    c.busy_poll_us = static_cast<uint32_t>(*us);
  }
  if (const char* v = env("SHUNT_EXIT_LINGER_MS")) {
    auto ms = parse_uint(v, 3'600'000);
    if (!ms) return bad("SHUNT_EXIT_LINGER_MS", v, "use milliseconds from 0 to 3600000");
    c.exit_linger_ms = static_cast<uint32_t>(*ms);
  }
  if (const char* v = env("SHUNT_CONTROL")) {
    std::string_view s(v);
    if (s == "1" || s == "yes") c.control = true;
    else if (s == "0" || s == "no") c.control = false;
    else return bad("SHUNT_CONTROL", v, "use 1 to serve the control socket (shunt ss/stat/fault), or 0");
  }
  if (const char* v = env("SHUNT_SEED")) {
    auto s = parse_uint(v, UINT64_MAX);
    if (!s) return bad("SHUNT_SEED", v, "use a decimal number");
    c.seed = *s;
  }
  if (const char* v = env("SHUNT_STATS")) {
    std::string_view s(v);
    if (s == "1" || s == "yes") c.stats_at_exit = true;
    else if (s == "0" || s == "no" || s.empty()) c.stats_at_exit = false;
    else return bad("SHUNT_STATS", v, "use 1 to print the stack's counters at exit, or 0");
  }
  if (const char* v = env("SHUNT_PCAP_FILTER")) {
    auto f = parse_capture_filter(v);
    if (!f) {
      return fmt::format("shunt: SHUNT_PCAP_FILTER (--pcap-filter): {}; see docs/faults.md",
                         f.error());
    }
    if (!f->empty() && c.pcap.empty()) {
      return std::string(
          "shunt: SHUNT_PCAP_FILTER (--pcap-filter) is set but SHUNT_PCAP (--pcap) is not: give "
          "the capture file too");
    }
    c.pcap_filter = std::move(*f);
  }
  if (const char* v = env("SHUNT_FAULTS")) {
    auto rules = parse_fault_rules(v);
    if (!rules) {
      return fmt::format("shunt: SHUNT_FAULTS (--fault): {}; see docs/faults.md", rules.error());
    }
    c.faults = std::move(*rules);
  }
  return c;
}

}  // namespace shunt::preload
