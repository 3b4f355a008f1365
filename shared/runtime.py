"""OpenVINO runtime: export a PyTorch model to IR once, compile it once per process, run batches.

One ``ov.Core`` per process (``get_core``); compiled models are cached per (folder, precision hint) so a
process never compiles the same IR twice. ``compile_model`` is thread-safe; infer requests are not shared
between threads (each call makes its own, or uses an ``AsyncInferQueue``).

The precision hint defaults to f32: on the development CPU (AVX-512 VNNI) OpenVINO's default bf16 hint
was measured slower than f32, and INT8 IRs are faster still.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import ModelUnavailable
from shared.fsutil import atomic_folder
from shared.modelcard import CARD_FILE, ModelCard

IR_XML = "model.xml"
IR_BIN = "model.bin"


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
class CompiledIR:
    """A compiled IR and its card. ``infer`` runs one synchronous batch and returns outputs by name."""

    folder: Path
    card: ModelCard
    compiled: Any

    @property
    def output_names(self) -> list[str]:
        return [port.get_any_name() for port in self.compiled.outputs]

    def infer(self, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        request = self.compiled.create_infer_request()  # never shared between threads
        result = request.infer(list(inputs))
        return {port.get_any_name(): np.asarray(result[port]) for port in self.compiled.outputs}


_compile_lock = threading.Lock()
_compiled: dict[tuple[str, str, str, str], CompiledIR] = {}


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


def compile_ir(
    folder: Path,
    *,
    precision_hint: str = "f32",
    hint: str = "LATENCY",
    threads: int = 0,
    network: str | None = None,
) -> CompiledIR:
    """Compile ``folder/model.xml`` for the CPU, once per process per (folder, hint).

    Args:
        folder: a model folder (model.xml, model.bin, model.json).
        precision_hint: ``INFERENCE_PRECISION_HINT``; ``"f32"`` unless measured otherwise.
        hint: ``PERFORMANCE_HINT``: ``"LATENCY"`` for in-process analysis, ``"THROUGHPUT"`` for services.
        threads: ``INFERENCE_NUM_THREADS``; 0 lets OpenVINO use every core.
        network: for a folder of several networks (the card's ``networks``), which one to compile.
    """
    from shared.settings import get_model_settings

    folder = Path(folder).resolve()
    card = check_model_folder(folder)
    known = network in card.networks if card.networks else network is None
    if not known:
        held = f"the networks {card.networks}" if card.networks else "one network (model.xml)"
        raise ModelUnavailable(f"{folder} holds {held}; network={network!r} is not one of them")
    xml = f"{network}.xml" if network else IR_XML
    key = (str(folder), precision_hint, hint, xml)
    with _compile_lock:
        if key in _compiled:
            return _compiled[key]
        core = get_core()
        config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": precision_hint}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        cache = get_model_settings().ov_cache
        cache.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(cache)})
        # OpenVINO writes a cache blob straight to its final path (openvinotoolkit/openvino#35132), so a
        # second process compiling the same model at that moment (two workers starting together on one
        # cache) could import a half-written blob. One compile at a time per cache folder, across processes.
        with _cache_lock(cache):
            compiled = core.compile_model(str(folder / xml), "CPU", config)
        _compiled[key] = CompiledIR(folder=folder, card=card, compiled=compiled)
        return _compiled[key]


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
    """Drop this process's compiled copies of ``folder`` (after rewriting it), so ``compile_ir`` reads it anew."""
    resolved = str(Path(folder).resolve())
    with _compile_lock:
        for key in [k for k in _compiled if k[0] == resolved]:
            del _compiled[key]
