// Link and network address types. Ipv4Address keeps the address in host
// order; wire code converts at the byte boundary with load_be32/store_be32.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace shunt {

class MacAddress {
 public:
  constexpr MacAddress() = default;
  constexpr explicit MacAddress(std::array<uint8_t, 6> b) : b_(b) {}
  static MacAddress from_bytes(const uint8_t* p) {
    MacAddress m;
    for (int i = 0; i < 6; ++i) m.b_[i] = p[i];
    return m;
  }
  static constexpr MacAddress broadcast() { return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); }
  // "aa:bb:cc:dd:ee:ff"; nullopt on any syntax error.
  static std::optional<MacAddress> parse(std::string_view s);

  void write(uint8_t* p) const {
    for (int i = 0; i < 6; ++i) p[i] = b_[i];
  }
  constexpr const std::array<uint8_t, 6>& bytes() const { return b_; }
  constexpr bool is_broadcast() const { return *this == broadcast(); }
  constexpr bool is_multicast() const { return (b_[0] & 1) != 0; }  // includes broadcast
  constexpr bool is_zero() const { return *this == MacAddress(); }
  std::string to_string() const;

  constexpr auto operator<=>(const MacAddress&) const = default;

 private:
  std::array<uint8_t, 6> b_{};
};

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(uint32_t host_order) : v_(host_order) {}
  constexpr Ipv4Address(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
      : v_((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d) {}
  static constexpr Ipv4Address any() { return Ipv4Address(); }
  static constexpr Ipv4Address broadcast() { return Ipv4Address(0xffffffffu); }
  // Dotted quad; nullopt on any syntax error.
  static std::optional<Ipv4Address> parse(std::string_view s);

  constexpr uint32_t value() const { return v_; }
  constexpr bool is_unspecified() const { return v_ == 0; }
  constexpr bool is_broadcast() const { return v_ == 0xffffffffu; }
  constexpr bool is_multicast() const { return (v_ >> 28) == 0xe; }
  constexpr bool is_loopback() const { return (v_ >> 24) == 127; }
  std::string to_string() const;

  constexpr auto operator<=>(const Ipv4Address&) const = default;

 private:
  uint32_t v_ = 0;
};

// An address with a prefix length, e.g. 198.18.0.2/24.
class Ipv4Cidr {
 public:
  constexpr Ipv4Cidr() = default;
  constexpr Ipv4Cidr(Ipv4Address addr, uint8_t prefix_len) : addr_(addr), len_(prefix_len) {}
  // "a.b.c.d/n"; nullopt on syntax error or n > 32.
  static std::optional<Ipv4Cidr> parse(std::string_view s);

  constexpr Ipv4Address address() const { return addr_; }
  constexpr uint8_t prefix_len() const { return len_; }
  constexpr uint32_t netmask() const { return len_ == 0 ? 0 : ~uint32_t{0} << (32 - len_); }
  constexpr Ipv4Address network() const { return Ipv4Address(addr_.value() & netmask()); }
  constexpr Ipv4Address directed_broadcast() const {
    return Ipv4Address(addr_.value() | ~netmask());
  }
  constexpr bool contains(Ipv4Address a) const {
    return (a.value() & netmask()) == (addr_.value() & netmask());
  }
  std::string to_string() const;

  constexpr auto operator<=>(const Ipv4Cidr&) const = default;

 private:
  Ipv4Address addr_;
  uint8_t len_ = 0;
};

struct Endpoint {
  Ipv4Address addr;
  uint16_t port = 0;
  std::string to_string() const;
  constexpr auto operator<=>(const Endpoint&) const = default;
};

}  // namespace shunt

template <>
struct std::hash<shunt::Ipv4Address> {
  size_t operator()(shunt::Ipv4Address a) const noexcept { return std::hash<uint32_t>()(a.value()); }
};
template <>
struct std::hash<shunt::MacAddress> {
  size_t operator()(const shunt::MacAddress& m) const noexcept {
    uint64_t v = 0;
    for (uint8_t b : m.bytes()) v = (v << 8) | b;
    return std::hash<uint64_t>()(v);
  }
};
