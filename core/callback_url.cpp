// Callback URL checks: the URL at submission, the host against the list, each address at connect.
#include "core/callback_url.h"

#include "core/error.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace tr {
namespace {

[[noreturn]] void reject(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

struct CurlUrlCleanup {
    void operator()(CURLU *url) const noexcept { curl_url_cleanup(url); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlCleanup>;

std::optional<std::string> url_part(CURLU *url, CURLUPart part) {
    char *text = nullptr;
    if (curl_url_get(url, part, &text, 0) != CURLUE_OK || !text)
        return std::nullopt;
    std::string value(text);
    curl_free(text);
    return value;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string without_brackets(std::string host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        return host.substr(1, host.size() - 2);
    return host;
}

// An address as 16 bytes, IPv4 as ::ffff:a.b.c.d, so both families compare alike. Strict
// inet_pton: "0x7f.1" is no address here (curl has already rewritten such hosts in dotted form).
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text) {
    const std::string host = without_brackets(std::string(text));
    std::array<std::uint8_t, 16> bytes{};
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        bytes[10] = bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &v4, 4);
        return bytes;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        std::memcpy(bytes.data(), &v6, 16);
        return bytes;
    }
    return std::nullopt;
}

std::array<std::uint8_t, 16> socket_address_bytes(const sockaddr *address) {
    std::array<std::uint8_t, 16> bytes{};
    if (address->sa_family == AF_INET) {
        bytes[10] = bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &reinterpret_cast<const sockaddr_in *>(address)->sin_addr,
                    4);
    } else if (address->sa_family == AF_INET6) {
        std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr, 16);
    }
    return bytes;
}

bool is_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
        name.find("..") != std::string_view::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
    });
}

bool in_block(std::uint32_t address, std::uint32_t block, int prefix) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (address & mask) == block;
}

AddressKind classify_v4(std::uint32_t a) {
    struct Block {
        std::uint32_t base;
        int prefix;
        AddressKind kind;
    };
    static constexpr Block blocks[] = {
        {0x00000000, 8, AddressKind::Unspecified}, {0x7f000000, 8, AddressKind::Loopback},
        {0x0a000000, 8, AddressKind::Private},     {0xac100000, 12, AddressKind::Private},
        {0xc0a80000, 16, AddressKind::Private},    {0x64400000, 10, AddressKind::Private},
        {0xa9fe0000, 16, AddressKind::LinkLocal},  {0xe0000000, 4, AddressKind::Multicast},
        {0xf0000000, 4, AddressKind::Reserved},    {0xc0000000, 24, AddressKind::Reserved},
        {0xc0000200, 24, AddressKind::Reserved},   {0xc0586300, 24, AddressKind::Reserved},
        {0xc6120000, 15, AddressKind::Reserved},   {0xc6336400, 24, AddressKind::Reserved},
        {0xcb007100, 24, AddressKind::Reserved},
    };
    for (const Block &block : blocks)
        if (in_block(a, block.base, block.prefix))
            return block.kind;
    return AddressKind::Public;
}

std::uint32_t v4_at(const std::array<std::uint8_t, 16> &b, std::size_t offset) {
    return (std::uint32_t{b[offset]} << 24) | (std::uint32_t{b[offset + 1]} << 16) |
           (std::uint32_t{b[offset + 2]} << 8) | std::uint32_t{b[offset + 3]};
}

bool starts_with(const std::array<std::uint8_t, 16> &b, std::initializer_list<std::uint8_t> head) {
    return std::equal(head.begin(), head.end(), b.begin());
}

AddressKind classify_v6(const std::array<std::uint8_t, 16> &b) {
    const bool first_96_zero = std::all_of(b.begin(), b.begin() + 12, [](auto x) { return !x; });
    if (first_96_zero) {
        const std::uint32_t low = v4_at(b, 12);
        return low == 0   ? AddressKind::Unspecified
               : low == 1 ? AddressKind::Loopback
                          : AddressKind::Reserved; // IPv4-compatible, deprecated (RFC 4291)
    }
    if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) // IPv4-mapped
        return classify_v4(v4_at(b, 12));
    if (starts_with(b, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) // NAT64, RFC 6052
        return classify_v4(v4_at(b, 12));
    if (starts_with(b, {0x20, 0x02})) // 6to4, RFC 3056: the IPv4 address follows
        return classify_v4(v4_at(b, 2));
    if (starts_with(b, {0x20, 0x01, 0x0d, 0xb8}) || starts_with(b, {0x20, 0x01, 0, 0}) ||
        starts_with(b, {0, 0x64, 0xff, 0x9b, 0, 1}) || starts_with(b, {1, 0, 0, 0, 0, 0, 0, 0}))
        return AddressKind::Reserved; // documentation, Teredo, local NAT64, discard
    if ((b[0] & 0xfe) == 0xfc)
        return AddressKind::UniqueLocal;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return AddressKind::LinkLocal;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return AddressKind::Private; // site-local, deprecated but still routed by some
    if (b[0] == 0xff)
        return AddressKind::Multicast;
    return AddressKind::Public;
}

} // namespace

