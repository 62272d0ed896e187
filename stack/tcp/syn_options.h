// What a SYN and a SYN-ACK carry, computed once for every path that sends
// one: a connection's SYN, its SYN-ACK (passive or simultaneous open), and
// a listener's SYN-cookie SYN-ACK. Linux has the same split between
// tcp_syn_options (our SYN) and tcp_synack_options (over the request
// sock, cookie or not).
//
// Reading list: RFC 9293 3.7.1 and RFC 6691 (MSS), RFC 7323 2 (window
// scale) and 3, 5.4 (timestamps), RFC 2018 (SACK-permitted).
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/time.h"
#include "stack/tcp/tcp_config.h"
#include "stack/wire/tcp.h"

namespace shunt::tcp {

// IPv4 + TCP headers without options.
inline constexpr uint32_t kIpTcpHeaders = 40;

// What two SYNs agreed on: an option is on only when the peer sent it and
// we support it (RFC 7323 2.2, 3.2; RFC 2018 2). Our receive scale
// (rcv_wscale) is ours alone and kept by the caller.
struct SynNegotiation {
  uint16_t peer_mss = 536;  // RFC 6691: 536 when the peer sent none (at least 64)
  bool wscale_ok = false;
  uint8_t snd_wscale = 0;  // the peer's shift, at most 14 (RFC 7323 2.3)
  bool ts_ok = false;
  bool sack_ok = false;
};
SynNegotiation negotiate(const TcpConfig& cfg, const wire::TcpOptions& peer);

// The MSS we offer: the MTU less the IP and TCP headers (536 for a
// degenerate MTU), TCP_MAXSEG when that is smaller, at most 65535.
uint16_t offered_mss(uint32_t mtu, uint16_t user_mss);

// Our receive window scale: the smallest shift that lets the largest
// receive buffer (tcp_rmem[2], or a larger SO_RCVBUF) be advertised
// (RFC 7323 2.3; at most 14), 0 when scaling is off.
uint8_t receive_wscale(const TcpConfig& cfg, uint32_t rcvbuf);

// The window field of a SYN or SYN-ACK: never scaled (RFC 7323 2.2).
inline uint16_t syn_window(size_t receive_space) {
  return static_cast<uint16_t>(receive_space < 65535 ? receive_space : 65535);
}

// RFC 7323 5.4: a millisecond clock with a per-connection offset.
inline uint32_t ts_clock(Instant now, uint64_t ts_offset) {
  return static_cast<uint32_t>(to_ns(now) / 1'000'000 + ts_offset);
}

// The options of a SYN (`agreed` nullopt: everything `cfg` supports) or
// of a SYN-ACK (only what `agreed` says both sides want). `tsecr` is the
// peer's TSval a SYN-ACK echoes (0 in a SYN).
wire::TcpOptions syn_options(const TcpConfig& cfg, const std::optional<SynNegotiation>& agreed,
                             uint16_t mss, uint8_t rcv_wscale, uint32_t tsval, uint32_t tsecr);

}  // namespace shunt::tcp
