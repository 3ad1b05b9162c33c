// Where callbacks may go: the URL checks at submission, the host list, and the classification of
// the address libcurl connects to, with the spellings that try to hide an internal address.
#include "core/callback_url.h"

#include "core/error.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <cstring>
#include <string>
#include <vector>

namespace tr {
namespace {

// The address the C library makes of a spelling, as getaddrinfo hands it to libcurl. Numeric
// only: "2130706433" and "0x7f.1" are what inet_aton (and so getaddrinfo) accept for IPv4.
struct Resolved {
    sockaddr_storage storage{};
    const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&storage); }
};

Resolved resolve(const std::string &spelling) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo *found = nullptr;
    if (::getaddrinfo(spelling.c_str(), nullptr, &hints, &found) != 0 || !found)
        throw std::runtime_error("getaddrinfo refused " + spelling);
    Resolved resolved;
    std::memcpy(&resolved.storage, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    return resolved;
}

AddressKind kind_of(const std::string &spelling) {
    return classify_address(resolve(spelling).get());
}

std::string rejection(const std::string &url, const std::vector<std::string> &allowed = {}) {
    try {
        check_callback_url(url, allowed);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        return e.what();
    }
    return "";
}

TEST(ClassifyAddress, FindsLoopbackHoweverTheIpv4AddressIsSpelt) {
    for (const char *spelling : {"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1",
                                 "127.1", "127.255.255.254"})
        EXPECT_EQ(kind_of(spelling), AddressKind::Loopback) << spelling;
}

TEST(ClassifyAddress, JudgesIpv4InsideIpv6AsThatIpv4Address) {
    EXPECT_EQ(kind_of("::ffff:127.0.0.1"), AddressKind::Loopback);
    EXPECT_EQ(kind_of("::ffff:7f00:1"), AddressKind::Loopback);
    EXPECT_EQ(kind_of("::ffff:10.1.2.3"), AddressKind::Private);
    EXPECT_EQ(kind_of("::ffff:169.254.169.254"), AddressKind::LinkLocal);
    EXPECT_EQ(kind_of("64:ff9b::a9fe:a9fe"), AddressKind::LinkLocal); // NAT64 of 169.254.169.254
    EXPECT_EQ(kind_of("2002:7f00:1::"), AddressKind::Loopback);       // 6to4 of 127.0.0.1
    EXPECT_EQ(kind_of("::ffff:8.8.8.8"), AddressKind::Public);
    EXPECT_EQ(kind_of("::127.0.0.1"), AddressKind::Reserved); // IPv4-compatible, deprecated
}

TEST(ClassifyAddress, NamesEveryInternalBlock) {
    EXPECT_EQ(kind_of("0.0.0.0"), AddressKind::Unspecified);
    EXPECT_EQ(kind_of("0"), AddressKind::Unspecified);
    EXPECT_EQ(kind_of("::"), AddressKind::Unspecified);
    EXPECT_EQ(kind_of("::1"), AddressKind::Loopback);
    EXPECT_EQ(kind_of("10.0.0.1"), AddressKind::Private);
    EXPECT_EQ(kind_of("172.16.0.1"), AddressKind::Private);
    EXPECT_EQ(kind_of("172.31.255.255"), AddressKind::Private);
    EXPECT_EQ(kind_of("192.168.1.1"), AddressKind::Private);
    EXPECT_EQ(kind_of("100.64.0.1"), AddressKind::Private);
    EXPECT_EQ(kind_of("169.254.169.254"), AddressKind::LinkLocal);
    EXPECT_EQ(kind_of("fe80::1"), AddressKind::LinkLocal);
    EXPECT_EQ(kind_of("fc00::1"), AddressKind::UniqueLocal);
    EXPECT_EQ(kind_of("fd12:3456::1"), AddressKind::UniqueLocal);
    EXPECT_EQ(kind_of("224.0.0.1"), AddressKind::Multicast);
    EXPECT_EQ(kind_of("ff02::1"), AddressKind::Multicast);
    EXPECT_EQ(kind_of("255.255.255.255"), AddressKind::Reserved);
    EXPECT_EQ(kind_of("198.18.0.1"), AddressKind::Reserved);
    EXPECT_EQ(kind_of("2001:db8::1"), AddressKind::Reserved);
}

TEST(ClassifyAddress, LeavesPublicAddressesPublic) {
    for (const char *spelling : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255",
                                 "100.128.0.1", "2606:4700::1111", "2a00:1450::1"})
        EXPECT_EQ(kind_of(spelling), AddressKind::Public) << spelling;
}

