// A mistake in how the CLI was called: reported with the usage line and exit status 2,
// distinct from what the server or the task said.
#pragma once

#include <stdexcept>

namespace tr::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace tr::cli

namespace tr::cli {

// Input the CLI cannot use (a tasks file, a config file): "nightly.tasks:7: ...". Exit status 2,
// without the usage text.
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace tr::cli
