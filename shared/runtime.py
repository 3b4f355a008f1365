"""OpenVINO runtime: export a PyTorch model to IR once, compile it once per process, run batches.

``compile_model`` is the one compile path: every model the product runs (model folders with their
``model.json``, ONNX and TFLite files shipped in packages) is compiled there, with the precision its card
or registry entry names, the thread count, the shared cache folder and the cross-process compile lock.
One ``ov.Core`` per process (``get_core``); compiled models are cached per (model, precision, hint,
threads), so a process never compiles the same model twice. OpenVINO's ``compile_model`` is thread-safe;
infer requests are not shared between threads (each call makes its own, or uses an ``AsyncInferQueue``).

The precision is f32 unless a model's card measures otherwise: OpenVINO's own default is bf16 on CPUs
with AMX (it moved silero-vad's probabilities, issue 23), and on the development CPU (AVX-512 VNNI) the
bf16 hint was measured slower than f32; INT8 IRs are faster still.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from shared.errors import ModelUnavailable
from shared.fsutil import atomic_folder
from shared.modelcard import CARD_FILE, ModelCard
from shared.registry import PackagedModel

IR_XML = "model.xml"
IR_BIN = "model.bin"


#: allocations at least this large get their own mapping, returned to the system when freed
LARGE_ALLOCATION = 1 << 20


@lru_cache(maxsize=1)
def release_large_buffers() -> bool:
    """Make freed frames and tensors go back to the system at once (glibc only; True when set).

    glibc serves a large allocation (a decoded 1080p frame is 6 MB) with its own mapping, but after the
    first such block is freed it raises that threshold to the block's size, so every later frame comes from
    the heap, which fragments and is not given back: on a 10-minute video the face stage kept 820 MB of RSS
    of which 340 MB was freed memory (``malloc_trim`` returned it). A fixed 1 MB threshold keeps every
    frame, crop batch and tensor of that size or more in its own mapping: the same face stage then held
    497 MB. Other C libraries (musl, macOS) return large blocks already; there is nothing to set there.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (no mallopt): large blocks are returned already
        return False
    m_mmap_threshold = -3  # <malloc.h>
    return bool(mallopt(m_mmap_threshold, LARGE_ALLOCATION))


@lru_cache(maxsize=1)
def get_core() -> Any:
    import openvino as ov

    return ov.Core()


def convert_torch(
    model: Any,
    example_input: Any,
    *,
    output_names: list[str] | None = None,
    input_shapes: list[Any] | None = None,
) -> Any:
    """Convert a PyTorch module (in eval mode) to an in-memory ``ov.Model``; see ``export_ir`` for the options."""
    import openvino as ov
    import torch

    with torch.no_grad():
        extra: dict[str, Any] = {"input": [ov.PartialShape(s) for s in input_shapes]} if input_shapes else {}
        ov_model = ov.convert_model(model.eval(), example_input=example_input, **extra)
    if output_names:
        for port, name in zip(ov_model.outputs, output_names, strict=True):
            port.get_tensor().set_names({name})
    return ov_model


def export_ir(
    model: Any,
    example_input: Any,
    out_dir: Path,
    card: ModelCard,
    *,
    output_names: list[str] | None = None,
    input_shapes: list[Any] | None = None,
) -> Path:
    """Convert a PyTorch module to an FP32 OpenVINO IR with its ``model.json`` next to it.

    Writes into a temporary sibling folder first and renames, so ``out_dir`` is never half-written.
    ``input_shapes`` (e.g. ``[[-1, 64600]]``, -1 = dynamic) pins the IR's input shapes; by default
    every dimension is dynamic.
    """
    import openvino as ov

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    ov_model = convert_torch(model, example_input, output_names=output_names, input_shapes=input_shapes)
    with atomic_folder(out_dir) as tmp:
        ov.save_model(ov_model, tmp / IR_XML, compress_to_fp16=False)
        card.save(tmp)
    return out_dir


