// The options of SYNs and SYN-ACKs (syn_options.h).
#include "stack/tcp/syn_options.h"

#include <algorithm>

namespace shunt::tcp {

SynNegotiation negotiate(const TcpConfig& cfg, const wire::TcpOptions& peer) {
  SynNegotiation n;
  // RFC 6691: without an MSS option the peer takes 536.
  n.peer_mss = std::max<uint16_t>(peer.mss.value_or(536), 64);
  // RFC 7323 2.2: scaling only when both sides sent the option.
  if (peer.window_scale && cfg.window_scaling) {
    n.wscale_ok = true;
    n.snd_wscale = std::min<uint8_t>(*peer.window_scale, 14);  // RFC 7323 2.3: at most 14
  }
  n.ts_ok = peer.timestamps.has_value() && cfg.timestamps;
  n.sack_ok = peer.sack_permitted && cfg.sack;
  return n;
}

uint16_t offered_mss(uint32_t mtu, uint16_t user_mss) {
  uint32_t m = mtu > kIpTcpHeaders ? mtu - kIpTcpHeaders : 536;
  if (user_mss != 0) m = std::min<uint32_t>(m, user_mss);
  return static_cast<uint16_t>(std::min<uint32_t>(m, 65535));
}

uint8_t receive_wscale(const TcpConfig& cfg, uint32_t rcvbuf) {
  if (!cfg.window_scaling) return 0;
  const uint32_t max_buf = std::max(cfg.rcvbuf_max, rcvbuf);
  uint8_t shift = 0;
  while (shift < 14 && (max_buf >> shift) > 65535) ++shift;
  return shift;
}

wire::TcpOptions syn_options(const TcpConfig& cfg, const std::optional<SynNegotiation>& agreed,
                             uint16_t mss, uint8_t rcv_wscale, uint32_t tsval, uint32_t tsecr) {
  // A SYN offers what we support; a SYN-ACK only what the peer offered.
  wire::TcpOptions o;
  o.mss = mss;
  if (agreed ? agreed->wscale_ok : cfg.window_scaling) o.window_scale = rcv_wscale;
  o.sack_permitted = agreed ? agreed->sack_ok : cfg.sack;
  if (agreed ? agreed->ts_ok : cfg.timestamps) {
    o.timestamps = wire::TcpOptions::Timestamps{tsval, agreed ? tsecr : 0};
  }
  return o;
}

}  // namespace shunt::tcp
