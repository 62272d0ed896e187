// CaptureFilter: which frames a capture keeps (`--pcap-filter EXPR`,
// SHUNT_PCAP_FILTER; docs/faults.md, "Capture"). The words are the match
// words of the fault rules (fault_rules.h), plus the tcpdump spellings
// `host A`, `net A/P` and `port N`, combined with `and`, `or` and `not`:
//
//   EXPR = TERM { "or" TERM }            a frame is kept if any TERM holds
//   TERM = PRIM { ["and"] PRIM }         every PRIM must hold
//   PRIM = ["not"] WORD
//   WORD = tcp | udp | icmp | arp | syn | synack | fin | rst | payload
//        | len>=N | len<=N | laddr=A[/P] | raddr=A[/P] | lport=N[-M] | rport=N[-M]
//        | host=A[/P] | port=N[-M]       either side
//        | host A[/P] | net A/P | port N[-M]     the same, tcpdump-style
//
//   port 80                  TCP or UDP with 80 on either side
//   tcp port 6379            TCP only
//   host 198.18.0.1          IPv4 to or from the host, and ARP naming it
//   udp or arp
//   port 8080 or arp         the port's traffic plus address resolution
//   not port 22
//
// No parentheses; `and` binds tighter than `or`, as in tcpdump. A word
// means what it means in a rule: "local" is the stack's side; ports exclude
// ICMP and ARP (so `port 80` drops ARP, `port 80 or arp` keeps it); an ARP
// frame's addresses are its sender and target, so `host A` keeps the ARP
// exchange with A. Frames that are neither IPv4 nor ARP only pass a filter
// that does not ask for an address, port or protocol (e.g. `not tcp`).
//
// Errors are one line in the fault rules' style: the filter, the 1-based
// column of the offending word and what was expected there.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driver/fault_rules.h"
#include "stack/base/result.h"

namespace shunt {

struct CaptureFilter {
  struct Term {
    FaultMatch all;                // every non-negated word of the term, together
    std::vector<FaultMatch> none;  // each `not WORD`: must not match
  };
  std::string text;  // as given (trimmed)
  std::vector<Term> terms;

  // An empty filter keeps everything.
  bool empty() const { return terms.empty(); }
  // `outbound`: the stack sent the frame (decides which side is local).
  bool matches(std::span<const uint8_t> frame, bool outbound) const;
  bool matches(const PacketSummary& s, bool outbound) const;
};

// The error is "'TEXT', column C: expected ..., got '...'". An empty or
// blank expression gives an empty filter.
Expected<CaptureFilter, std::string> parse_capture_filter(std::string_view text);

}  // namespace shunt
