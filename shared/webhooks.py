"""Webhooks: where a finished job's JSON may be POSTed, and how it gets there.

Where (:class:`WebhookPolicy`): a ``callback_url`` is an address the service connects to on a user's
behalf, so it is checked like one (server-side request forgery). Every address the host name resolves
to must be acceptable, and the request then goes to the checked address itself (:class:`WebhookTarget`:
connect to the IP, send the name in ``Host`` and as TLS SNI), so a DNS answer that changes between the
check and the connection (rebinding) cannot move it. Always refused: link-local (``169.254.0.0/16``,
``fe80::/10``, where cloud metadata lives), the known metadata addresses, unspecified, multicast,
broadcast and reserved addresses, and the service's own endpoints (Redis, the inference services, the
gateway: host *and* port). Refused unless ``webhook_allow_private`` is on (development, the end-to-end
tests' loopback receiver): loopback, private and every other non-global range, and this machine's own
addresses. The gateway checks at submit time (422 ``callback_url_refused``); the sender checks again
before every attempt. Redirects are never followed and proxies from the environment are ignored.

How (:class:`WebhookSender`): :func:`shared.jobs.finalize` only puts the job in the outbox (a Redis
sorted set scored by when the next attempt is due). Each preprocess worker runs one sender thread
beside its jobs: it claims a due job with a lease (so a sender that dies mid-attempt hands it on),
POSTs with a bounded timeout, and on failure reschedules with exponential backoff until ``attempts``
are spent. The record's ``webhook`` field says ``pending``, ``delivered``, ``failed`` or ``refused``.
A slow or silent receiver therefore holds only that thread, never a job or a ``GET``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from shared.errors import CallbackRefused
from shared.jobs import WEBHOOK_OUTBOX_KEY, JobStore, to_job

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: cloud metadata endpoints outside the link-local range (AWS IPv6, Alibaba); refused like 169.254.169.254
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection (the system resolver, as httpx would use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class WebhookTarget:
    """A checked ``callback_url``: the address to connect to and the name to present."""

    url: str
    scheme: str
    host: str
    port: int
    #: the checked IP the request connects to
    address: str
    #: path and query, sent as given
    target: str

    @property
    def connect_url(self) -> str:
        """The URL with the host replaced by the checked address (what httpx connects to)."""
        ip = ipaddress.ip_address(self.address)
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{self.scheme}://{host}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        default = _DEFAULT_PORTS[self.scheme]
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def _unmapped(ip: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` is 127.0.0.1: judge the IPv4 address an IPv4-mapped one stands for."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True)
class WebhookPolicy:
    """Which webhook targets this service accepts (see the module docstring for the rules)."""

    allow_private: bool = False
    #: (ip, port) pairs of the service's own endpoints: refused even when private targets are allowed
    own_endpoints: frozenset[tuple[str, int]] = frozenset()
    #: this machine's own addresses: refused at every port unless private targets are allowed
    own_addresses: frozenset[str] = frozenset()
    resolve: Callable[[str, int], list[str]] = field(default=resolve_host, compare=False)

    @classmethod
    def from_urls(
        cls,
        urls: Iterable[str],
        *,
        allow_private: bool,
        resolve: Callable[[str, int], list[str]] = resolve_host,
    ) -> WebhookPolicy:
        """A policy refusing the endpoints in ``urls`` (``redis://``, ``http://``: the service's own).

        A name among them that does not resolve here is skipped: nothing can connect to it either.
        """
        endpoints: set[tuple[str, int]] = set()
        for url in urls:
            parts = urlsplit(url)
            if not parts.hostname:
                continue
            port = parts.port or {"redis": 6379, "rediss": 6379, **_DEFAULT_PORTS}.get(parts.scheme, 0)
            try:
                addresses = resolve(parts.hostname, port)
            except OSError:
                continue
            endpoints.update((str(_unmapped(ipaddress.ip_address(a))), port) for a in addresses)
        own: set[str] = set()
        try:
            own.update(resolve(socket.gethostname(), 0))
        except OSError:
            pass
        return cls(
            allow_private=allow_private,
            own_endpoints=frozenset(endpoints),
            own_addresses=frozenset(str(_unmapped(ipaddress.ip_address(a))) for a in own),
            resolve=resolve,
        )

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why this address may not be a webhook target, or None when it may."""
        ip = _unmapped(ip)
        if (str(ip), port) in self.own_endpoints:
            return "it is one of this service's own endpoints"
        if ip.is_unspecified:
            return "it is the unspecified address"
        if ip.is_multicast:
            return "it is a multicast address"
        if ip.is_link_local or ip in METADATA_ADDRESSES:
            return "it is a link-local or cloud metadata address"
        if ip.is_reserved or ip == ipaddress.IPv4Address("255.255.255.255"):
            return "it is a reserved address"
        if self.allow_private:
            return None
        if ip.is_loopback:
            return "it is a loopback address"
        if str(ip) in self.own_addresses:
            return "it is an address of this machine"
        if not ip.is_global:
            return "it is a private address"
        return None

    def check(self, url: str) -> WebhookTarget:
        """Resolve ``url``'s host once and return the target to connect to.

        Raises:
            CallbackRefused: not http(s), credentials in the URL, a host that does not resolve, or any
                address it resolves to is refused (one bad answer is enough: the resolver could pick it).
        """
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise CallbackRefused("callback_url must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise CallbackRefused("callback_url must not carry credentials (user:password@)")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise CallbackRefused("callback_url has an invalid port") from None
        host = parts.hostname
        try:
            addresses = self.resolve(host, port)
        except OSError:
            addresses = []
        if not addresses:
            raise CallbackRefused(f"callback_url: the host {host!r} does not resolve")
        for address in addresses:
            reason = self.refusal(ipaddress.ip_address(address.split("%")[0]), port)
            if reason:
                raise CallbackRefused(f"callback_url: {host} is refused as a webhook target ({reason})")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return WebhookTarget(url=url, scheme=parts.scheme, host=host, port=port, address=addresses[0],
                             target=target)


@dataclass(frozen=True)
class DeliveryResult:
    """One webhook attempt: whether a 2xx came back, and what to log otherwise."""

    delivered: bool
    detail: str


def post_once(target: WebhookTarget, body: bytes, job_id: str, *, timeout: float) -> DeliveryResult:
    """POST ``body`` to the checked address of ``target``; no redirects, no proxies, one bounded try."""
    headers = {
        "host": target.host_header,
        "content-type": "application/json",
        "x-deepfake-job-id": job_id,
        "user-agent": "deepfake-detect",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        # trust_env=False: an HTTP(S)_PROXY from the environment would connect elsewhere than the
        # address just checked
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(target.connect_url, content=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        return DeliveryResult(False, f"{type(exc).__name__}: {exc}")
    if response.is_success:
        return DeliveryResult(True, str(response.status_code))
    return DeliveryResult(False, f"answered {response.status_code}")


# A claim moves the job's due time forward by the lease in the same step, so two senders never
# attempt the same webhook at once, and one that dies mid-attempt lets another retry after the lease.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ids[1])
return ids[1]
"""


class WebhookSender:
    """Delivers the outbox's webhooks, one attempt at a time (one per worker process, in a thread).

    Args:
        redis: the queue's Redis.
        policy: the targets allowed (checked again before every attempt).
        timeout: seconds one attempt may take (connect, send, answer).
        attempts: attempts per webhook before it is given up as ``failed``.
        backoff: seconds before the second attempt; doubled for each further one (at most 5 min).
    """

    def __init__(self, redis: Redis, policy: WebhookPolicy, *, timeout: float, attempts: int,
                 backoff: float = 1.0) -> None:
        self.redis = redis
        self.store = JobStore(redis)
        self.policy = policy
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._claim = redis.register_script(_CLAIM)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> str | None:
        """Make one attempt on the next due webhook. Returns its job id, or None when none is due."""
        now = time.time()
        claimed = self._claim(keys=[WEBHOOK_OUTBOX_KEY], args=[now, now + self.timeout + 30])
        if not claimed:
            return None
        job_id = claimed.decode() if isinstance(claimed, bytes) else str(claimed)
        record = self.store.raw(job_id)
        if record is None or not record.get("callback_url"):
            self.redis.zrem(WEBHOOK_OUTBOX_KEY, job_id)  # the job expired or was deleted meanwhile
            return job_id
        counted = self.store.increment(job_id, "webhook_attempts")
        if counted is None:
            self.redis.zrem(WEBHOOK_OUTBOX_KEY, job_id)  # deleted just now
            return job_id
        attempt = counted
        try:
            target = self.policy.check(record["callback_url"])
        except CallbackRefused as exc:
            log.warning("webhook for job %s refused at delivery: %s", job_id, exc.message)
            self._end(job_id, "refused")
            return job_id
        body = to_job(record).model_dump_json().encode()
        result = post_once(target, body, job_id, timeout=self.timeout)
        if result.delivered:
            self._end(job_id, "delivered")
        elif attempt >= self.attempts:
            log.warning("webhook for job %s to %s failed (%s); gave up after %d attempts",
                        job_id, target.host, result.detail, attempt)
            self._end(job_id, "failed")
        else:
            delay = min(self.backoff * 2 ** (attempt - 1), 300.0)
            log.info("webhook for job %s to %s failed (%s); attempt %d of %d in %.0f s",
                     job_id, target.host, result.detail, attempt + 1, self.attempts, delay)
            self.redis.zadd(WEBHOOK_OUTBOX_KEY, {job_id: time.time() + delay})
        return job_id

    def _end(self, job_id: str, outcome: str) -> None:
        self.redis.zrem(WEBHOOK_OUTBOX_KEY, job_id)
        self.store.write(job_id, {"webhook": outcome})  # nothing if the job is gone

    def run(self, poll: float = 0.5) -> None:
        """Deliver until :meth:`stop`; waits ``poll`` seconds whenever nothing is due."""
        while not self._stop.is_set():
            try:
                busy = self.run_once() is not None
            except Exception as exc:  # Redis restarting, a bug in one record: never kill the thread
                log.warning("webhook sender: %s", exc)
                busy = False
            if not busy:
                self._stop.wait(poll)

    def start(self) -> WebhookSender:
        """Run :meth:`run` in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="webhook-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
