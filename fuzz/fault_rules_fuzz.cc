// Fault rules and capture filters from arbitrary text, and the rules applied
// to arbitrary frames (docs/design.md section 10.6).
//
// The input is TEXT, optionally followed by a NUL byte and FRAME bytes.
// TEXT is parsed as a rule set (SHUNT_FAULTS), a single rule and a capture
// filter (SHUNT_PCAP_FILTER). Checks: a parse either succeeds or gives a
// one-line error in the documented shape; a rule's text parses again to the
// same rule, a filter's text to the same filter; and when the rules parse,
// FRAME (and its prefixes) goes both ways through
// RuleFaultDevice(CaptureDevice(pcapng to /dev/null)) with the filter, while
// rules are added and removed, without a crash, a sanitizer report, or a
// held frame escaping the device's accounting.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driver/capture_device.h"
#include "driver/capture_filter.h"
#include "driver/fault_rules.h"
#include "driver/rule_fault_device.h"
#include "stack/base/check.h"
#include "stack/buffer/buffer_pool.h"

namespace {

using namespace shunt;

// The wire: swallows what is sent, hands out what the test queued.
class Wire final : public NetDevice {
 public:
  void transmit(std::span<PacketBuffer> frames, Instant) override {
    for (PacketBuffer& f : frames) {
      if (f) ++sent;
      f = PacketBuffer();
    }
  }
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant) override {
    size_t n = 0;
    while (n < max && !inbox.empty()) {
      out.push_back(std::move(inbox.front()));
      inbox.pop_front();
      ++n;
    }
    return n;
  }
  DeviceInfo info() const override { return {}; }

  std::deque<PacketBuffer> inbox;
  uint64_t sent = 0;
};

bool same(const FaultMatch& a, const FaultMatch& b) {
  return a.proto == b.proto && a.laddr == b.laddr && a.raddr == b.raddr && a.addr == b.addr &&
         a.lport == b.lport && a.rport == b.rport && a.port == b.port &&
         a.tcp_flags == b.tcp_flags && a.payload == b.payload && a.len_min == b.len_min &&
         a.len_max == b.len_max;
}

bool same(const FaultRule& a, const FaultRule& b) {
  return a.text == b.text && a.direction == b.direction && same(a.match, b.match) &&
         a.select.nth == b.select.nth && a.select.every == b.select.every &&
         a.select.first == b.select.first && a.select.after == b.select.after &&
         a.select.duration == b.select.duration &&
         a.select.probability.has_value() == b.select.probability.has_value() &&
         a.select.ge.has_value() == b.select.ge.has_value() && a.action.kind == b.action.kind &&
         a.action.count == b.action.count && a.action.time == b.action.time &&
         a.action.jitter == b.action.jitter && a.action.keep_order == b.action.keep_order &&
         a.action.whole_frame == b.action.whole_frame && a.action.length == b.action.length &&
         a.action.mtu == b.action.mtu && a.action.rate_bps == b.action.rate_bps &&
         a.action.burst_bytes == b.action.burst_bytes &&
         a.action.queue_frames == b.action.queue_frames;
}

PacketBuffer frame_of(BufferPool& pool, std::span<const uint8_t> bytes) {
  PacketBuffer b = pool.allocate(bytes.size());
  if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), b.append(bytes.size()).begin());
  return b;
}

void run_device(FaultRuleSet rules, const CaptureFilter& filter, std::span<const uint8_t> frame) {
  static BufferPool pool;
  Wire wire;
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  SHUNT_CHECK(fd >= 0);
  CaptureDevice capture(wire, std::make_unique<PcapWriter>(fd, 128, CaptureFormat::kPcapng), 0);
  capture.set_filter(filter);
  std::vector<FaultRule> spare = rules.rules;
  RuleFaultDevice dev(capture, std::move(rules), 1);
  dev.set_observer(&capture);
  Instant now{};
  for (size_t round = 0; round < 8; ++round) {
    // Prefixes of the frame too: truncated headers are the interesting part.
    const size_t len = frame.size() * (round + 1) / 8;
    std::vector<PacketBuffer> out;
    out.push_back(frame_of(pool, frame.first(len)));
    out.push_back(frame_of(pool, frame));
    dev.transmit(out, now);
    wire.inbox.push_back(frame_of(pool, frame.first(len)));
    wire.inbox.push_back(frame_of(pool, frame));
    std::vector<PacketBuffer> got;
    dev.receive(got, 64, now);
    if (round == 3 && !spare.empty()) dev.add_rule(spare[0]);
    if (round == 5 && dev.rule_count() > 0) SHUNT_CHECK(dev.remove_rule(dev.rule_id(0)));
    const auto status = dev.rule_status();
    size_t held = 0;
    for (const auto& s : status) held += s.held;
    SHUNT_CHECK(held <= dev.in_flight());
    now += 7ms;
  }
  // Everything but very long holds comes out within a few seconds.
  now += 5s;
  dev.transmit({}, now);
  std::vector<PacketBuffer> got;
  dev.receive(got, 1024, now);
  SHUNT_CHECK(dev.log().size() <= RuleFaultDevice::kLogCapacity);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* chars = reinterpret_cast<const char*>(data);
  std::string_view all(chars, size);
  const size_t nul = all.find('\0');
  const std::string_view text = all.substr(0, nul);
  std::span<const uint8_t> frame;
  if (nul != std::string_view::npos)
    frame = std::span<const uint8_t>(data + nul + 1, size - nul - 1);

  auto set = parse_fault_rules(text);
  if (set) {
    for (const FaultRule& r : set->rules) {
      SHUNT_CHECK(!r.text.empty());
      auto again = parse_fault_rule(r.text);
      SHUNT_CHECK(again.ok());
      SHUNT_CHECK(same(*again, r));
    }
  } else {
    SHUNT_CHECK(set.error().starts_with("rule "));
    SHUNT_CHECK(set.error().find(", column ") != std::string::npos);
  }
  auto one = parse_fault_rule(text);
  if (!one) SHUNT_CHECK(one.error().starts_with("'"));

  auto filter = parse_capture_filter(text);
  if (filter) {
    auto again = parse_capture_filter(filter->text);
    SHUNT_CHECK(again.ok() && again->terms.size() == filter->terms.size());
    for (size_t i = 0; i < filter->terms.size(); ++i) {
      SHUNT_CHECK(same(again->terms[i].all, filter->terms[i].all));
      SHUNT_CHECK(again->terms[i].none.size() == filter->terms[i].none.size());
    }
    (void)filter->matches(frame, true);
    (void)filter->matches(frame, false);
  } else {
    SHUNT_CHECK(filter.error().starts_with("'"));
    SHUNT_CHECK(filter.error().find(", column ") != std::string::npos);
  }

  if (set && set->rules.size() <= 16) {
    run_device(std::move(*set), filter ? *filter : CaptureFilter{}, frame);
  }
  return 0;
}
