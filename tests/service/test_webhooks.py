"""Webhooks: which targets are refused (SSRF), the pinned connection, and delivery from the outbox.

Real loopback receivers (``receiver`` in conftest.py) and the real Redis on 127.0.0.1:6379 (``redis_db``).
The policy's resolver is the system's unless a test gives names it cannot resolve (``*.example``):
such a name can only be reached through the address the policy checked, which is what pinning means.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shared.errors import CallbackRefused
from shared.jobs import WEBHOOK_OUTBOX_KEY, JobStore, finalize, schedule_webhook
from shared.webhooks import WebhookPolicy, WebhookSender


def finished_job(store: JobStore, tmp_path: Path, callback_url: str, job_id: str = "job-1") -> str:
    """A job record that ended (done), with a callback, as the worker leaves it before finalize."""
    upload = tmp_path / "uploads" / job_id / "a.png"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"\x89PNG")
    store.create(job_id, filename="a.png", upload_path=upload, callback_url=callback_url, delete_upload=True,
                 artifacts_dir=None, result_ttl=600, failure_ttl=600, pending_ttl=600)
    store.fail(job_id, "corrupt_media", "the file is damaged")
    return job_id


def drain(sender: WebhookSender, redis, rounds: int = 200) -> None:
    """Run the sender until the outbox is empty (each round waits a little for backoffs to come due)."""
    for _ in range(rounds):
        if not redis.zcard(WEBHOOK_OUTBOX_KEY):
            return
        if sender.run_once() is None:
            time.sleep(0.02)
    raise AssertionError("the outbox did not empty")


# --- the policy ------------------------------------------------------------------------------------
DEFAULT = WebhookPolicy(allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://[fd00:ec2::254]/latest/",  # AWS metadata over IPv6
        "http://127.0.0.1:6379/",  # Redis
        "http://localhost:8001/v1/infer",  # an inference service, by name
        "http://127.1/",  # short-form loopback
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f.0.0.1/",  # and in hexadecimal
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://10.1.2.3/hook",
        "http://172.16.5.4/hook",
        "http://192.168.0.10/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://[fc00::1]/hook",  # unique local
        "http://0.0.0.0:8000/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[fe80::1]/",
    ],
)
def test_non_public_targets_are_refused_by_default(url: str) -> None:
    with pytest.raises(CallbackRefused) as caught:
        DEFAULT.check(url)
    assert caught.value.status == 422 and caught.value.code == "callback_url_refused"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://93.184.216.34/x", "http"),
        ("http://user:secret@93.184.216.34/x", "credentials"),
        ("http:///nohost", "http"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
        ("http://93.184.216.34:99999/", "port"),
    ],
)
def test_malformed_or_unresolvable_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(CallbackRefused, match=why):
        DEFAULT.check(url)


def test_a_public_address_is_accepted_and_pinned() -> None:
    target = DEFAULT.check("http://93.184.216.34/hooks/deepfake?team=7")
    assert (target.address, target.port, target.target) == ("93.184.216.34", 80, "/hooks/deepfake?team=7")
    v6 = DEFAULT.check("https://[2606:2800:220:1:248:1893:25c8:1946]:8443/x")
    assert v6.connect_url == "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/x"


def test_one_refused_answer_among_several_refuses_the_name() -> None:
    """A resolver may return several addresses and the client could use any: all must be acceptable."""
    policy = WebhookPolicy(resolve=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(CallbackRefused, match="loopback"):
        policy.check("http://mixed.example/hook")
    named = WebhookPolicy(resolve=lambda host, port: ["93.184.216.34"]).check("https://hooks.example/h")
    assert named.address == "93.184.216.34" and named.host_header == "hooks.example"


def test_allow_private_still_refuses_the_services_own_ports_and_metadata() -> None:
    policy = WebhookPolicy.from_urls(
        ["redis://127.0.0.1:6379/0", "http://localhost:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8000"],
        allow_private=True,
    )
    assert policy.check("http://127.0.0.1:9999/hook").address == "127.0.0.1"
    assert policy.check("http://10.0.0.5/hook").address == "10.0.0.5"
    for url in ("http://127.0.0.1:6379/", "http://localhost:8001/v1/infer", "http://[::ffff:127.0.0.1]:8002/",
                "http://127.0.0.1:8000/v1/analyze", "http://169.254.169.254/latest/", "http://0.0.0.0:9999/"):
        with pytest.raises(CallbackRefused):
            policy.check(url)


# --- delivery --------------------------------------------------------------------------------------
def test_delivery_connects_to_the_checked_address_and_sends_the_name_as_host(redis_db, receiver, tmp_path) -> None:
    rec = receiver()
    # hooks.example does not resolve on this machine: the POST can only arrive through the pinned address
    policy = WebhookPolicy(allow_private=True, resolve=lambda host, port: ["127.0.0.1"])
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, f"http://hooks.example:{rec.port}/hook?x=1")
    finalize(store, job_id)
    drain(WebhookSender(redis_db, policy, timeout=5, attempts=3), redis_db)

    assert len(rec.requests) == 1
    hook = rec.requests[0]
    assert hook["path"] == "/hook?x=1" and hook["headers"]["host"] == f"hooks.example:{rec.port}"
    assert hook["headers"]["x-deepfake-job-id"] == job_id
    assert hook["body"]["id"] == job_id and hook["body"]["status"] == "failed"
    assert hook["body"]["error"]["code"] == "corrupt_media"
    assert store.raw(job_id)["webhook"] == "delivered"


def test_a_name_that_rebinds_to_a_refused_address_is_checked_again_at_delivery(redis_db, receiver, tmp_path) -> None:
    rec = receiver()
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when submitted, loopback when delivered
    policy = WebhookPolicy(allow_private=False, resolve=lambda host, port: next(answers))
    url = f"http://rebind.example:{rec.port}/hook"
    policy.check(url)  # what the gateway did at submit time
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, url)
    finalize(store, job_id)
    drain(WebhookSender(redis_db, policy, timeout=5, attempts=3), redis_db)
    assert rec.connections == 0 and store.raw(job_id)["webhook"] == "refused"


def test_redirects_are_not_followed_and_count_as_a_failed_attempt(redis_db, receiver, tmp_path) -> None:
    elsewhere = receiver()
    redirector = receiver(status=302, location=elsewhere.url)
    policy = WebhookPolicy(allow_private=True)
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, redirector.url)
    finalize(store, job_id)
    drain(WebhookSender(redis_db, policy, timeout=5, attempts=2, backoff=0.01), redis_db)
    assert len(redirector.requests) == 2 and elsewhere.connections == 0
    assert store.raw(job_id)["webhook"] == "failed"


def test_failing_receivers_get_a_bounded_number_of_attempts(redis_db, receiver, tmp_path) -> None:
    rec = receiver(status=500)
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, rec.url)
    finalize(store, job_id)
    drain(WebhookSender(redis_db, WebhookPolicy(allow_private=True), timeout=5, attempts=3, backoff=0.01), redis_db)
    record = store.raw(job_id)
    assert len(rec.requests) == 3 and record["webhook"] == "failed" and record["webhook_attempts"] == "3"


def test_a_silent_receiver_costs_one_bounded_attempt_then_is_rescheduled(redis_db, receiver, tmp_path) -> None:
    rec = receiver(hang=threading.Event())
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, rec.url)
    finalize(store, job_id)
    sender = WebhookSender(redis_db, WebhookPolicy(allow_private=True), timeout=0.5, attempts=3, backoff=60)
    assert sender.run_once() == job_id  # returns after its timeout instead of waiting on the receiver
    assert rec.connections == 1 and store.raw(job_id)["webhook"] == "pending"
    due = redis_db.zscore(WEBHOOK_OUTBOX_KEY, job_id)
    assert due is not None and due > time.time() + 30  # next attempt after the backoff
    assert sender.run_once() is None  # nothing else is due


def test_finalize_only_queues_the_webhook_never_posts_inline(redis_db, receiver, tmp_path) -> None:
    """A receiver that never answers must not hold whoever ends the job (a worker, or a GET)."""
    rec = receiver(hang=threading.Event())
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, rec.url)
    finalize(store, job_id)
    assert rec.connections == 0
    assert redis_db.zscore(WEBHOOK_OUTBOX_KEY, job_id) is not None and store.raw(job_id)["webhook"] == "pending"
    assert not (tmp_path / "uploads" / job_id).exists()  # the rest of finalize did happen
    finalize(store, job_id)  # a second process noticing the end changes nothing
    assert redis_db.zcard(WEBHOOK_OUTBOX_KEY) == 1


def test_a_claimed_webhook_is_not_attempted_by_a_second_sender(redis_db, tmp_path) -> None:
    store = JobStore(redis_db)
    job_id = finished_job(store, tmp_path, "http://127.0.0.1:9/hook")
    schedule_webhook(redis_db, job_id)
    first = WebhookSender(redis_db, WebhookPolicy(allow_private=True), timeout=1, attempts=3)
    first._claim(keys=[WEBHOOK_OUTBOX_KEY], args=[time.time(), time.time() + 60])  # first is mid-attempt
    second = WebhookSender(redis_db, WebhookPolicy(allow_private=True), timeout=1, attempts=3)
    assert second.run_once() is None


def test_a_webhook_of_a_job_that_expired_is_dropped(redis_db, tmp_path) -> None:
    job_id = finished_job(JobStore(redis_db), tmp_path, "http://127.0.0.1:9/hook")
    assert schedule_webhook(redis_db, job_id)
    redis_db.delete(f"deepfake:job:{job_id}")  # expired (or deleted) while waiting in the outbox
    sender = WebhookSender(redis_db, WebhookPolicy(allow_private=True), timeout=1, attempts=3)
    assert sender.run_once() == job_id and redis_db.zcard(WEBHOOK_OUTBOX_KEY) == 0
    assert not redis_db.exists(f"deepfake:job:{job_id}")  # and the sender did not bring the record back
    assert not schedule_webhook(redis_db, job_id) and redis_db.zcard(WEBHOOK_OUTBOX_KEY) == 0
