// SackScoreboard: the sender's record of which parts of [SND.UNA, SND.NXT)
// the receiver has SACKed, and the RFC 6675 queries built on it.
//
// Reading list:
//   RFC 2018 3, 8   SACK blocks; clearing the SACK information after an RTO
//   RFC 2883 4, 5   D-SACK: how to recognise a duplicate report
//   RFC 6675 2-5    Update(), IsLost(), SetPipe(), NextSeg() rule (1), 5.1
//
// Representation: a sorted vector of disjoint, non-adjacent [left, right)
// ranges (at most kMaxRanges), with the SACKed byte count kept alongside.
// Everything is a SeqNum comparison, so it works across 2**32.
//
// The scoreboard knows ranges only, not the sender's segment boundaries,
// so IsLost counts discontiguous SACKed ranges (RFC 6675 2: "DupThresh
// discontiguous SACKed sequences") and SACKed bytes; SetPipe and NextSeg
// work hole by hole, using the fact that IsLost is the same for every
// octet of one hole (all of them have the same SACKed data above).
//
// Pure: no syscalls, no clock, no globals. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "stack/base/seq.h"
#include "stack/wire/tcp.h"

namespace shunt::tcp {

class SackScoreboard {
 public:
  // Ranges kept at most; a block that would add one more disjoint range is
  // ignored (its data only looks un-SACKed: at worst it is retransmitted).
  static constexpr size_t kMaxRanges = 128;
  // RFC 6675 2: DupThresh.
  static constexpr uint32_t kDupThresh = 3;

  // Forgets every SACKed range. RFC 2018 8: after a retransmission timeout
  // the sender SHOULD clear its SACK information, as the receiver may have
  // reneged; RFC 6675 5.1 allows keeping it. The connection decides (Linux
  // clears it only when it detects reneging); the last SND.UNA is kept.
  void reset();

  struct Update {
    uint32_t newly_sacked = 0;  // bytes SACKed by this ACK and not before
    bool dsack = false;         // the first block was a D-SACK (RFC 2883)
    bool operator==(const Update&) const = default;
  };
  // RFC 6675 4 Update(): records the SACK blocks of one ACK. snd_una is
  // SND.UNA after this ACK's cumulative acknowledgment (SEG.ACK when it
  // advanced it); the scoreboard advance()s to it first. RFC 2883: the
  // first block is a D-SACK when it lies below snd_una or inside the second
  // block; it is reported, not recorded. Other blocks are ignored when
  // malformed (left >= right), when they reach beyond snd_nxt (data never
  // sent) or lie wholly at or below snd_una; a block straddling snd_una is
  // clipped to it.
  Update on_ack(SeqNum snd_una, SeqNum snd_nxt, std::span<const wire::SackBlock> blocks);

  // The cumulative ACK moved: drops everything below snd_una.
  void advance(SeqNum snd_una);

  uint32_t sacked_bytes() const { return sacked_; }
  bool is_sacked(SeqNum seq) const;

  // RFC 6675 2, IsLost(SeqNum): true when DupThresh discontiguous SACKed
  // ranges lie above seq, or more than (DupThresh - 1) * SMSS bytes above
  // seq are SACKed.
  bool is_lost(SeqNum seq, uint32_t smss) const;

  // One past the highest SACKed octet, or SND.UNA when nothing is SACKed.
  SeqNum highest_sacked() const { return ranges_.empty() ? snd_una_ : ranges_.back().right; }

  // RFC 6675 4 SetPipe(): the octets in [snd_una, snd_nxt) the sender
  // should consider in the network. Each octet that is not SACKed counts
  // (a) once unless IsLost() and (b) once more if it was retransmitted.
  // For (b), `retransmitted(seq)` says whether the segment starting at seq
  // was retransmitted (and not since declared lost again); it is asked
  // once per SMSS-sized step through each hole, only below high_rxt (one
  // past the highest octet retransmitted in this recovery, RFC 6675's
  // HighRxt + 1; pass snd_una when nothing was retransmitted). Passing
  // [](SeqNum) { return true; } gives RFC 6675's plain "S1 <= HighRxt".
  uint32_t pipe(SeqNum snd_una, SeqNum snd_nxt, SeqNum high_rxt, uint32_t smss,
                const std::function<bool(SeqNum)>& retransmitted) const;

  // RFC 6675 4 NextSeg() rule (1): the first range at or after `from`
  // (>= SND.UNA; normally HighRxt + 1) that is not SACKed and IsLost():
  // {seq, len} with len <= smss, ending at the next SACKed range at the
  // latest. nullopt when there is none (rules (2)-(4), new data and the
  // rescue retransmission, are the sender's).
  std::optional<std::pair<SeqNum, uint32_t>> next_lost(SeqNum from, SeqNum snd_nxt,
                                                       uint32_t smss) const;

  // Disjoint SACKed ranges held.
  size_t ranges() const { return ranges_.size(); }
  // The ranges themselves, ascending.
  std::span<const wire::SackBlock> sacked_ranges() const { return ranges_; }

 private:
  // Adds [left, right) (snd_una <= left < right <= snd_nxt).
  void add(SeqNum left, SeqNum right);
  // IsLost for an octet with `ranges_above` SACKed ranges and `bytes_above`
  // SACKed bytes above it.
  static bool lost(size_t ranges_above, uint64_t bytes_above, uint32_t smss) {
    return ranges_above >= kDupThresh || bytes_above > uint64_t{kDupThresh - 1} * smss;
  }

  std::vector<wire::SackBlock>
      ranges_;  // ascending, disjoint, not adjacent, within [snd_una_, snd_nxt)
  uint32_t sacked_ = 0;
  SeqNum snd_una_{};
};

}  // namespace shunt::tcp