TEST(RefusedAddress, RefusesInternalAddressesReachedThroughAWildcardOrAnEmptyList) {
    const Resolved loopback = resolve("127.0.0.1");
    EXPECT_TRUE(refused_address("hooks.example.com", loopback.get(), {}));
    EXPECT_TRUE(refused_address("hooks.example.com", loopback.get(), {"*.example.com"}));
    const std::optional<std::string> why =
        refused_address("rebind.example.com", resolve("::ffff:10.0.0.5").get(), {"*.example.com"});
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("private"), std::string::npos) << *why;
    EXPECT_FALSE(refused_address("hooks.example.com", resolve("8.8.8.8").get(), {"*.example.com"}));
}

TEST(RefusedAddress, AllowsAnInternalAddressTheListNamesExactly) {
    const Resolved loopback = resolve("127.0.0.1");
    EXPECT_FALSE(refused_address("hooks.internal", loopback.get(), {"hooks.internal"}));
    EXPECT_FALSE(refused_address("127.0.0.1", loopback.get(), {"127.0.0.1"}));
    // The listed address, however the connection's family wraps it.
    EXPECT_FALSE(refused_address("localhost", resolve("::ffff:127.0.0.1").get(),
                                 {"localhost", "127.0.0.1"}));
    EXPECT_TRUE(refused_address("127.0.0.2", resolve("127.0.0.2").get(), {"127.0.0.1"}));
    EXPECT_TRUE(refused_address("other.internal", loopback.get(), {"hooks.internal"}));
}

TEST(CheckCallbackUrl, AcceptsHttpAndHttpsUrls) {
    EXPECT_EQ(rejection("https://hooks.example.com/task-runner?token=x"), "");
    EXPECT_EQ(rejection("http://hooks.example.com:8080/"), "");
    EXPECT_EQ(check_callback_url("HTTPS://Hooks.Example.COM/x", {}).host, "hooks.example.com");
}

TEST(CheckCallbackUrl, RefusesOtherSchemesCredentialsAndNonsense) {
    EXPECT_NE(rejection("ftp://hooks.example.com/").find("http or https"), std::string::npos);
    EXPECT_NE(rejection("file:///etc/passwd").find("http or https"), std::string::npos);
    EXPECT_NE(rejection("gopher://127.0.0.1:6379/_FLUSHALL").find("http or https"),
              std::string::npos);
    EXPECT_NE(rejection("https://user:pw@hooks.example.com/").find("user name or password"),
              std::string::npos);
    EXPECT_NE(rejection("hooks.example.com/x").find("absolute"), std::string::npos);
    EXPECT_NE(rejection("http://"), "");
    EXPECT_NE(rejection("https://hooks.example.com/a b"), "");
    EXPECT_NE(rejection("https://hooks.example.com/" + std::string(3000, 'a')).find("at most"),
              std::string::npos);
}

TEST(CheckCallbackUrl, RefusesInternalAddressLiteralsInAnySpelling) {
    for (const char *url :
         {"http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/",
          "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/",
          "http://[fd00::1]/", "http://0.0.0.0:8080/", "http://10.0.0.1/"})
        EXPECT_NE(rejection(url), "") << url;
}

TEST(CheckCallbackUrl, HoldsTheHostToTheList) {
    const std::vector<std::string> allowed{"127.0.0.1", "*.example.com"};
    EXPECT_EQ(rejection("http://127.0.0.1:9000/hook", allowed), "");
    EXPECT_EQ(rejection("http://2130706433:9000/hook", allowed), ""); // the same address
    EXPECT_EQ(rejection("https://a.b.example.com/", allowed), "");
    EXPECT_NE(rejection("http://127.0.0.2:9000/", allowed), "");
    EXPECT_NE(rejection("http://localhost:9000/", allowed).find("webhooks.allowed_hosts"),
              std::string::npos);
    EXPECT_NE(rejection("https://example.com/", allowed), ""); // "*." needs a subdomain
    EXPECT_NE(rejection("https://evilexample.com/", allowed), "");
    EXPECT_NE(rejection("https://example.com.evil.net/", allowed), "");
}

TEST(CallbackHostPattern, TakesNamesWildcardsAndAddresses) {
    for (const char *entry : {"hooks.example.com", "*.example.com", "10.0.0.7", "::1", "localhost"})
        EXPECT_TRUE(is_callback_host_pattern(entry)) << entry;
    for (const char *entry : {"*", "*.", "a.*.com", "http://x", "x y", "", "*.10.0.0.1", "a..b"})
        EXPECT_FALSE(is_callback_host_pattern(entry)) << entry;
}

} // namespace
} // namespace tr
