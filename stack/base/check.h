// SHUNT_CHECK guards programming errors (broken invariants), never input:
// malformed packets and API misuse are reported through drop reasons and
// Result values instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SHUNT_CHECK(cond)                                                         \
  do {                                                                            \
    if (!(cond)) [[unlikely]] {                                                   \
      std::fprintf(stderr, "shunt: check failed: %s at %s:%d\n", #cond, __FILE__, \
                   __LINE__);                                                     \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
