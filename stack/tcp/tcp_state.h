// The eleven TCP states (RFC 9293 3.3.2).
#pragma once

#include <cstdint>
#include <string_view>

namespace shunt::tcp {

enum class TcpState : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};

// "ESTABLISHED", "SYN-SENT", ... as RFC 9293 writes them.
std::string_view to_string(TcpState s);
// "ESTAB", "SYN-RECV", "CLOSE", ... as Linux's ss prints them.
std::string_view ss_name(TcpState s);

// The states in which both sides have exchanged SYNs (RFC 9293 3.5, the
// "synchronized" states).
constexpr bool is_synchronized(TcpState s) {
  return s != TcpState::kClosed && s != TcpState::kListen && s != TcpState::kSynSent &&
         s != TcpState::kSynReceived;
}

}  // namespace shunt::tcp
