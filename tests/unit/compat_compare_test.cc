// The comparison harness's rules (tests/compat/compare.h): agreement
// passes, a listed difference passes with its reason, an unlisted one
// fails, and so do a listed check that agrees again, a check missing from
// one run and an entry naming no check.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/compat/compare.h"

namespace compat {
namespace {

Observations obs(const std::string& text) {
  std::istringstream in(text);
  return parse_observations(in);
}

KnownDifferences known(const std::string& text) {
  std::istringstream in(text);
  return parse_known(in);
}

Verdict verdict_of(const std::vector<Outcome>& out, const std::string& name) {
  for (const auto& o : out) {
    if (o.name == name) return o.verdict;
  }
  ADD_FAILURE() << "no outcome for " << name;
  return Verdict::kSame;
}

TEST(CompatCompare, EachRuleGivesItsVerdict) {
  const auto kernel = obs("a: 1\nb: x y\nc: same\nd: only kernel\nempty:\n");
  const auto shunt = obs("a: 1\nb: x z\nc: same\ne: only shunt\nempty:\n");
  const auto list = known("# comment\nc  listed but agrees\nb  a reason\nghost  names nothing\n");
  ASSERT_TRUE(kernel.problems.empty());
  ASSERT_TRUE(list.problems.empty());
  const auto out = compare(kernel, shunt, list);
  EXPECT_EQ(verdict_of(out, "a"), Verdict::kSame);
  EXPECT_EQ(verdict_of(out, "empty"), Verdict::kSame);
  EXPECT_EQ(verdict_of(out, "b"), Verdict::kKnown);
  EXPECT_EQ(verdict_of(out, "c"), Verdict::kStale);
  EXPECT_EQ(verdict_of(out, "d"), Verdict::kMissing);
  EXPECT_EQ(verdict_of(out, "e"), Verdict::kMissing);
  EXPECT_EQ(verdict_of(out, "ghost"), Verdict::kUnknownEntry);
  for (const auto& o : out) {
    EXPECT_EQ(o.passed(), o.name == "a" || o.name == "empty" || o.name == "b") << o.message();
  }
}

TEST(CompatCompare, AnUnlistedDifferenceFailsAndSaysBothSides) {
  const auto out = compare(obs("x: EAGAIN\n"), obs("x: EINVAL\n"), known(""));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, Verdict::kDiffers);
  EXPECT_FALSE(out[0].passed());
  EXPECT_NE(out[0].message().find("kernel: EAGAIN"), std::string::npos);
  EXPECT_NE(out[0].message().find("shunt:  EINVAL"), std::string::npos);
}

TEST(CompatCompare, MalformedInputIsReported) {
  EXPECT_EQ(obs("no separator here\n").problems.size(), 1u);
  EXPECT_EQ(obs("a: 1\na: 2\n").problems.size(), 1u);
  EXPECT_EQ(known("lonely\n").problems.size(), 1u);  // no reason
  EXPECT_EQ(known("a one\na two\n").problems.size(), 1u);
}

}  // namespace
}  // namespace compat
