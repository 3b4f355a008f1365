"""INT8 post-training quantization of a face model folder (NNCF), and how far it lands from FP32.

The INT8 IR is calibrated on real face crops (activation ranges depend on what faces look like), then
compared with its FP32 source on the same faces: the largest change of fake probability and, when labels
are given, the AUC of each. Both numbers are printed by ``deepfake models quantize`` / ``import-icpr --int8``
and stored in the INT8 card's notes, so the folder says how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.errors import InvalidArgument
from shared.fsutil import atomic_folder
from shared.modelcard import ModelCard, PrecisionParity, VideoPreprocessing
from shared.runtime import IR_XML, check_model_folder, forget_compiled, read_ir
from shared.video_scoring import FaceScorer, check_faces, normalize_faces

#: Faces per calibration item. NNCF collects statistics per item; small batches keep memory low.
CALIBRATION_BATCH = 8


@dataclass
class QuantizationReport:
    card: ModelCard
    n_calibration: int
    n_compared: int
    max_abs_dprob: float
    mean_abs_dprob: float
    auc_fp32: float | None = None
    auc_int8: float | None = None

    def lines(self) -> list[str]:
        out = [
            f"INT8 model written: {self.card.name} (calibrated on {self.n_calibration} faces)",
            f"FP32 vs INT8 on {self.n_compared} faces: max |Δ probability| = {self.max_abs_dprob:.4f}, "
            f"mean = {self.mean_abs_dprob:.4f}",
        ]
        if self.auc_fp32 is not None:
            out.append(f"AUC on the labelled set: FP32 {self.auc_fp32:.4f}, INT8 {self.auc_int8:.4f}")
        return out


def load_faces(faces: np.ndarray | Path | str, size: int = 224, *, allow_empty: bool = False) -> np.ndarray:
    """uint8 (N, size, size, 3) RGB faces from an array or a ``.npy`` file, refused clearly otherwise."""
    if isinstance(faces, (str, Path)):
        path = Path(faces)
        if not path.is_file():
            raise InvalidArgument(f"faces file {path} does not exist")
        try:
            faces = np.load(path, allow_pickle=False)
        except Exception as exc:  # numpy raises several types for non-npy input
            raise InvalidArgument(f"{path} is not a .npy array ({type(exc).__name__}: {exc})") from None
    array = check_faces(faces, size)  # type: ignore[arg-type]  # a path was loaded above
    if len(array) == 0 and not allow_empty:
        raise InvalidArgument("no faces given")
    return array


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC (scikit-learn); ``None`` when only one class is present."""
    labels = np.asarray(labels).astype(int).ravel()
    if len(np.unique(labels)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def compare(
    fp32_dir: Path, int8_dir: Path, faces: np.ndarray, labels: np.ndarray | None = None
) -> tuple[float, float, float | None, float | None]:
    """(max |Δp|, mean |Δp|, AUC FP32, AUC INT8) of two model folders on the same faces."""
    p32 = FaceScorer.from_folder(fp32_dir).score(faces).probabilities
    p8 = FaceScorer.from_folder(int8_dir).score(faces).probabilities
    delta = np.abs(p32.astype(np.float64) - p8)
    auc32 = auc8 = None
    if labels is not None:
        labels = np.asarray(labels).ravel()
        if len(labels) != len(faces):
            raise InvalidArgument(f"{len(labels)} labels for {len(faces)} faces")
        auc32, auc8 = roc_auc(labels, p32), roc_auc(labels, p8)
    return float(delta.max()), float(delta.mean()), auc32, auc8


def quantize_model_folder(
    fp32_dir: Path,
    out_dir: Path,
    calibration_faces: np.ndarray | Path | str,
    *,
    labels: np.ndarray | None = None,
    compare_faces: np.ndarray | None = None,
) -> QuantizationReport:
    """Write an INT8 copy of the FP32 face model folder ``fp32_dir`` to ``out_dir`` (atomically).

    Args:
        fp32_dir: an FP32 model folder (``model.xml``, ``model.bin``, ``model.json``).
        out_dir: the INT8 model folder to write; replaced if it exists.
        calibration_faces: uint8 (N, S, S, 3) RGB real face crops (array or ``.npy``); a few hundred is
            plenty, a few dozen works.
        labels: optional 0/1 (real/fake) labels of ``compare_faces`` for the AUC comparison.
        compare_faces: faces to compare FP32 and INT8 on (default: the calibration faces).

    Returns:
        The report, whose ``card`` is the INT8 card written.
    """
    import nncf
    import openvino as ov

    card = check_model_folder(fp32_dir)
    prep = card.preprocessing
    if not isinstance(prep, VideoPreprocessing):
        raise InvalidArgument(f"{fp32_dir} is not a face model; only face models are quantized here")
    if card.precision != "FP32":
        raise InvalidArgument(f"{fp32_dir} is already {card.precision}")
    faces = load_faces(calibration_faces, prep.input_size)
    items = [
        normalize_faces(faces[i : i + CALIBRATION_BATCH], prep)
        for i in range(0, len(faces), CALIBRATION_BATCH)
    ]
    model = read_ir(fp32_dir)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(items),
        preset=nncf.QuantizationPreset.MIXED,  # asymmetric activations: SiLU outputs are not centred
        subset_size=len(items),
        fast_bias_correction=True,
    )
    int8_card = card.model_copy(
        update={
            "precision": "INT8",
            "notes": f"NNCF post-training INT8, calibrated on {len(faces)} face crops",
        }
    )
    out_dir = Path(out_dir)
    with atomic_folder(out_dir) as tmp:
        ov.save_model(quantized, tmp / IR_XML, compress_to_fp16=False)
        int8_card.save(tmp)
    forget_compiled(out_dir)
    check = faces if compare_faces is None else load_faces(compare_faces, prep.input_size)
    max_d, mean_d, auc32, auc8 = compare(Path(fp32_dir), out_dir, check, labels)
    notes = f"{int8_card.notes}; vs FP32 on {len(check)} faces: max |Δp| {max_d:.4f}"
    if auc32 is not None:
        notes += f", AUC FP32 {auc32:.4f} / INT8 {auc8:.4f}"
    # INT8 is opt-in (this command); what it costs against FP32 travels with it, measured here
    parity = PrecisionParity(
        output="fake probability per face",
        max_abs_delta=max_d,
        mean_abs_delta=mean_d,
        measured_on=f"{len(check)} face crops" + (" (the calibration faces)" if compare_faces is None else ""),
        measured_with="deepfake models quantize (shared.quantize.quantize_model_folder)",
    )
    int8_card = int8_card.model_copy(update={"notes": notes, "precision_parity": parity})
    int8_card.save(out_dir)
    return QuantizationReport(int8_card, len(faces), len(check), max_d, mean_d, auc32, auc8)
