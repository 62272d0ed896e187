// sockaddr <-> Endpoint, for AF_INET and dual-stack AF_INET6 sockets
// (v4-mapped ::ffff:a.b.c.d, docs/design.md 6).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

#include "stack/base/addr.h"

namespace shunt::preload {

enum class AddrKind : uint8_t { kV4, kV4Mapped, kV6Any, kV6, kUnspec, kBad };

struct ParsedAddr {
  AddrKind kind = AddrKind::kBad;
  Endpoint ep;
};

inline ParsedAddr parse_sockaddr(const sockaddr* sa, socklen_t len) {
  ParsedAddr p;
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return p;
  if (sa->sa_family == AF_UNSPEC) {
    p.kind = AddrKind::kUnspec;
    return p;
  }
  if (sa->sa_family == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return p;
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    p.kind = AddrKind::kV4;
    p.ep = Endpoint{Ipv4Address(ntohl(in.sin_addr.s_addr)), ntohs(in.sin_port)};
    return p;
  }
  if (sa->sa_family == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return p;
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    const uint8_t* b = in6.sin6_addr.s6_addr;
    p.ep.port = ntohs(in6.sin6_port);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t any[16] = {};
    if (std::memcmp(b, mapped, 12) == 0) {
      p.kind = AddrKind::kV4Mapped;
      p.ep.addr = Ipv4Address(b[12], b[13], b[14], b[15]);
    } else if (std::memcmp(b, any, 16) == 0) {
      p.kind = AddrKind::kV6Any;
      p.ep.addr = Ipv4Address::any();
    } else {
      p.kind = AddrKind::kV6;
    }
    return p;
  }
  return p;
}

// Writes `ep` as the socket's family would (truncating like the kernel
// when the buffer is small) and sets *len to the full size.
inline void write_sockaddr(int domain, Endpoint ep, sockaddr* out, socklen_t* len) {
  if (out == nullptr || len == nullptr) return;
  if (domain == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(ep.port);
    if (!ep.addr.is_unspecified()) {
      in6.sin6_addr.s6_addr[10] = 0xff;
      in6.sin6_addr.s6_addr[11] = 0xff;
      uint32_t v = htonl(ep.addr.value());
      std::memcpy(&in6.sin6_addr.s6_addr[12], &v, 4);
    }
    std::memcpy(out, &in6, std::min<size_t>(*len, sizeof in6));
    *len = sizeof in6;
    return;
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(ep.port);
  in.sin_addr.s_addr = htonl(ep.addr.value());
  std::memcpy(out, &in, std::min<size_t>(*len, sizeof in));
  *len = sizeof in;
}

}  // namespace shunt::preload
