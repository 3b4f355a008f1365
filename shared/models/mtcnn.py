"""MTCNN's three networks (facenet-pytorch's PNet, RNet, ONet) → one OpenVINO model folder.

Conversion only: this module imports torch and facenet-pytorch; detection (``shared.faces.mtcnn``) reads
the folder it writes with OpenVINO alone.

The weights are the ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` state_dicts that facenet-pytorch 2.5.3 ships
in its ``data/`` folder (pinned by sha256 in ``shared.registry``). The folder holds ``pnet.xml/.bin``
(input ``(N, 3, H, W)``, height and width dynamic: one call per pyramid level), ``rnet.xml/.bin`` and
``onet.xml/.bin`` (input ``(N, 3, 24, 24)`` / ``(N, 3, 48, 48)``, batch dynamic) and a ``model.json``
whose ``networks`` lists them. Outputs are named (``NETWORK_OUTPUTS``) so the detector never depends on
their order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

from shared.errors import CheckpointMismatch
from shared.fsutil import atomic_folder, sha256_file
from shared.modelcard import ModelCard, MTCNNPreprocessing, SourceInfo
from shared.registry import PublishedModel, get_published, manifest_sha256

#: what each network returns, in facenet-pytorch's order: box regression, (landmarks,) face probability
NETWORK_OUTPUTS = {
    "pnet": ["reg", "prob"],
    "rnet": ["reg", "prob"],
    "onet": ["reg", "landmarks", "prob"],
}
_NETWORKS: dict[str, Any] = {"pnet": PNet, "rnet": RNet, "onet": ONet}


def _input_shape(network: str, pre: MTCNNPreprocessing) -> list[int]:
    if network == "pnet":
        return [-1, 3, -1, -1]
    side = pre.rnet_size if network == "rnet" else pre.onet_size
    return [-1, 3, side, side]


def load_network(network: str, state_dict_file: Path) -> torch.nn.Module:
    """One of facenet-pytorch's networks with the weights of ``state_dict_file`` (strict keys and shapes).

    Raises:
        CheckpointMismatch: the file is not that network's state_dict.
    """
    net = _NETWORKS[network](pretrained=False)
    state = torch.load(state_dict_file, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointMismatch(f"{state_dict_file} is not MTCNN's {network} state_dict: {exc}") from None
    return net.eval()


def import_checkpoint(
    architecture: str,
    checkpoint: Path,
    out_dir: Path,
    *,
    published: PublishedModel | str | None = "mtcnn",
) -> ModelCard:
    """Convert the folder holding ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` into an MTCNN model folder.

    The signature is ``shared.weights.fetch``'s converter contract (``checkpoint`` is a folder here).

    Args:
        architecture: ``"MTCNN"``.
        checkpoint: the folder with the three state_dicts (facenet-pytorch's ``data/``).
        out_dir: the model folder to write (replaced atomically).
        published: the registry entry (or its name) whose files these are; their sha256 must match.

    Returns:
        The card written to ``out_dir/model.json``.

    Raises:
        CheckpointMismatch: a file's sha256 or its keys and shapes are not MTCNN's.
    """
    import openvino as ov

    from shared.runtime import convert_torch, forget_compiled

    if architecture != "MTCNN":
        raise CheckpointMismatch(f"shared.models.mtcnn converts MTCNN, not {architecture}")
    entry = get_published(published) if isinstance(published, str) else published
    folder = Path(checkpoint)
    files = {f"{net}.pt": folder / f"{net}.pt" for net in _NETWORKS}
    digests = {name: sha256_file(path) for name, path in files.items()}
    if entry is not None:
        pinned = {rel.rsplit("/", 1)[-1]: sha for rel, sha in entry.package_files.items()}
        wrong = [name for name in files if digests[name] != pinned.get(name)]
        if wrong:
            raise CheckpointMismatch(f"{', '.join(wrong)} in {folder} are not the files of {entry.package}")
        source_files = {rel: digests[rel.rsplit("/", 1)[-1]] for rel in entry.package_files}
    else:
        source_files = {str(path): digests[name] for name, path in files.items()}
    pre = MTCNNPreprocessing()
    card = ModelCard(
        name=entry.name if entry else "mtcnn",
        architecture="MTCNN",
        kind="face_detector",
        preprocessing=pre,
        training_data=entry.training_data if entry else None,
        source=SourceInfo(
            file=entry.file if entry else str(folder),
            sha256=manifest_sha256(source_files),
            files=source_files,
        ),
        networks=list(_NETWORKS),
        notes=(
            "decision_threshold is unused: a face is kept when each stage's probability passes "
            "preprocessing.thresholds and the caller's min_confidence"
        ),
    )
    converted = {}
    for net, path in files.items():
        name = net.removesuffix(".pt")
        shape = _input_shape(name, pre)
        side = pre.onet_size if name == "pnet" else shape[2]  # PNet: any size of at least 12 traces the same
        example = torch.zeros(1, 3, side, side)
        converted[name] = convert_torch(
            load_network(name, path), example, output_names=NETWORK_OUTPUTS[name], input_shapes=[shape]
        )
    out_dir = Path(out_dir)
    with atomic_folder(out_dir) as tmp:
        for name, model in converted.items():
            ov.save_model(model, tmp / f"{name}.xml", compress_to_fp16=False)
        card.save(tmp)
    forget_compiled(out_dir)  # a process that compiled the old IRs of this folder must not reuse them
    return card
