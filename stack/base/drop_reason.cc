#include "stack/base/drop_reason.h"

#include <array>

namespace shunt {
namespace {

constexpr std::array<std::string_view, kDropReasonCount> kNames = {
#define SHUNT_X(name, text) std::string_view(#name).substr(1),
    SHUNT_DROP_REASONS(SHUNT_X)
#undef SHUNT_X
};

constexpr std::array<std::string_view, kDropReasonCount> kText = {
#define SHUNT_X(name, text) text,
    SHUNT_DROP_REASONS(SHUNT_X)
#undef SHUNT_X
};

}  // namespace

std::string_view name(DropReason r) {
  auto i = static_cast<size_t>(r);
  return i < kDropReasonCount ? kNames[i] : "Unknown";
}

bool is_tcp_connection_drop(DropReason r) {
  switch (r) {
    case DropReason::kTcpPaws:
    case DropReason::kTcpInvalidSequence:
    case DropReason::kTcpInvalidSyn:
    case DropReason::kTcpRstNotAtRcvNxt:
    case DropReason::kTcpTooOldAck:
    case DropReason::kTcpAckUnsentData:
    case DropReason::kTcpNoAck:
      return true;
    default:
      return false;
  }
}

std::string_view description(DropReason r) {
  auto i = static_cast<size_t>(r);
  return i < kDropReasonCount ? kText[i] : "unknown drop reason";
}

}  // namespace shunt
