"""Fetch pages and feeds from the web, safely (``extract`` reads what comes back).

A URL given to the service is untrusted, and so is every page it leads to:

* only ``http`` and ``https``; redirects followed by hand, at most ``QA_FETCH_MAX_REDIRECTS``;
* every connection (each redirect hop included) is checked where it is made, on the address
  actually connected to: loopback, private, link-local, shared, reserved and multicast addresses
  are refused unless ``QA_FETCH_ALLOW_PRIVATE=true`` (server-side request forgery). Checking at
  connect time, not before the request, also defeats DNS answers that change in between;
* no proxy from the environment (a proxy would be the one address checked);
* a timeout on each connect and read, and one on the whole download (a page that trickles);
* at most ``QA_FETCH_MAX_BYTES`` (after decompression, so a gzip bomb stops there too);
* a User-Agent that names the service, so publishers can see who fetches and why.

The text fetched is data like any document: the prompt-injection rules of answers and summaries
apply to it unchanged.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .. import __version__
from ..config import Settings

USER_AGENT = f"qa-service/{__version__} (news question answering; fetches articles and feeds)"

ErrorCode = Literal[
    "bad-url", "refused", "timeout", "too-large", "http-error", "not-html", "no-text",
    "redirects", "network", "not-a-feed",
]  # fmt: skip

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
FEED_ACCEPT = (
    "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.2"
)


class FetchError(Exception):
    """A URL that could not be fetched or read; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: ErrorCode, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        #: From a 429/503 ``Retry-After`` (seconds): when the server asked to be tried again.
        self.retry_after_s = retry_after_s


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (a seam: the fuzz test stubs it so no name leaves the machine)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for every address that is not a public unicast one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_unspecified


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, refusing addresses that are not public at connect time.

    ``allowed`` lists (address, port) pairs let through all the same: tests use it to stand a
    "public" server on 127.0.0.1 next to a private one.
    """

    def __init__(
        self, allow_private: bool, allowed: frozenset[tuple[str, int]] = frozenset()
    ) -> None:
        self.allow_private = allow_private
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = resolve(host, port)
        except OSError as e:
            raise FetchError("network", f"cannot resolve {host}: {e.strerror or e}") from e
        addresses = list(dict.fromkeys(ipaddress.ip_address(a.split("%")[0]) for a in found))
        if not self.allow_private:
            for ip in addresses:
                if refused_address(ip) and (str(ip), port) not in self.allowed:
                    raise FetchError(
                        "refused",
                        f"refused: {host} is at {ip}, a loopback, private or reserved address "
                        "(set QA_FETCH_ALLOW_PRIVATE=true to allow)",
                    )
        error: Exception | None = None
        for ip in addresses:  # connect to the address checked, never resolve again
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as e:
                error = e
        raise error or FetchError("network", f"no address for {host}")


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    """The final URL, after redirects."""
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class Fetcher:
    """One HTTP client for the process (thread-safe; connections are reused)."""

    def __init__(
        self, settings: Settings, *, allowed: frozenset[tuple[str, int]] = frozenset()
    ) -> None:
        self.timeout_s = settings.fetch_timeout_s
        self.max_bytes = settings.fetch_max_bytes
        self.max_redirects = settings.fetch_max_redirects
        transport = httpx.HTTPTransport(trust_env=False)
        # httpx has no public hook for the socket layer: its pool is rebuilt with the guard.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(settings.fetch_allow_private, allowed),
        )
        self.client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, *, accept: str, headers: dict[str, str] | None = None) -> Fetched:
        """GET ``url``, following redirects; 304 comes back (conditional GET), other 4xx/5xx,
        refusals, timeouts and oversized bodies raise ``FetchError``."""
        deadline = time.monotonic() + self.timeout_s
        for _ in range(self.max_redirects + 1):
            scheme = urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError("bad-url", f"only http and https URLs are fetched, not {url!r}")
            try:
                result = self._once(url, {"Accept": accept, **(headers or {})}, deadline)
            except httpx.TimeoutException as e:
                raise FetchError("timeout", f"timeout after {self.timeout_s:g} s") from e
            except httpx.InvalidURL as e:
                raise FetchError("bad-url", f"invalid URL: {e}") from e
            except httpx.HTTPError as e:
                raise FetchError("network", f"connection failed: {e}") from e
            if isinstance(result, Fetched):
                return result
            url = result
        raise FetchError("redirects", f"more than {self.max_redirects} redirects")

    def _once(self, url: str, headers: dict[str, str], deadline: float) -> Fetched | str:
        """One request: the response, or the URL a redirect points to."""
        with self.client.stream("GET", url, headers=headers) as r:
            location: str | None = r.headers.get("location")
            if r.status_code in (301, 302, 303, 307, 308) and location:
                return urljoin(url, location)
            if r.status_code >= 400:
                raise FetchError(
                    "http-error",
                    f"HTTP {r.status_code} {r.reason_phrase}".strip(),
                    retry_after_s=_retry_after(r.headers.get("retry-after")),
                )
            length = r.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise FetchError("too-large", f"too large: {int(length):,} bytes, the limit is "
                                 f"{self.max_bytes:,} (QA_FETCH_MAX_BYTES)")  # fmt: skip
            body = bytearray()
            for part in r.iter_bytes():
                body += part
                if len(body) > self.max_bytes:
                    raise FetchError(
                        "too-large",
                        f"too large: over {self.max_bytes:,} bytes (QA_FETCH_MAX_BYTES)",
                    )
                if time.monotonic() > deadline:
                    raise FetchError("timeout", f"timeout after {self.timeout_s:g} s")
            return Fetched(str(r.url), r.status_code, r.headers, bytes(body))
