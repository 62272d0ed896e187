// Stack counters, grouped like `netstat -s` / `nstat` (names as in
// /proc/net/snmp where Linux has one), plus one counter per drop reason.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>

#include "stack/base/drop_reason.h"

namespace shunt {

#define SHUNT_LINK_COUNTERS(X) \
  X(InFrames) X(InBytes) X(OutFrames) X(OutBytes) X(InDiscards)

#define SHUNT_ARP_COUNTERS(X)                                                    \
  X(InRequests) X(InReplies) X(OutRequests) X(OutReplies) X(OutGratuitous)       \
  X(Resolved) X(Failed) X(QueuedPackets) X(QueueDrops)

#define SHUNT_IP_COUNTERS(X)                                                     \
  X(InReceives) X(InHdrErrors) X(InAddrErrors) X(InUnknownProtos) X(InDiscards)  \
  X(InDelivers) X(OutRequests) X(OutDiscards) X(OutNoRoutes) X(ReasmTimeout)     \
  X(ReasmReqds) X(ReasmOKs) X(ReasmFails) X(FragOKs) X(FragFails) X(FragCreates) \
  X(InLoopback)

#define SHUNT_ICMP_COUNTERS(X)                                                   \
  X(InMsgs) X(InErrors) X(InCsumErrors) X(InDestUnreachs) X(InTimeExcds)         \
  X(InEchos) X(InEchoReps) X(OutMsgs) X(OutErrors) X(OutDestUnreachs)            \
  X(OutTimeExcds) X(OutEchoReps) X(OutRateLimited)

#define SHUNT_UDP_COUNTERS(X)                                                    \
  X(InDatagrams) X(NoPorts) X(InErrors) X(OutDatagrams) X(RcvbufErrors)          \
  X(SndbufErrors) X(InCsumErrors)

// Tcp and TcpExt as in /proc/net/snmp and /proc/net/netstat, then shunt's
// own (docs/control.md, "Counters"):
//   TCPZeroWindowProbesRecv  zero-window probes the peers sent us: segments
//                            that arrived while our advertised window was 0,
//                            either empty at RCV.NXT - 1 or data at RCV.NXT
// PAWSEstab counts PAWS rejections in every synchronized state and in
// SYN-RECEIVED (Linux counts those as PAWSPassive, 0 here).
#define SHUNT_TCP_COUNTERS(X)                                                    \
  X(ActiveOpens) X(PassiveOpens) X(AttemptFails) X(EstabResets) X(InSegs)        \
  X(OutSegs) X(RetransSegs) X(InErrs) X(OutRsts) X(InCsumErrors)                 \
  X(ListenOverflows) X(ListenDrops) X(SyncookiesSent) X(SyncookiesRecv)          \
  X(SyncookiesFailed) X(TimeWaitRecycled) X(OutOfWindowIcmps) X(TCPChallengeACK)     \
  X(TCPWinProbe) X(TCPZeroWindowProbesRecv) X(PAWSEstab) X(TCPSYNChallenge)      \
  X(TCPACKSkippedPAWS) X(TCPACKSkippedSeq) X(TCPACKSkippedChallenge)             \
  X(TCPACKSkippedSynRecv)

// The groups in netstat order: G(member of Stats, group name, type, list).
#define SHUNT_COUNTER_GROUPS(G)                           \
  G(link, "Link", LinkStats, SHUNT_LINK_COUNTERS)         \
  G(arp, "Arp", ArpStats, SHUNT_ARP_COUNTERS)             \
  G(ip, "Ip", IpStats, SHUNT_IP_COUNTERS)                 \
  G(icmp, "Icmp", IcmpStats, SHUNT_ICMP_COUNTERS)         \
  G(udp, "Udp", UdpStats, SHUNT_UDP_COUNTERS)             \
  G(tcp, "Tcp", TcpStats, SHUNT_TCP_COUNTERS)

#define SHUNT_DECLARE_COUNTER(name) uint64_t name = 0;

#define SHUNT_DECLARE_GROUP(member, group, type, list) \
  struct type {                                        \
    list(SHUNT_DECLARE_COUNTER)                        \
  };
SHUNT_COUNTER_GROUPS(SHUNT_DECLARE_GROUP)
#undef SHUNT_DECLARE_GROUP
#undef SHUNT_DECLARE_COUNTER

struct Stats {
#define SHUNT_GROUP_MEMBER(member, group, type, list) type member;
  SHUNT_COUNTER_GROUPS(SHUNT_GROUP_MEMBER)
#undef SHUNT_GROUP_MEMBER
  std::array<uint64_t, kDropReasonCount> drops{};

  // A frame dropped for `r`.
  void count_drop(DropReason r) { ++drops[static_cast<size_t>(r)]; }
  uint64_t drop_count(DropReason r) const { return drops[static_cast<size_t>(r)]; }
  uint64_t total_drops() const;

  // Calls visit(group, name, value) for every counter, in netstat order,
  // then for every nonzero drop reason with group "Drop".
  void for_each(const std::function<void(std::string_view group, std::string_view name,
                                         uint64_t value)>& visit) const;
};

}  // namespace shunt
