// SO_RCVBUF / SO_SNDBUF as Linux's sock_setsockopt stores them, for TCP
// and UDP sockets alike.
#pragma once

#include <cstdint>

namespace shunt {

// Socket buffer limits (Linux net.core.rmem_max / wmem_max): SO_RCVBUF and
// SO_SNDBUF are clamped to these, then doubled (socket(7)). The preload
// runtime reads the host's values at start.
struct CoreConfig {
  uint32_t rmem_max = 212992;
  uint32_t wmem_max = 212992;
};

// SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF: no buffer is set smaller.
inline constexpr uint32_t kMinRcvBuf = 2304;
inline constexpr uint32_t kMinSndBuf = 4608;

// What SO_RCVBUF / SO_SNDBUF store for `value` (Linux sock_setsockopt):
// twice the value asked for, taken as unsigned and capped by `max`
// (rmem_max / wmem_max) before doubling; with `force` (SO_*BUFFORCE) not
// capped and a negative value counts as 0; never more than INT_MAX, never
// less than `floor`.
uint32_t sock_buf_size(int value, bool force, uint32_t max, uint32_t floor);

// SO_RCVBUF (force: SO_RCVBUFFORCE) capped by net.core.rmem_max.
inline uint32_t sock_rcvbuf(int value, bool force, uint32_t rmem_max) {
  return sock_buf_size(value, force, rmem_max, kMinRcvBuf);
}
// SO_SNDBUF (force: SO_SNDBUFFORCE) capped by net.core.wmem_max.
inline uint32_t sock_sndbuf(int value, bool force, uint32_t wmem_max) {
  return sock_buf_size(value, force, wmem_max, kMinSndBuf);
}

}  // namespace shunt
