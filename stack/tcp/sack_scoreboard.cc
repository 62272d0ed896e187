#include "stack/tcp/sack_scoreboard.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "stack/base/check.h"

namespace shunt::tcp {

namespace {
uint32_t size_of(const wire::SackBlock& b) {
  return static_cast<uint32_t>(b.right - b.left);
}
uint32_t distance(SeqNum from, SeqNum to) {
  return static_cast<uint32_t>(to - from);
}
}  // namespace

void SackScoreboard::reset() {
  ranges_.clear();
  sacked_ = 0;
}

void SackScoreboard::advance(SeqNum snd_una) {
  snd_una_ = snd_una;
  auto it = ranges_.begin();
  while (it != ranges_.end() && it->right <= snd_una) {
    sacked_ -= size_of(*it);
    ++it;
  }
  ranges_.erase(ranges_.begin(), it);
  if (!ranges_.empty() && ranges_.front().left < snd_una) {
    sacked_ -= distance(ranges_.front().left, snd_una);
    ranges_.front().left = snd_una;
  }
}

void SackScoreboard::add(SeqNum left, SeqNum right) {
  // Ranges [it, jt) overlap or touch [left, right): they merge with it.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), left,
                             [](const wire::SackBlock& r, SeqNum l) { return r.right < l; });
  auto jt = it;
  while (jt != ranges_.end() && jt->left <= right) ++jt;
  if (it == jt) {
    if (ranges_.size() >= kMaxRanges) return;
    ranges_.insert(it, wire::SackBlock{left, right});
    sacked_ += distance(left, right);
    return;
  }
  uint32_t merged = 0;
  for (auto k = it; k != jt; ++k) merged += size_of(*k);
  const wire::SackBlock u{seq_min(left, it->left), seq_max(right, std::prev(jt)->right)};
  *it = u;
  ranges_.erase(std::next(it), jt);
  sacked_ += size_of(u) - merged;
}

SackScoreboard::Update SackScoreboard::on_ack(SeqNum snd_una, SeqNum snd_nxt,
                                              std::span<const wire::SackBlock> blocks) {
  Update u;
  advance(snd_una);
  size_t first = 0;
  if (!blocks.empty()) {
    // RFC 2883 4, 5: a D-SACK is always the first block, and the sender
    // tells it from an ordinary one because it lies below the cumulative
    // ACK (Linux: left edge before SEG.ACK) or within the second block. It
    // reports data received twice, not data missing: it is not recorded.
    const wire::SackBlock& b0 = blocks[0];
    if (b0.left < snd_una ||
        (blocks.size() > 1 && blocks[1].left <= b0.left && b0.right <= blocks[1].right)) {
      u.dsack = true;
      first = 1;
    }
  }
  const uint32_t before = sacked_;
  for (size_t i = first; i < blocks.size(); ++i) {
    SeqNum left = blocks[i].left;
    const SeqNum right = blocks[i].right;
    // RFC 2018 3 / RFC 6675 4: only blocks describing data in flight,
    // [SND.UNA, SND.NXT), are recorded; anything else is malformed or stale.
    if (!(left < right) || right > snd_nxt || right <= snd_una) continue;
    left = seq_max(left, snd_una);
    add(left, right);
  }
  u.newly_sacked = sacked_ - before;
  return u;
}

bool SackScoreboard::is_sacked(SeqNum seq) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](SeqNum s, const wire::SackBlock& r) { return s < r.right; });
  return it != ranges_.end() && it->left <= seq;
}

bool SackScoreboard::is_lost(SeqNum seq, uint32_t smss) const {
  // RFC 6675 2 IsLost: counts the SACKed octets with sequence numbers
  // greater than seq, and the discontiguous ranges holding them.
  const SeqNum above = seq + 1;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), above,
                             [](SeqNum s, const wire::SackBlock& r) { return s < r.right; });
  size_t n = 0;
  uint64_t bytes = 0;
  for (; it != ranges_.end(); ++it) {
    ++n;
    bytes += distance(seq_max(it->left, above), it->right);
    if (lost(n, bytes, smss)) return true;
  }
  return false;
}

uint32_t SackScoreboard::pipe(SeqNum snd_una, SeqNum snd_nxt, SeqNum high_rxt, uint32_t smss,
                              const std::function<bool(SeqNum)>& retransmitted) const {
  SHUNT_CHECK(smss > 0);
  uint64_t pipe = 0;
  // One hole [a, b) of un-SACKed octets: IsLost is the same for all of them.
  auto count_hole = [&](SeqNum a, SeqNum b, bool is_lost) {
    // RFC 6675 4 SetPipe (a): not lost, so presumed still in the network.
    if (!is_lost) pipe += distance(a, b);
    // RFC 6675 4 SetPipe (b): retransmitted octets are in the network (again).
    const SeqNum rx_end = seq_min(b, high_rxt);
    for (SeqNum x = a; x < rx_end; x += smss) {
      if (retransmitted(x)) pipe += std::min(smss, distance(x, rx_end));
    }
  };
  const size_t n = ranges_.size();
  uint64_t bytes_above = sacked_;
  SeqNum hole = snd_una;
  for (size_t k = 0; k < n && hole < snd_nxt; ++k) {
    const wire::SackBlock& r = ranges_[k];
    const SeqNum hole_end = seq_min(r.left, snd_nxt);
    if (hole < hole_end) count_hole(hole, hole_end, lost(n - k, bytes_above, smss));
    bytes_above -= size_of(r);
    hole = seq_max(hole, r.right);
  }
  // Above the highest SACKed octet nothing is SACKed, so nothing is lost.
  if (hole < snd_nxt) count_hole(hole, snd_nxt, false);
  return static_cast<uint32_t>(std::min<uint64_t>(pipe, std::numeric_limits<uint32_t>::max()));
}

std::optional<std::pair<SeqNum, uint32_t>> SackScoreboard::next_lost(SeqNum from, SeqNum snd_nxt,
                                                                     uint32_t smss) const {
  SHUNT_CHECK(smss > 0);
  const size_t n = ranges_.size();
  uint64_t bytes_above = sacked_;
  SeqNum hole = from;
  for (size_t k = 0; k < n; ++k) {
    const wire::SackBlock& r = ranges_[k];
    if (r.right <= from) {  // wholly below `from`
      bytes_above -= size_of(r);
      continue;
    }
    // Holes higher up have less SACKed data above them: once one is not
    // lost, none further up is.
    if (!lost(n - k, bytes_above, smss)) return std::nullopt;
    const SeqNum end = seq_min(r.left, snd_nxt);
    if (hole < end) return std::pair{hole, std::min(smss, distance(hole, end))};
    bytes_above -= size_of(r);
    hole = seq_max(hole, r.right);
  }
  // RFC 6675 IsLost is false above the highest SACKed octet.
  return std::nullopt;
}

}  // namespace shunt::tcp
