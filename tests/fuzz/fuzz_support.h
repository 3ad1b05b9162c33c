// Shared by the fuzz targets: what makes a finding (a crash, or an invariant that does not hold),
// and the unit tests' helpers for temporary directories and configurations (test_support.h).
#pragma once

#include "test_support.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace tr::fuzz {

// The input as text; every target reads its bytes this way.
inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
    return {reinterpret_cast<const char *>(data), size};
}

// An invariant that does not hold is a finding like a crash: libFuzzer keeps the input that
// broke it (crash-*) and the test fails.
[[noreturn]] inline void broken(const std::string &what) {
    std::fprintf(stderr, "\nINVARIANT BROKEN: %s\n", what.c_str());
    std::abort();
}

inline void require(bool holds, const std::string &what) {
    if (!holds)
        broken(what);
}

} // namespace tr::fuzz