CallbackTarget parse_callback_url(std::string_view text) {
    if (text.size() > max_callback_url_length)
        reject("callback_url must be at most " + std::to_string(max_callback_url_length) +
               " characters (got " + std::to_string(text.size()) + ")");
    const std::string shown(text.substr(0, 80));
    CurlUrlPtr url(curl_url());
    if (!url)
        throw Error(ErrorCode::InternalError, "curl_url: out of memory");
    // Without a default scheme: "example.com/hook" is refused rather than guessed as http.
    if (curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(),
                     CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        reject("callback_url must be an absolute http or https URL such as "
               "\"https://hooks.example.com/task-runner\" (got \"" +
               shown + "\")");
    CallbackTarget target;
    target.scheme = lower(url_part(url.get(), CURLUPART_SCHEME).value_or(""));
    if (target.scheme != "http" && target.scheme != "https")
        reject("callback_url must use http or https (got \"" + target.scheme.substr(0, 20) + "\")");
    if (url_part(url.get(), CURLUPART_USER) || url_part(url.get(), CURLUPART_PASSWORD))
        reject("callback_url must not hold a user name or password (got \"" + shown +
               "\"); the signature says who is calling");
    const std::optional<std::string> host = url_part(url.get(), CURLUPART_HOST);
    if (!host || host->empty())
        reject("callback_url must name a host (got \"" + shown + "\")");
    target.host = lower(without_brackets(*host));
    if (!parse_address(target.host) && !is_host_name(target.host))
        reject("callback_url's host must be a DNS name or an IP address (got \"" +
               target.host.substr(0, 80) + "\")");
    target.url = url_part(url.get(), CURLUPART_URL).value_or(std::string(text));
    return target;
}

CallbackTarget check_callback_url(std::string_view url, const std::vector<std::string> &allowed) {
    CallbackTarget target = parse_callback_url(url);
    if (match_callback_host(target.host, allowed) == HostMatch::None)
        reject("callback_url's host \"" + target.host.substr(0, 80) +
               "\" is not one this server calls (webhooks.allowed_hosts)");
    if (const std::optional<std::array<std::uint8_t, 16>> bytes = parse_address(target.host)) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        std::memcpy(&address.sin6_addr, bytes->data(), 16);
        if (std::optional<std::string> why =
                refused_address(target.host, reinterpret_cast<const sockaddr *>(&address), allowed))
            reject("callback_url " + *why);
    }
    return target;
}

bool is_callback_host_pattern(std::string_view entry) {
    if (parse_address(entry))
        return true;
    if (entry.size() > 2 && entry.substr(0, 2) == "*.")
        return is_host_name(entry.substr(2)) && !parse_address(entry.substr(2));
    return is_host_name(entry);
}

HostMatch match_callback_host(std::string_view host, const std::vector<std::string> &allowed) {
    if (allowed.empty())
        return HostMatch::Wildcard;
    const std::optional<std::array<std::uint8_t, 16>> address = parse_address(host);
    HostMatch best = HostMatch::None;
    for (const std::string &entry : allowed) {
        const std::string pattern = lower(entry);
        if (address) {
            if (parse_address(pattern) == address)
                return HostMatch::Exact;
            continue; // a "*.domain" entry never covers an address
        }
        if (pattern == host)
            return HostMatch::Exact;
        if (pattern.size() > 2 && pattern.compare(0, 2, "*.") == 0) {
            const std::string suffix = pattern.substr(1); // ".example.com"
            if (host.size() > suffix.size() &&
                host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0)
                best = HostMatch::Wildcard;
        }
    }
    return best;
}

const char *to_string(AddressKind kind) noexcept {
    switch (kind) {
    case AddressKind::Public: return "public";
    case AddressKind::Unspecified: return "unspecified";
    case AddressKind::Loopback: return "loopback";
    case AddressKind::Private: return "private";
    case AddressKind::LinkLocal: return "link-local";
    case AddressKind::UniqueLocal: return "unique-local";
    case AddressKind::Multicast: return "multicast";
    case AddressKind::Reserved: return "reserved";
    }
    return "reserved";
}

AddressKind classify_address(const sockaddr *address) {
    if (address->sa_family != AF_INET && address->sa_family != AF_INET6)
        return AddressKind::Reserved;
    return classify_v6(socket_address_bytes(address));
}

std::string address_text(const sockaddr *address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(address)->sin_addr, text,
                    sizeof text);
    else if (address->sa_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr, text,
                    sizeof text);
    return text;
}

std::optional<std::string> refused_address(std::string_view host, const sockaddr *address,
                                           const std::vector<std::string> &allowed) {
    const HostMatch match = match_callback_host(host, allowed);
    if (match == HostMatch::None)
        return "host " + std::string(host) + " is not in webhooks.allowed_hosts";
    const AddressKind kind = classify_address(address);
    if (kind == AddressKind::Public || match == HostMatch::Exact)
        return std::nullopt;
    const std::array<std::uint8_t, 16> bytes = socket_address_bytes(address);
    for (const std::string &entry : allowed)
        if (parse_address(entry) == bytes)
            return std::nullopt;
    return "refused: " + std::string(host) + " resolved to " + address_text(address) + ", a " +
           to_string(kind) +
           " address; list the host or the address itself in webhooks.allowed_hosts to allow it";
}

} // namespace tr
