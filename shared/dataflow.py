"""Named products between kinds of evidence: who makes what, who needs what, and one runner that orders them.

A **product** is something one step finds in a file and any later step may use: the decoded still
``image``, the ``face_tracks`` of a video (faces found, followed and cropped), its ``waveform_16k``, the
``speech_activity`` in it, the ``container_tags``. A **provider** (:class:`Provider`) makes products from
other products; a kind of evidence (:mod:`shared.evidence`) declares the products it ``needs``. The
runner (:func:`run_steps`) makes only the products that the kinds of evidence analysing this file need,
each once, and runs every step as soon as what it needs is there, independent steps side by side in
threads (decoding, OpenVINO and file reads release the GIL): the voice model scores speech while frames
are decoded and faces found.

The graph is checked once (:func:`check_graph`, at registration and at start-up): a need that no
provider makes, two providers of one product, or a cycle is an error then, never in the middle of a job.

Products are named dataclasses (``shared.products``), never positional tuples. A product a file cannot
have (``image`` for a video) is simply absent: a step that asks for it gets ``None``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from shared.analysis import AnalyzeOptions, ProgressFn, RunContext, no_progress
from shared.errors import ConfigurationError
from shared.media.probe import MediaSource
from shared.modelcard import VideoPreprocessing


@dataclass
class ProductContext:
    """What a provider gets besides its inputs: the file, the options, and how the model that consumes
    the faces wants them cut (its card's input size and margin; the defaults without a model)."""

    source: MediaSource
    options: AnalyzeOptions
    face_crop: VideoPreprocessing = field(default_factory=VideoPreprocessing)


@dataclass(frozen=True)
class Provider:
    """A step that makes named products.

    Args:
        name: the step's name (for errors and timings).
        provides: the products it makes; ``make`` returns a dict with exactly these keys.
        needs: the products it uses (absent ones arrive as ``None``).
        media_kinds: the kinds of file it applies to; for others its products are absent.
        make: ``make(inputs, context, run) -> {product: value}``.
    """

    name: str
    provides: tuple[str, ...]
    needs: tuple[str, ...]
    media_kinds: frozenset[str]
    make: Callable[[dict[str, Any], ProductContext, RunContext], dict[str, Any]]


_PROVIDERS: dict[str, Provider] = {}  # product name -> the provider that makes it
#: the module that registers the built-in products
_BUILTIN = "shared.products"
_LOCK = threading.Lock()


def register_provider(provider: Provider) -> Provider:
    """Add a provider; a product made by two providers is an error."""
    with _LOCK:
        for product in provider.provides:
            other = _PROVIDERS.get(product)
            if other is not None and other is not provider and other.name != provider.name:
                raise ConfigurationError(
                    f"product {product!r} is made by two steps: {other.name!r} and {provider.name!r}"
                )
        for product in provider.provides:
            _PROVIDERS[product] = provider
    return provider


def providers() -> dict[str, Provider]:
    """Product name -> its provider (the built-in ones loaded)."""
    importlib.import_module(_BUILTIN)  # registers the built-in providers (named, not imported: no cycle)

    return dict(_PROVIDERS)


def check_graph(consumers: Iterable[tuple[str, Iterable[str]]]) -> None:
    """Every need of every provider and of every ``(consumer name, needs)`` is made by some provider,
    and no product depends on itself.

    Raises:
        ConfigurationError: a missing product or a cycle (named).
    """
    table = providers()
    for name, needs in [(p.name, p.needs) for p in table.values()] + [(n, tuple(d)) for n, d in consumers]:
        for need in needs:
            if need not in table:
                known = ", ".join(sorted(table))
                raise ConfigurationError(f"{name!r} needs the product {need!r}, which no step makes (known: {known})")
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(product: str, path: list[str]) -> None:
        if state.get(product) == 2:
            return
        if state.get(product) == 1:
            cycle = " -> ".join(path[path.index(product) :] + [product])
            raise ConfigurationError(f"products depend on themselves: {cycle}")
        state[product] = 1
        for need in table[product].needs:
            visit(need, path + [product])
        state[product] = 2

    for product in table:
        visit(product, [])


def plan(needs: Iterable[str], kind: str) -> list[Provider]:
    """The providers to run for ``needs`` on a file of ``kind``, each once, every one after its inputs."""
    table = providers()
    order: list[Provider] = []
    seen: set[str] = set()

    def visit(product: str) -> None:
        provider = table.get(product)
        if provider is None:
            raise ConfigurationError(f"no step makes the product {product!r}")
        if provider.name in seen or kind not in provider.media_kinds:
            return
        seen.add(provider.name)
        for need in provider.needs:
            visit(need)
        order.append(provider)

    for product in needs:
        visit(product)
    return order


@dataclass
class Consumer:
    """A step at the end of the graph (a kind of evidence): what it needs, and what it does with it."""

    name: str
    needs: tuple[str, ...]
    run: Callable[[dict[str, Any], RunContext], Any]


@dataclass
class StepRecord:
    """A finished step's own clock and notes, merged in plan order so reports never depend on which of
    two concurrent steps finished first."""

    name: str
    run: RunContext


@dataclass
class Outcome:
    """What :func:`run_steps` made: every product, each consumer's result, and the steps' records."""

    products: dict[str, Any]
    results: dict[str, Any]
    records: list[StepRecord]


def run_steps(
    context: ProductContext,
    consumers: list[Consumer],
    *,
    progress: ProgressFn | None = None,
    extra_products: Iterable[str] = (),
) -> Outcome:
    """Make the products the consumers need, then run the consumers, each step once its inputs exist.

    Steps run side by side in threads, each waiting for its own inputs. A step whose input failed fails
    with that error; the first error in plan order is raised once every step has ended.
    """
    progress = progress or no_progress
    kind = context.source.facts.kind
    wanted = [n for c in consumers for n in c.needs] + list(extra_products)
    steps = plan(wanted, kind)
    products: dict[str, Any] = {}
    results: dict[str, Any] = {}
    runs: dict[str, RunContext] = {}
    futures: dict[str, Future[Any]] = {}
    provider_of = {p: s for s in steps for p in s.provides}

    def inputs(needs: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for need in needs:
            step = provider_of.get(need)
            if step is not None:
                futures[step.name].result()  # raises that step's error
            out[need] = products.get(need)
        return out

    def make(step: Provider) -> None:
        run = runs[step.name]
        made = step.make(inputs(step.needs), context, run)
        if set(made) != set(step.provides):
            raise ConfigurationError(f"step {step.name!r} made {sorted(made)}, not {sorted(step.provides)}")
        products.update(made)

    def consume(consumer: Consumer) -> None:
        results[consumer.name] = consumer.run(inputs(consumer.needs), runs[consumer.name])

    names = [s.name for s in steps] + [c.name for c in consumers]
    for name in names:
        runs[name] = RunContext(options=context.options, progress=progress)
    # One thread per step: a step blocks only on its own inputs, so the pool never deadlocks.
    with ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="step") as pool:
        for step in steps:
            futures[step.name] = pool.submit(make, step)
        for consumer in consumers:
            futures[consumer.name] = pool.submit(consume, consumer)
        wait(list(futures.values()))
    for name in names:  # in plan order: the first error is the one raised
        futures[name].result()
    return Outcome(products=products, results=results, records=[StepRecord(n, runs[n]) for n in names])