@dataclass
class CompiledModel:
    """A compiled model. ``infer`` runs one synchronous batch and returns outputs by name.

    Attributes:
        path: what was compiled: a model folder, or a model file shipped in a package.
        precision: the ``INFERENCE_PRECISION_HINT`` it was compiled with (its card's or description's).
        compiled: the ``ov.CompiledModel``.
        handle: the compile, done unless it was started in the background.
    """

    path: Path
    precision: str
    handle: Future[Any]  # the ov.CompiledModel: done, or being compiled (``compiling_in_background``)

    @property
    def compiled(self) -> Any:
        """The ``ov.CompiledModel``, once compiled (waits for a compile still running; raises its error)."""
        return self.handle.result()

    @property
    def output_names(self) -> list[str]:
        return [port.get_any_name() for port in self.compiled.outputs]

    def infer(self, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        request = self.compiled.create_infer_request()  # never shared between threads
        result = request.infer(list(inputs))
        return {port.get_any_name(): np.asarray(result[port]) for port in self.compiled.outputs}


@dataclass
class CompiledIR(CompiledModel):
    """A compiled model folder and its card."""

    card: ModelCard

    @property
    def folder(self) -> Path:
        return self.path


_compile_lock = threading.Lock()
_compiled: dict[tuple[str, str, str, str, int], CompiledModel] = {}
_background = ContextVar("compile_in_background", default=False)
_compiler: ThreadPoolExecutor | None = None


@contextmanager
def compiling_in_background() -> Iterator[None]:
    """Compiles started inside return at once, their model compiled in a thread: the first inference
    waits for it, and raises its error if it failed. ``deepfake analyze`` loads its models this way, so
    decoding and face search begin while the face model (0.8 s from the cache here, the first OpenVINO import included) is still compiling.
    The model folder and its card are still checked before it returns."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def check_model_folder(folder: Path) -> ModelCard:
    folder = Path(folder)
    if not (folder / CARD_FILE).is_file():
        missing = next(n for n in (IR_XML, IR_BIN, CARD_FILE) if not (folder / n).is_file())
        raise ModelUnavailable(f"{folder} is not a model folder: {missing} is missing")
    card = ModelCard.load(folder)
    for name in card.ir_files():  # model.xml/.bin, or one pair per network (MTCNN)
        if not (folder / name).is_file():
            raise ModelUnavailable(f"{folder} is not a model folder: {name} is missing")
    return card


@overload
def compile_model(
    model: Path, *, hint: str = ..., threads: int | None = ..., network: str | None = ..., precision: str | None = ...
) -> CompiledIR: ...


@overload
def compile_model(
    model: PackagedModel,
    *,
    hint: str = ...,
    threads: int | None = ...,
    network: str | None = ...,
    precision: str | None = ...,
) -> CompiledModel: ...


def compile_model(
    model: Path | PackagedModel,
    *,
    hint: str = "LATENCY",
    threads: int | None = None,
    network: str | None = None,
    precision: str | None = None,
) -> CompiledModel:
    """Compile a model for the CPU, once per process per (model, precision, hint, threads): the one compile path.

    Every model the product runs is compiled here, so precision, threads, the cache folder and the
    cross-process compile lock are chosen in one place. The precision is the model's own: its card's
    ``inference_precision`` (a model folder) or its ``shared.registry.PackagedModel`` entry (an ONNX or
    TFLite file inside a package), f32 unless a measurement there says otherwise. It is always passed
    explicitly: OpenVINO's default is bf16 on CPUs with AMX.

    Args:
        model: a model folder (``model.xml``/``.bin`` + ``model.json``), or a packaged model's entry.
        hint: ``PERFORMANCE_HINT``: ``"LATENCY"`` for in-process analysis, ``"THROUGHPUT"`` for services.
        threads: ``INFERENCE_NUM_THREADS``; 0 lets OpenVINO use every core; None: the packaged model's
            own choice (its entry), every core for a model folder.
        network: for a folder of several networks (the card's ``networks``), which one to compile.
        precision: only for a benchmark that deliberately compares hints; everything else leaves it None.

    Raises:
        ModelUnavailable: not a model folder, an unknown network, or a package that is not installed.
    """
    if isinstance(model, PackagedModel):
        if network is not None:
            raise ModelUnavailable(f"{model.name} is one network; network={network!r} makes no sense")
        path, card, xml = model.locate().resolve(), None, ""
        chosen, default_threads = model.inference_precision, model.threads
    else:
        path = Path(model).resolve()
        card = check_model_folder(path)
        known = network in card.networks if card.networks else network is None
        if not known:
            held = f"the networks {card.networks}" if card.networks else "one network (model.xml)"
            raise ModelUnavailable(f"{path} holds {held}; network={network!r} is not one of them")
        xml = f"{network}.xml" if network else IR_XML
        chosen, default_threads = card.inference_precision, 0
    precision = precision or chosen
    threads = default_threads if threads is None else threads
    key = (str(path), precision, hint, xml, threads)
    global _compiler
    with _compile_lock:
        if key in _compiled and not _failed(_compiled[key].handle):
            return _compiled[key]
        args = (path / xml if xml else path, precision, hint, threads)
        handle: Future[Any]
        if _background.get():
            _compiler = _compiler or ThreadPoolExecutor(max_workers=2, thread_name_prefix="compile")
            handle = _compiler.submit(_compile_file, *args)
        else:
            handle = Future()
            handle.set_result(_compile_file(*args))
        if card is None:
            _compiled[key] = CompiledModel(path=path, precision=precision, handle=handle)
        else:
            _compiled[key] = CompiledIR(path=path, precision=precision, handle=handle, card=card)
        return _compiled[key]


def _failed(handle: Future[Any]) -> bool:
    """A background compile that ended in an error: the next caller compiles again (and sees the error)."""
    return handle.done() and handle.exception() is not None


def _compile_file(file: Path, precision: str, hint: str, threads: int) -> Any:
    """``ov.Core.compile_model`` of one file (IR ``.xml``, ``.onnx``, ``.tflite``) on the shared cache."""
    from shared.settings import get_model_settings

    core = get_core()
    config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    cache = get_model_settings().ov_cache
    cache.mkdir(parents=True, exist_ok=True)
    core.set_property({"CACHE_DIR": str(cache)})
    # OpenVINO writes a cache blob straight to its final path (openvinotoolkit/openvino#35132), so a
    # second process compiling the same model at that moment (two workers starting together on one
    # cache) could import a half-written blob. One compile at a time per cache folder, across processes.
    with _cache_lock(cache):
        # by path, not a read ov.Model: OpenVINO's cache is keyed on the file, and no caller holds a graph
        return core.compile_model(str(file), "CPU", config)


def compiled_models() -> list[CompiledModel]:
    """Every model this process has compiled (through ``compile_model``, the only way the product compiles)."""
    with _compile_lock:
        return list(_compiled.values())


def read_ir(folder: Path) -> Any:
    """The ``ov.Model`` of ``folder/model.xml``, to transform and save (quantization), never to run."""
    return get_core().read_model(str(Path(folder) / IR_XML))


@contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``cache/.compile.lock`` (released by the kernel if the process dies)."""
    with open(cache / ".compile.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def forget_compiled(folder: Path) -> None:
    """Drop this process's compiled copies of ``folder`` (after rewriting it), so ``compile_model`` reads it anew."""
    resolved = str(Path(folder).resolve())
    with _compile_lock:
        for key in [k for k in _compiled if k[0] == resolved]:
            del _compiled[key]
