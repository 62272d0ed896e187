// Separate file: linux/tcp.h and netinet/tcp.h cannot be included together.
#include "preload/tcp_info.h"

#include <linux/tcp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>

#include "preload/errno_map.h"

namespace shunt::preload {
namespace {

uint32_t usec(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}
uint32_t msec(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// Linux's TCP state numbers (include/net/tcp_states.h).
uint8_t linux_state(tcp::TcpState s) {
  switch (s) {
    case tcp::TcpState::kEstablished: return 1;
    case tcp::TcpState::kSynSent: return 2;
    case tcp::TcpState::kSynReceived: return 3;
    case tcp::TcpState::kFinWait1: return 4;
    case tcp::TcpState::kFinWait2: return 5;
    case tcp::TcpState::kTimeWait: return 6;
    case tcp::TcpState::kClosed: return 7;
    case tcp::TcpState::kCloseWait: return 8;
    case tcp::TcpState::kLastAck: return 9;
    case tcp::TcpState::kListen: return 10;
    case tcp::TcpState::kClosing: return 11;
  }
  return 7;
}

}  // namespace

int fill_tcp_info(const tcp::TcpInfo& i, void* optval, socklen_t* optlen, size_t kernel_size) {
  if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
  tcp_info t{};
  t.tcpi_state = linux_state(i.state);
  t.tcpi_ca_state = i.ca_state;
  t.tcpi_retransmits = static_cast<uint8_t>(i.retransmits);
  t.tcpi_probes = static_cast<uint8_t>(i.probes);
  t.tcpi_backoff = static_cast<uint8_t>(i.backoff);
  t.tcpi_options = (i.ts_ok ? TCPI_OPT_TIMESTAMPS : 0) | (i.sack_ok ? TCPI_OPT_SACK : 0) |
                   (i.wscale_ok ? TCPI_OPT_WSCALE : 0);
  t.tcpi_snd_wscale = i.snd_wscale & 0xf;
  t.tcpi_rcv_wscale = i.rcv_wscale & 0xf;
  t.tcpi_rto = usec(i.rto);
  t.tcpi_ato = usec(i.ato);
  t.tcpi_snd_mss = i.snd_mss;
  t.tcpi_rcv_mss = i.rcv_mss;
  t.tcpi_unacked = i.unacked;
  t.tcpi_sacked = i.sacked;
  t.tcpi_lost = i.lost;
  t.tcpi_retrans = i.retrans;
  t.tcpi_last_data_sent = msec(i.last_data_sent);
  t.tcpi_last_data_recv = msec(i.last_data_recv);
  t.tcpi_last_ack_recv = msec(i.last_ack_recv);
  // The path MTU once connected (Linux reports 0 before).
  t.tcpi_pmtu = i.advmss != 0 ? i.advmss + (i.ts_ok ? 52 : 40) : 0;
  t.tcpi_rtt = usec(i.rtt);
  t.tcpi_rttvar = usec(i.rttvar);
  t.tcpi_snd_ssthresh = i.snd_ssthresh;
  t.tcpi_snd_cwnd = i.snd_cwnd;
  t.tcpi_advmss = i.advmss;
  t.tcpi_reordering = i.reordering;
  t.tcpi_rcv_space = i.rcv_space;
  t.tcpi_total_retrans = i.total_retrans;
  t.tcpi_bytes_acked = i.bytes_acked;
  t.tcpi_bytes_received = i.bytes_received;
  t.tcpi_segs_out = static_cast<uint32_t>(i.segs_out);
  t.tcpi_segs_in = static_cast<uint32_t>(i.segs_in);
  t.tcpi_notsent_bytes = i.notsent_bytes;
  t.tcpi_min_rtt = usec(i.min_rtt);
  t.tcpi_data_segs_in = static_cast<uint32_t>(i.data_segs_in);
  t.tcpi_data_segs_out = static_cast<uint32_t>(i.data_segs_out);
  t.tcpi_delivery_rate = i.delivery_rate;
  t.tcpi_bytes_sent = i.bytes_sent;
  t.tcpi_bytes_retrans = i.bytes_retrans;
  t.tcpi_snd_wnd = i.snd_wnd;
  // The fields after tcpi_snd_wnd, as Linux 6.18 has them (an older
  // linux/tcp.h lacks them): tcpi_rcv_wnd, tcpi_rehash, RTO counters, ECN
  // counters. Later kernels' additions read as 0.
  constexpr size_t kSndWndEnd = offsetof(tcp_info, tcpi_snd_wnd) + sizeof(uint32_t);
  unsigned char out[512] = {};
  std::memcpy(out, &t, kSndWndEnd);
  const uint32_t rcv_wnd = i.rcv_wnd;
  std::memcpy(out + kSndWndEnd, &rcv_wnd, sizeof rcv_wnd);
  const size_t size = std::min(std::max(kernel_size, kSndWndEnd), sizeof out);
  socklen_t n = std::min<socklen_t>(*optlen, static_cast<socklen_t>(size));
  std::memcpy(optval, out, n);
  *optlen = n;
  return 0;
}

}  // namespace shunt::preload
