"""How close is UnivFD's converted IR to open_clip's own CLIP ViT-L/14? The figures behind tests/models/test_univfd.py.

open_clip's ViT-L/14 (QuickGELU, as OpenAI's) on random weights (seed 0) and a random linear layer are saved
in UnivFD's published layout, imported (``shared.evidence.generated.univfd.import_univfd``), and the IR's logits and
embeddings compared with open_clip's ``encode_image`` followed by the linear layer on three pictures of
../shared/media/aiimage. For scale, it also prints how far a tower with plain GELU (the same weights) lands.

    PYTHONPATH=. python benchmarks/univfd_parity.py [--media ../shared/media]

Needs open_clip_torch (dev extra). Writes 1.2 GB to a temporary folder and removes it. Not part of
``make bench`` (it measures agreement, not speed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import open_clip
import torch

from shared.evidence.generated import PictureScorer
from shared.evidence.generated.univfd import import_univfd
from shared.media.image import decode_still
from shared.runtime import compile_model

PICTURES = ["ai_midjourney_001.png", "real_camera-exif_001.jpg", "real_voc-png_001.png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path("../shared/media"))
    args = parser.parse_args()
    torch.manual_seed(0)
    reference = open_clip.create_model("ViT-L-14", pretrained=None, force_quick_gelu=True).eval()
    visual = {k: v for k, v in reference.state_dict().items() if k.startswith("visual.")}
    weight, bias = torch.randn(1, 768) * 0.05, torch.randn(1)
    scratch = Path(tempfile.mkdtemp())
    try:
        torch.save(visual, scratch / "ViT-L-14.pt")
        torch.save({"weight": weight, "bias": bias}, scratch / "fc_weights.pth")
        import_univfd(scratch / "ViT-L-14.pt", scratch / "fc_weights.pth", scratch / "model")
        scorer = PictureScorer.from_folder(scratch / "model")
        batch = np.stack([
            scorer.pixels(decode_still(open(args.media / "aiimage" / name, "rb"), name).rgb) for name in PICTURES
        ])
        got = compile_model(scratch / "model").infer(batch)
    finally:
        shutil.rmtree(scratch)
    with torch.no_grad():
        features = reference.visual(torch.from_numpy(batch))
        expected = (features @ weight.T + bias).reshape(-1).numpy()
        gelu = open_clip.create_model("ViT-L-14", pretrained=None).eval()
        gelu.visual.load_state_dict(reference.visual.state_dict())
        with_gelu = (gelu.visual(torch.from_numpy(batch)) @ weight.T + bias).reshape(-1).numpy()
    logits, embedding, ref = got["logit"].reshape(-1), got["embedding"], features.numpy()
    cosine = (embedding * ref).sum(1) / np.linalg.norm(embedding, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"IR logits {logits}, open_clip {expected}: max |d| {np.abs(logits - expected).max():.2e}")
    print(f"embedding cosine min {cosine.min():.7f}")
    print(f"plain GELU instead of QuickGELU: logits {with_gelu}, max |d| {np.abs(with_gelu - expected).max():.3f}")


if __name__ == "__main__":
    main()
