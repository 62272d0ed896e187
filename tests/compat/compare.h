// Comparing the two runs of the comparison harness (harness.h): the
// kernel's observations, shunt's, and the list of known differences.
//
// Rules: every check must be in both runs; where the two lines differ the
// check must be listed in known_differences.txt with a reason; a listed
// check whose lines agree fails too (the entry is stale and must go), as
// does an entry naming no check. Header-only so that a unit test
// (tests/unit/compat_compare_test.cc) can hold the rules down.
#pragma once

#include <istream>
#include <map>
#include <string>
#include <vector>

namespace compat {

// "name: observation" lines, in order.
struct Observations {
  std::vector<std::string> order;
  std::map<std::string, std::string> values;
  std::vector<std::string> problems;  // malformed or repeated lines
};

inline std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

inline Observations parse_observations(std::istream& in) {
  Observations o;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    size_t colon = line.find(": ");
    if (colon == std::string::npos || colon == 0) {
      // A check's value may be empty ("name:").
      if (!line.empty() && line.back() == ':' && line.find(' ') == std::string::npos) {
        colon = line.size() - 1;
      } else {
        o.problems.push_back("line " + std::to_string(n) + " is not 'name: observation': " + line);
        continue;
      }
    }
    std::string name = line.substr(0, colon);
    std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (o.values.count(name) != 0) {
      o.problems.push_back("check " + name + " appears twice");
      continue;
    }
    o.order.push_back(name);
    o.values[name] = value;
  }
  return o;
}

// known_differences.txt: "name  reason" per line (the name ends at the
// first blank), '#' starts a comment line. Every entry needs a reason.
struct KnownDifferences {
  std::map<std::string, std::string> reasons;
  std::vector<std::string> problems;
};

inline KnownDifferences parse_known(std::istream& in) {
  KnownDifferences k;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t sp = t.find_first_of(" \t");
    std::string name = t.substr(0, sp);
    std::string reason = sp == std::string::npos ? "" : trim(t.substr(sp));
    if (reason.empty()) {
      k.problems.push_back("line " + std::to_string(n) + ": " + name + " has no reason");
      continue;
    }
    if (k.reasons.count(name) != 0) {
      k.problems.push_back("line " + std::to_string(n) + ": " + name + " is listed twice");
      continue;
    }
    k.reasons[name] = reason;
  }
  return k;
}

enum class Verdict {
  kSame,             // both runs agree
  kKnown,            // they differ and the list says why
  kDiffers,          // they differ and the list does not say why: fails
  kStale,            // listed, but they agree now: fails (remove the entry)
  kMissing,          // the check is not in both runs: fails
  kUnknownEntry,     // the list names no check of either run: fails
};

struct Outcome {
  std::string name;
  Verdict verdict = Verdict::kSame;
  std::string kernel, shunt, reason;

  bool passed() const { return verdict == Verdict::kSame || verdict == Verdict::kKnown; }
  std::string message() const {
    switch (verdict) {
      case Verdict::kSame: return name + ": same (" + kernel + ")";
      case Verdict::kKnown:
        return name + ": known difference (" + reason + ")\n  kernel: " + kernel + "\n  shunt:  " + shunt;
      case Verdict::kDiffers:
        return name + " differs from the kernel and known_differences.txt does not list it\n  kernel: " + kernel +
               "\n  shunt:  " + shunt;
      case Verdict::kStale:
        return name + " is listed in known_differences.txt (" + reason +
               ") but agrees with the kernel now: remove the entry\n  both: " + kernel;
      case Verdict::kMissing:
        return name + " is missing from the " + (kernel.empty() ? "kernel" : "shunt") + " run";
      case Verdict::kUnknownEntry:
        return name + " is listed in known_differences.txt but no check has that name";
    }
    return name;
  }
};

inline std::vector<Outcome> compare(const Observations& kernel, const Observations& shunt,
                                    const KnownDifferences& known) {
  std::vector<Outcome> out;
  std::vector<std::string> names = kernel.order;
  for (const std::string& n : shunt.order) {
    if (kernel.values.count(n) == 0) names.push_back(n);
  }
  for (const std::string& n : names) {
    Outcome o;
    o.name = n;
    auto k = kernel.values.find(n);
    auto s = shunt.values.find(n);
    auto r = known.reasons.find(n);
    if (r != known.reasons.end()) o.reason = r->second;
    if (k == kernel.values.end() || s == shunt.values.end()) {
      o.verdict = Verdict::kMissing;
      if (k != kernel.values.end()) o.kernel = k->second.empty() ? "(empty)" : k->second;
      if (s != shunt.values.end()) o.shunt = s->second.empty() ? "(empty)" : s->second;
    } else {
      o.kernel = k->second;
      o.shunt = s->second;
      const bool same = k->second == s->second;
      const bool listed = r != known.reasons.end();
      o.verdict = same ? (listed ? Verdict::kStale : Verdict::kSame) : (listed ? Verdict::kKnown : Verdict::kDiffers);
    }
    out.push_back(o);
  }
  for (const auto& [name, reason] : known.reasons) {
    if (kernel.values.count(name) == 0 && shunt.values.count(name) == 0) {
      Outcome o;
      o.name = name;
      o.reason = reason;
      o.verdict = Verdict::kUnknownEntry;
      out.push_back(o);
    }
  }
  return out;
}

}  // namespace compat
