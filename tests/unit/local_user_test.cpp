// core/local_user: the audit's name for whoever runs a command-line program.
#include "core/local_user.h"

#include <gtest/gtest.h>

#include <pwd.h>
#include <unistd.h>

#include <string>

namespace tr {
namespace {

TEST(LocalUser, IsThePasswdNameWithTheRealUid) {
    const std::string number = "uid " + std::to_string(::getuid());
    const passwd *entry = ::getpwuid(::getuid());
    EXPECT_EQ(local_user(), entry ? std::string(entry->pw_name) + " (" + number + ")" : number);
}

} // namespace
} // namespace tr
