// Why a frame was dropped. Every drop on the packet path names one of these
// and bumps its counter in Stats (like Linux's enum skb_drop_reason).
#pragma once

#include <cstdint>
#include <string_view>

namespace shunt {

#define SHUNT_DROP_REASONS(X)                                                        \
  /* Ethernet */                                                                    \
  X(kEthTruncated, "ethernet frame shorter than its header")                        \
  X(kEthVlanTagged, "802.1Q tagged frame (VLANs not supported)")                    \
  X(kEthUnknownType, "unknown EtherType")                                           \
  X(kEthNotForUs, "destination MAC is not ours")                                    \
  X(kEthOwnSource, "source MAC is our own")                                         \
  /* ARP */                                                                         \
  X(kArpTruncated, "ARP packet truncated")                                          \
  X(kArpUnsupported, "ARP hardware/protocol type or lengths not Ethernet/IPv4")     \
  X(kArpBadOperation, "ARP operation neither request nor reply")                    \
  X(kArpNotForUs, "ARP target is not our address")                                  \
  X(kArpBadSender, "ARP sender address invalid (broadcast/multicast/ours)")         \
  X(kArpQueueFull, "no room in the queue of packets waiting for ARP")               \
  X(kArpFailed, "ARP resolution failed after all retries")                          \
  /* IPv4 */                                                                        \
  X(kIpTruncated, "IPv4 packet shorter than its header")                            \
  X(kIpBadVersion, "IPv4 version is not 4")                                         \
  X(kIpBadHeaderLength, "IPv4 IHL below 5 or beyond the packet")                    \
  X(kIpBadChecksum, "IPv4 header checksum wrong")                                   \
  X(kIpBadTotalLength, "IPv4 total length disagrees with the frame")                \
  X(kIpBadSource, "IPv4 source is broadcast, multicast or ours")                    \
  X(kIpNotForUs, "IPv4 destination is not ours")                                    \
  X(kIpUnknownProtocol, "IPv4 protocol not served")                                 \
  X(kIpNoRoute, "no route to the destination")                                      \
  X(kIpNotUp, "interface has no address or is down")                                \
  X(kFragBadOffset, "IPv4 fragment offset/length invalid")                          \
  X(kFragOverlap, "IPv4 fragment overlaps another")                                 \
  X(kFragTooLarge, "reassembled datagram would exceed 65535 bytes")                 \
  X(kFragMemoryLimit, "fragment reassembly memory limit reached")                   \
  X(kFragEvicted, "incomplete datagram evicted (oldest) to make room for new fragments") \
  X(kFragTimeout, "fragments of an incomplete datagram timed out")                  \
  X(kFragDfSet, "datagram larger than the MTU with DF set")                         \
  /* ICMP */                                                                        \
  X(kIcmpTruncated, "ICMP message truncated")                                       \
  X(kIcmpBadChecksum, "ICMP checksum wrong")                                        \
  X(kIcmpUnsupportedType, "ICMP type not handled")                                  \
  X(kIcmpErrorNoSocket, "ICMP error for no known socket")                           \
  X(kIcmpBroadcastEcho, "ICMP echo to a broadcast address (ignored like Linux)")    \
  /* UDP */                                                                         \
  X(kUdpTruncated, "UDP datagram shorter than its header")                          \
  X(kUdpBadLength, "UDP length disagrees with the IP payload")                      \
  X(kUdpBadChecksum, "UDP checksum wrong")                                          \
  X(kUdpNoSocket, "no UDP socket on the destination port")                          \
  X(kUdpRcvBufFull, "UDP socket receive queue full")                                \
  /* TCP */                                                                         \
  X(kTcpTruncated, "TCP segment shorter than its header")                           \
  X(kTcpBadDataOffset, "TCP data offset below 5 or beyond the segment")             \
  X(kTcpBadOption, "TCP option with a malformed length")                            \
  X(kTcpBadChecksum, "TCP checksum wrong")                                          \
  X(kTcpSynFin, "TCP SYN with FIN to a listener (Linux drops it too)")              \
  X(kTcpNoSocket, "no TCP socket for the segment")                                  \
  /* TCP, inside a connection (Linux skb_drop_reason in parentheses) */             \
  X(kTcpPaws, "TCP timestamp older than TS.Recent (TCP_RFC7323_PAWS)")              \
  X(kTcpInvalidSequence, "TCP segment outside the window (TCP_INVALID_SEQUENCE)")   \
  X(kTcpInvalidSyn, "TCP SYN when synchronized (TCP_INVALID_SYN)")                  \
  X(kTcpRstNotAtRcvNxt, "TCP RST in the window, not at RCV.NXT (TCP_RESET)")        \
  X(kTcpTooOldAck, "TCP ACK below SND.UNA - MAX.SND.WND (TCP_TOO_OLD_ACK)")         \
  X(kTcpAckUnsentData, "TCP ACK of data never sent (TCP_ACK_UNSENT_DATA)")          \
  X(kTcpNoAck, "TCP segment without ACK when synchronized (TCP_FLAGS)")             \
  /* Device */                                                                      \
  X(kTxDeviceFull, "device refused the frame (queue full)")                         \
  X(kRxOversized, "received frame larger than the buffer")

enum class DropReason : uint8_t {
#define SHUNT_X(name, text) name,
  SHUNT_DROP_REASONS(SHUNT_X)
#undef SHUNT_X
      kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// The enumerator name without the leading k, e.g. "IpBadChecksum".
std::string_view name(DropReason r);
// One line for a human.
std::string_view description(DropReason r);
// Whether `r` is a well-formed segment a TCP connection refused because of
// its state (PAWS, outside the window, unexpected SYN, RST or ACK), not a
// damaged or misaddressed frame. A healthy lossy link makes some: the
// retransmission of a segment that did arrive is outside the window.
bool is_tcp_connection_drop(DropReason r);

}  // namespace shunt
