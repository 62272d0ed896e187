#include "stack/base/addr.h"

#include <charconv>

#include <fmt/format.h>

namespace shunt {
namespace {

std::optional<unsigned> parse_uint(std::string_view s, unsigned max, int base = 10) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view s) {
  std::array<uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) {
    size_t end = (i == 5) ? s.size() : s.find(':');
    if (end == std::string_view::npos || end != 2) return std::nullopt;
    auto v = parse_uint(s.substr(0, 2), 255, 16);
    if (!v) return std::nullopt;
    b[i] = static_cast<uint8_t>(*v);
    s.remove_prefix(i == 5 ? 2 : 3);
  }
  if (!s.empty()) return std::nullopt;
  return MacAddress(b);
}

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b_[0], b_[1], b_[2], b_[3], b_[4],
                     b_[5]);
}

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = (i == 3) ? s.size() : s.find('.');
    if (end == std::string_view::npos) return std::nullopt;
    auto octet = parse_uint(s.substr(0, end), 255);
    if (!octet) return std::nullopt;
    v = (v << 8) | *octet;
    s.remove_prefix(i == 3 ? end : end + 1);
  }
  return Ipv4Address(v);
}

std::string Ipv4Address::to_string() const {
  return fmt::format("{}.{}.{}.{}", v_ >> 24, (v_ >> 16) & 0xff, (v_ >> 8) & 0xff, v_ & 0xff);
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv4Address::parse(s.substr(0, slash));
  auto len = parse_uint(s.substr(slash + 1), 32);
  if (!addr || !len) return std::nullopt;
  return Ipv4Cidr(*addr, static_cast<uint8_t>(*len));
}

std::string Ipv4Cidr::to_string() const { return fmt::format("{}/{}", addr_.to_string(), len_); }

std::string Endpoint::to_string() const { return fmt::format("{}:{}", addr.to_string(), port); }

}  // namespace shunt
