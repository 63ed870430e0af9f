"""The one entry point for HTTP requests to URLs that users supply, such as a connector's baseUrl.

A user-supplied URL must not reach the gateway's own network: loopback, private, link-local,
multicast, reserved and other non-global addresses are rejected, and so are the cloud metadata
services. `fetch` resolves the host once, checks every address it resolves to, and then connects
to the checked address itself, sending the original name in the Host header and as the TLS server
name. A DNS answer that changes between the check and the connection (DNS rebinding) therefore
cannot move the request to another address.

Setting CONNECT_GATEWAY_OUTBOUND_ALLOW_PRIVATE=true allows non-global addresses, for development
and tests against local servers. The metadata services stay rejected even then.

Every other module sends outbound requests through `fetch`. tests/test_outbound.py fails when a
module in app/, schema/, resolvers/ or db/ imports an HTTP client or opens sockets itself.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Return the addresses a host name resolves to, as strings, for a TCP connection to `port`.
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = {"http": 80, "https": 443}
METADATA_HOST_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack and others
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class OutboundRejected(Exception):
    """A URL was rejected before any connection was made; the message names the URL's host and why."""


@dataclass(frozen=True)
class CheckedTarget:
    """A URL whose host resolved to `address`, which passed the checks."""

    url: httpx.URL
    host: str
    port: int
    address: IPAddress


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Parse the IPv4 forms that inet_aton and many URL parsers accept, or return None.

    Besides dotted decimal these are 1 to 4 parts, each decimal, octal (leading 0) or hex (0x),
    where the last part fills the remaining bytes: 2130706433, 0x7f000001, 0177.0.0.1 and 127.1
    all mean 127.0.0.1.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
        if not (part.isascii() and part.isalnum()):
            return None
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for number in leading:
        value = value * 256 + number
    value = value * 256 ** (5 - len(numbers)) + last
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address a URL host names literally (IPv4 in any form, IPv6 with or without brackets), or None for a name."""
    bare = host.strip("[]").split("%")[0]
    try:
        return ipaddress.IPv6Address(bare)
    except ValueError:
        return parse_ipv4_literal(host)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64, 6to4 or Teredo IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64_PREFIX or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def rejection_reason(address: IPAddress, allow_private: bool) -> str | None:
    """Return why `address` may not be connected to, or None when it may."""
    inner = embedded_ipv4(address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        # A mapped address is the IPv4 address itself, and Python 3.11 calls all of ::ffff:0:0/96 private.
        candidates = [address.ipv4_mapped]
    else:
        candidates = [address] if inner is None else [address, inner]

    for candidate in candidates:
        if candidate in METADATA_ADDRESSES:
            return f"{candidate} is a cloud metadata service address"
    if allow_private:
        return None
    for candidate in candidates:
        for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
            if getattr(candidate, f"is_{kind}"):
                return f"{candidate} is a {kind.replace('_', '-')} address"
        if not candidate.is_global:
            return f"{candidate} is not a globally routable address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve `host` with the operating system's resolver."""
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [answer[4][0] for answer in answers]


async def check_url(url: str | httpx.URL, *, allow_private: bool, resolver: Resolver = system_resolver) -> CheckedTarget:
    """Resolve the URL's host and return the address to connect to; raise OutboundRejected if any resolved address is rejected.

    Every address is checked, not only the first, so a name that resolves to a public and a
    private address is rejected as a whole.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise OutboundRejected(f"URL is invalid: {error}.") from error
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise OutboundRejected(f"URL scheme {parsed.scheme!r} is not allowed; use http or https.")
    if parsed.userinfo:
        # The message leaves the URL out, because its user part may hold a password.
        raise OutboundRejected("URL contains a user name or password; send credentials in a header instead.")
    host = parsed.host.rstrip(".").lower()
    if not host:
        raise OutboundRejected("URL has no host.")
    if host in METADATA_HOST_NAMES:
        raise OutboundRejected(f"Host {host} is a cloud metadata service.")
    port = parsed.port or ALLOWED_SCHEMES[parsed.scheme]

    literal = parse_ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = await resolver(host, port)
        except OSError as error:
            raise OutboundRejected(f"Host {host} could not be resolved: {error}.") from error
        addresses = [ipaddress.ip_address(answer.split("%")[0]) for answer in answers]
    if not addresses:
        raise OutboundRejected(f"Host {host} resolved to no address.")

    for address in addresses:
        reason = rejection_reason(address, allow_private)
        if reason is not None:
            raise OutboundRejected(f"Host {host} is rejected: {reason}. Outbound requests go to public addresses only.")
    return CheckedTarget(parsed, host, port, addresses[0])


async def fetch(
    method: str,
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    timeout: float = 10.0,
    **request: Any,
) -> httpx.Response:
    """Send one request to a user-supplied URL after `check_url`, connected to the checked address.

    Redirects are not followed, since the next URL needs its own check: call `fetch` again with
    the Location header. Proxy settings from the environment are ignored, because a proxy would
    resolve the name again. `request` takes httpx's request arguments (headers, content, json).
    """
    target = await check_url(url, allow_private=allow_private, resolver=resolver)
    pinned = target.url.copy_with(host=str(target.address))
    headers = httpx.Headers(request.pop("headers", None))
    default_port = ALLOWED_SCHEMES[target.url.scheme]
    headers["Host"] = target.host if target.port == default_port else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}

    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        outgoing = client.build_request(method, pinned, headers=headers, extensions=extensions, **request)
        return await client.send(outgoing)
