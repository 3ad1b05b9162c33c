// Where a webhook may go. A callback URL is chosen by whoever submits a task, and the runner
// then calls it from inside the operator's network: unchecked, it would reach internal services
// (a cloud's metadata address, an admin port on loopback). So: only http and https, no
// credentials in the URL, a host that webhooks.allowed_hosts admits, and every address libcurl
// is about to connect to checked again (runner/webhook_post.cpp), so DNS answers and odd
// spellings of an address (2130706433, 0x7f.1, ::ffff:127.0.0.1) cannot get round the list.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

inline constexpr std::size_t max_callback_url_length = 2048;

struct CallbackTarget {
    std::string url;    // as libcurl normalised it
    std::string scheme; // http or https
    std::string host;   // lower case; an IPv6 address without its brackets
};

// Parses with libcurl's own URL parser, so what is checked is what curl connects to. Throws
// Error(InvalidRequest) saying what is wrong: "callback_url must use http or https (got ...)".
CallbackTarget parse_callback_url(std::string_view url);

// parse_callback_url, then the host against the list: not admitted, or an address literal that
// refused_address would refuse, is Error(InvalidRequest) at once rather than an attempt later.
CallbackTarget check_callback_url(std::string_view url, const std::vector<std::string> &allowed);

// An entry of webhooks.allowed_hosts: a host name, "*." and a domain, or an IP address.
bool is_callback_host_pattern(std::string_view entry);

enum class HostMatch { None, Wildcard, Exact };

// How `host` (lower case) matches the list: Exact when an entry names it (or is the same
// address), Wildcard when only a "*.domain" entry covers it. An empty list admits any host
// (Wildcard: it may still reach only public addresses).
HostMatch match_callback_host(std::string_view host, const std::vector<std::string> &allowed);

enum class AddressKind {
    Public,
    Unspecified, // 0.0.0.0/8, ::
    Loopback,    // 127.0.0.0/8, ::1
    Private,     // 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT)
    LinkLocal,   // 169.254/16 (cloud metadata), fe80::/10
    UniqueLocal, // fc00::/7
    Multicast,   // 224/4, ff00::/8
    Reserved,    // 192.0.0/24, 198.18/15, 240/4 and broadcast, ::/96, other special blocks
};

const char *to_string(AddressKind kind) noexcept;

// The kind of an AF_INET or AF_INET6 address; an IPv4 address inside IPv6 (::ffff:a.b.c.d,
// 64:ff9b::a.b.c.d, 2002:aabb:ccdd::) is judged as that IPv4 address. Any other family: Reserved.
AddressKind classify_address(const sockaddr *address);

// "127.0.0.1", "::1"; "?" for another family.
std::string address_text(const sockaddr *address);

// Whether a connection for `host` may go to `address`: nullopt when it may, else why not (for the
// attempt's record). Public addresses: whenever the host is admitted at all; any other: only
// when an entry names the host exactly or is that address.
std::optional<std::string> refused_address(std::string_view host, const sockaddr *address,
                                           const std::vector<std::string> &allowed);

} // namespace tr
