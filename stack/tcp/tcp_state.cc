#include "stack/tcp/tcp_state.h"

#include <array>

namespace shunt::tcp {
namespace {

// Each state's names, in the order of TcpState: as RFC 9293 writes it, and
// as Linux's ss prints it (ss.c sstate_name).
struct StateNames {
  std::string_view rfc;
  std::string_view ss;
};
constexpr std::array<StateNames, 11> kStateNames{{
    {"CLOSED", "CLOSE"},
    {"LISTEN", "LISTEN"},
    {"SYN-SENT", "SYN-SENT"},
    {"SYN-RECEIVED", "SYN-RECV"},
    {"ESTABLISHED", "ESTAB"},
    {"FIN-WAIT-1", "FIN-WAIT-1"},
    {"FIN-WAIT-2", "FIN-WAIT-2"},
    {"CLOSE-WAIT", "CLOSE-WAIT"},
    {"CLOSING", "CLOSING"},
    {"LAST-ACK", "LAST-ACK"},
    {"TIME-WAIT", "TIME-WAIT"},
}};
static_assert(kStateNames.size() == static_cast<size_t>(TcpState::kTimeWait) + 1);

}  // namespace

std::string_view to_string(TcpState s) {
  const auto i = static_cast<size_t>(s);
  return i < kStateNames.size() ? kStateNames[i].rfc : "?";
}

std::string_view ss_name(TcpState s) {
  const auto i = static_cast<size_t>(s);
  return i < kStateNames.size() ? kStateNames[i].ss : "UNKNOWN";
}

}  // namespace shunt::tcp
