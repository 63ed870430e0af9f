"""The checked entry point for outbound requests, resolvers/outbound.py.

No test here sends traffic to a non-loopback address: name resolution is a stub, and the one real
request goes to a server on 127.0.0.1.
"""

import ast
import asyncio
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.settings import Settings
from resolvers import outbound
from resolvers.outbound import OutboundRejected, check_url, fetch, parse_ipv4_literal, rejection_reason

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("app", "schema", "resolvers", "db")
CLIENT_MODULES = ("httpx", "urllib.request", "aiohttp", "requests", "http.client", "urllib3")
SOCKET_CALLS = ("create_connection", "open_connection", "connect")


def stub_resolver(answers: dict[str, list[str]]) -> outbound.Resolver:
    """Return a resolver that returns the addresses listed in `answers` and records each requested name."""

    async def resolve(host: str, port: int) -> list[str]:
        resolve.requests.append(host)
        if host not in answers:
            raise OSError(f"stub has no answer for {host}")
        return answers[host]

    resolve.requests = []
    return resolve


def check(url: str, answers: dict[str, list[str]] | None = None, allow_private: bool = False) -> outbound.CheckedTarget:
    return asyncio.run(check_url(url, allow_private=allow_private, resolver=stub_resolver(answers or {})))


# ---------------------------------------------------------------- address classification

REJECTED_ADDRESSES = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "169.254.1.1",
    "169.254.169.254",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]

ALLOWED_ADDRESSES = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REJECTED_ADDRESSES)
def test_non_global_address_rejected(address: str) -> None:
    assert rejection_reason(ipaddress.ip_address(address), allow_private=False) is not None


@pytest.mark.parametrize("address", ALLOWED_ADDRESSES)
def test_global_address_allowed(address: str) -> None:
    assert rejection_reason(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "169.254.170.2"])
def test_metadata_rejected_even_when_private_allowed(address: str) -> None:
    reason = rejection_reason(ipaddress.ip_address(address), allow_private=True)

    assert reason is not None
    assert "metadata" in reason


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::1", "::ffff:192.168.0.1"])
def test_private_allowed_by_setting(address: str) -> None:
    assert rejection_reason(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize(
    "literal,expected",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("3232235521", "192.168.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
    ],
)
def test_ipv4_forms_parsed(literal: str, expected: str) -> None:
    assert parse_ipv4_literal(literal) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize("host", ["example.com", "256.0.0.1", "1.2.3.4.5", "4294967296", "08.0.0.1", "1..2", "+1.2.3.4"])
def test_non_ipv4_forms_not_parsed(host: str) -> None:
    assert parse_ipv4_literal(host) is None


# ---------------------------------------------------------------- URL checks with a stub resolver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1:8080/path",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://Metadata.Google.Internal./",
        "http://0177.0.0.1/",
        "ftp://api.example.com/",
        "file:///etc/passwd",
    ],
)
def test_literal_and_metadata_urls_rejected(url: str) -> None:
    resolver = stub_resolver({})

    with pytest.raises(OutboundRejected):
        asyncio.run(check_url(url, allow_private=False, resolver=resolver))

    assert resolver.requests == []


@pytest.mark.parametrize("url", ["https://user:hunter2@api.example.com/", "https://user@api.example.com/"])
def test_userinfo_rejected(url: str) -> None:
    resolver = stub_resolver({"api.example.com": ["93.184.215.14"]})

    with pytest.raises(OutboundRejected, match="user name or password") as raised:
        asyncio.run(check_url(url, allow_private=False, resolver=resolver))

    assert "hunter2" not in str(raised.value)
    assert resolver.requests == []


def test_name_resolving_to_private_rejected() -> None:
    with pytest.raises(OutboundRejected, match="10.0.0.7 is a private address"):
        check("https://internal.example.com/", {"internal.example.com": ["10.0.0.7"]})


def test_any_private_answer_rejects_name() -> None:
    with pytest.raises(OutboundRejected, match="127.0.0.1"):
        check("https://mixed.example.com/", {"mixed.example.com": ["93.184.215.14", "127.0.0.1"]})


def test_name_resolving_to_mapped_loopback_rejected() -> None:
    with pytest.raises(OutboundRejected, match="127.0.0.1 is a loopback address"):
        check("https://mapped.example.com/", {"mapped.example.com": ["::ffff:127.0.0.1"]})


def test_public_name_pinned_to_checked_address() -> None:
    target = check("https://api.example.com:8443/v1", {"api.example.com": ["93.184.215.14", "93.184.215.15"]})

    assert target.address == ipaddress.ip_address("93.184.215.14")
    assert target.host == "api.example.com"
    assert target.port == 8443


def test_unresolvable_name_rejected() -> None:
    with pytest.raises(OutboundRejected, match="could not be resolved"):
        check("https://nowhere.example.com/")


def test_private_name_allowed_by_setting() -> None:
    target = check("http://db.internal/", {"db.internal": ["10.0.0.7"]}, allow_private=True)

    assert target.address == ipaddress.ip_address("10.0.0.7")


def test_allow_private_setting_defaults_off() -> None:
    assert Settings(_env_file=None).outbound_allow_private is False
    assert Settings(outbound_allow_private="true").outbound_allow_private is True


# ---------------------------------------------------------------- one real request on loopback


class RecordingHandler(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        RecordingHandler.received.append({"path": self.path, "host": self.headers["Host"]})
        body = b"pong"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def loopback_server() -> Iterator[int]:
    RecordingHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_fetch_loopback_when_allowed(loopback_server: int) -> None:
    # service.test exists only in the stub, so the request can reach the server only if fetch
    # connects to the address it checked instead of resolving the name again (as httpx would).
    resolver = stub_resolver({"service.test": ["127.0.0.1"]})

    response = asyncio.run(fetch("GET", f"http://service.test:{loopback_server}/ping", allow_private=True, resolver=resolver))

    assert response.status_code == 200
    assert response.text == "pong"
    assert resolver.requests == ["service.test"]
    assert RecordingHandler.received == [{"path": "/ping", "host": f"service.test:{loopback_server}"}]


def test_fetch_loopback_rejected_by_default(loopback_server: int) -> None:
    with pytest.raises(OutboundRejected, match="loopback"):
        asyncio.run(fetch("GET", f"http://127.0.0.1:{loopback_server}/ping", allow_private=False))

    assert RecordingHandler.received == []


# ---------------------------------------------------------------- no other way out


def outbound_uses(path: Path) -> list[str]:
    """Return the HTTP client imports and raw socket connections in one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith(CLIENT_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(CLIENT_MODULES):
                found.append(node.module)
            elif node.module in ("socket", "asyncio"):
                found += [f"{node.module}.{alias.name}" for alias in node.names if alias.name in SOCKET_CALLS]
            elif node.module == "urllib":
                found += [f"urllib.{alias.name}" for alias in node.names if alias.name == "request"]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("socket", "asyncio") and node.attr in SOCKET_CALLS:
                found.append(f"{node.value.id}.{node.attr}")
    return found


def test_only_outbound_module_makes_requests() -> None:
    offenders = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "resolvers" / "outbound.py":
                continue
            uses = outbound_uses(path)
            if uses:
                offenders[str(path.relative_to(ROOT))] = uses

    assert offenders == {}, "send outbound requests through resolvers.outbound.fetch"


def test_import_scan_finds_clients(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import httpx\nfrom urllib.request import urlopen\nimport socket\nsocket.create_connection(('h', 1))\n")

    assert outbound_uses(sample) == ["httpx", "urllib.request", "socket.create_connection"]
