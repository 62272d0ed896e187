#include "driver/capture_filter.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

namespace shunt {
namespace {

constexpr std::string_view kWords =
    "a filter word (tcp, udp, icmp, arp, host A, net A/P, port N, laddr=, raddr=, lport=, "
    "rport=, syn, synack, fin, rst, payload, len>=N, len<=N)";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct Word {
  std::string_view text;
  size_t pos = 0;  // 0-based column
};

std::string fail(std::string_view text, size_t pos, std::string_view expected,
                 std::string_view got) {
  std::string s = fmt::format("'{}', column {}: expected {}", text, pos + 1, expected);
  if (!got.empty())
    s += fmt::format(", got '{}'", got);
  else
    s += " at the end";
  return s;
}

}  // namespace

bool CaptureFilter::matches(std::span<const uint8_t> frame, bool outbound) const {
  if (terms.empty()) return true;
  return matches(summarize_frame(frame), outbound);
}

bool CaptureFilter::matches(const PacketSummary& s, bool outbound) const {
  if (terms.empty()) return true;
  for (const Term& t : terms) {
    if (!match_frame(t.all, s, outbound)) continue;
    bool excluded = false;
    for (const FaultMatch& n : t.none) {
      if (match_frame(n, s, outbound)) {
        excluded = true;
        break;
      }
    }
    if (!excluded) return true;
  }
  return false;
}

Expected<CaptureFilter, std::string> parse_capture_filter(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  CaptureFilter f;
  f.text = std::string(text);
  std::vector<Word> words;
  for (size_t pos = 0; pos < text.size();) {
    if (is_space(text[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && !is_space(text[end])) ++end;
    words.push_back({text.substr(pos, end - pos), pos});
    pos = end;
  }
  if (words.empty()) return f;

  CaptureFilter::Term term;
  bool term_empty = true;  // no primitive yet in this term
  bool want_word = true;   // after `and`, `or`, `not` or at the start
  for (size_t i = 0; i < words.size(); ++i) {
    const Word& w = words[i];
    if (w.text == "or" || w.text == "and") {
      if (want_word) return fail(text, w.pos, kWords, w.text);
      if (w.text == "or") {
        f.terms.push_back(std::move(term));
        term = {};
        term_empty = true;
      }
      want_word = true;
      continue;
    }
    bool negate = false;
    size_t at = i;
    if (w.text == "not") {
      negate = true;
      if (++at >= words.size()) return fail(text, text.size(), "a filter word after 'not'", "");
      if (words[at].text == "not" || words[at].text == "and" || words[at].text == "or") {
        return fail(text, words[at].pos, "a filter word after 'not'", words[at].text);
      }
    }
    const Word& prim = words[at];
    // tcpdump's two-word forms become the rule words host=, port=.
    std::string joined;
    std::string_view word = prim.text;
    size_t word_pos = prim.pos;
    if (prim.text == "host" || prim.text == "net" || prim.text == "port") {
      if (at + 1 >= words.size()) {
        return fail(text, text.size(),
                    prim.text == "port" ? "a port or a range LO-HI after 'port'"
                                        : fmt::format("an address after '{}'", prim.text),
                    "");
      }
      const Word& value = words[++at];
      const std::string_view key = prim.text == "port" ? "port=" : "host=";
      joined = std::string(key) + std::string(value.text);
      word = joined;
      // Columns in errors about the value point at the value.
      word_pos = value.pos >= key.size() ? value.pos - key.size() : 0;
      if (prim.text == "net" && value.text.find('/') == std::string_view::npos) {
        return fail(text, value.pos, "a network ADDR/PREFIX after 'net', e.g. 198.18.0.0/24",
                    value.text);
      }
    }
    FaultMatch scratch;
    FaultMatch& into = negate ? scratch : term.all;
    auto r = parse_fault_match_word(text, word_pos, word, into);
    if (!r) return fail(text, prim.pos, kWords, prim.text);
    if (!r->empty()) return *r;
    if (negate) term.none.push_back(scratch);
    term_empty = false;
    want_word = false;
    i = at;
  }
  if (want_word || term_empty) {
    return fail(text, text.size(), kWords, "");
  }
  f.terms.push_back(std::move(term));
  return f;
}

}  // namespace shunt
