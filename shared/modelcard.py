"""``model.json``: what travels next to every OpenVINO IR (like timm's ``pretrained_cfg``).

A model folder is ``model.xml`` + ``model.bin`` + ``model.json``. Everything needed to feed the model
correctly and to say honestly what its score means lives here, never in the caller: input size,
normalization, crop policy, sample rate, which output is which, the decision threshold, the data it
was trained on, and the file it came from with its sha256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.evidence import own_model_kinds
from shared.roles import roles

CARD_FILE = "model.json"
CARD_SCHEMA_VERSION = 1
#: the model kind of face detectors, which the face stage runs for the faces role (MTCNN, BlazeFace)
FACE_DETECTOR_KIND = "face_detector"


def model_kinds() -> frozenset[str]:
    """What a model can be for: a model role's (its ``registry_kind``, ``shared.roles``), the face stage's
    detector, or a kind of evidence that runs a model of its own (``shared.evidence``). Read from those
    declarations, so a new role or kind of evidence brings its model kind along."""
    return frozenset(role.registry_kind for role in roles()) | {FACE_DETECTOR_KIND} | own_model_kinds()


def check_model_kind(kind: str) -> str:
    """``kind`` if it is one of :func:`model_kinds`.

    Raises:
        ValueError: an unknown model kind (the known ones are listed).
    """
    known = model_kinds()
    if kind not in known:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(known))}")
    return kind


class SourceInfo(BaseModel):
    file: str = Field(description="file name of the checkpoint the IR was made from")
    sha256: str
    url: str | None = None
    #: when the weights are several files (MTCNN's three networks): each file and its sha256; ``sha256``
    #: is then the sha256 of their ``sha256sum`` manifest (``shared.registry.manifest_sha256``)
    files: dict[str, str] | None = None


class VideoPreprocessing(BaseModel):
    kind: Literal["video"] = "video"
    input_size: int = 224
    color: Literal["RGB"] = "RGB"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    crop_policy: Literal["scale"] = "scale"
    #: face box enlargement of the reference (fraction of box height; twice this on top)
    margin: float = 0.2
    #: the IR's outputs: "logit" (N,) fake logit; "attention" (N,1,h,w) sigmoid map when present
    outputs: list[str] = ["logit"]


class AudioPreprocessing(BaseModel):
    kind: Literal["audio"] = "audio"
    sample_rate: int = 16000
    window_samples: int = 64600
    hop_samples: int = 32300
    min_seconds: float = 1.5
    #: "waveform" (raw samples, AASIST) or "mel" (the IR contains the mel front end)
    input: Literal["waveform", "mel"] = "waveform"
    #: output layout: "logits2" (N,2) with ``bonafide_index``; or "logit" (N,) fake logit
    output: Literal["logits2", "logit"] = "logits2"
    bonafide_index: int | None = 1
    frontend: dict[str, float | int | str] | None = None
    #: "layer_norm": each window is brought to zero mean and unit variance (eps 1e-5) inside the IR, as the
    #: self-supervised voice models were trained (``shared.models.voice_ssl``); the scorer feeds raw samples
    window_norm: Literal["none", "layer_norm"] = "none"


class MTCNNPreprocessing(BaseModel):
    """MTCNN (PNet, RNet, ONet run in turn): how pixels enter the networks and each stage's threshold."""

    kind: Literal["mtcnn"] = "mtcnn"
    color: Literal["RGB"] = "RGB"
    #: every network's input is ``(pixel - mean) * scale``, float32 NCHW
    mean: float = 127.5
    scale: float = 0.0078125
    #: PNet slides a ``pnet_cell`` window with ``pnet_stride``; RNet and ONet see square crops of these sizes
    pnet_cell: int = 12
    pnet_stride: int = 2
    rnet_size: int = 24
    onet_size: int = 48
    #: each level of the image pyramid is this fraction of the previous one
    pyramid_factor: float = 0.709
    #: face probability thresholds of PNet, RNet and ONet
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)


class FaceDetectorPreprocessing(BaseModel):
    """How to feed a face detector IR and read its outputs (BlazeFace: the ICPR2020 reference face stage)."""

    kind: Literal["face_detector"] = "face_detector"
    #: square network input; frames are cut into square tiles of at most ``tile_max_side`` pixels first
    input_size: int = 128
    color: Literal["RGB"] = "RGB"
    #: network input = pixel / ``input_divisor`` + ``input_offset`` (BlazeFace: x / 127.5 - 1)
    input_divisor: float = 127.5
    input_offset: float = -1.0
    tile_max_side: int = 720
    #: OpenCV interpolation that shrinks each tile to ``input_size`` (the reference's INTER_AREA)
    tile_resize: Literal["INTER_AREA"] = "INTER_AREA"
    #: raw scores are clipped to [-score_clip, score_clip] before the sigmoid
    score_clip: float = 100.0
    score_threshold: float = 0.75
    #: weighted NMS: detections overlapping the best remaining one by more than this IoU are blended
    nms_iou: float = 0.3
    #: the raw box offsets are in input pixels: divided by this before scaling by the anchor size
    box_scale: float = 128.0
    keypoints: int = 6
    #: anchors (N, 4) (x_centre, y_centre, w, h), normalized to the input, saved beside the IR
    anchors_file: str = "anchors.npy"
    anchors_sha256: str | None = None
    #: the IR's outputs: "raw_boxes" (N, anchors, 4 + 2 * keypoints), "raw_scores" (N, anchors, 1)
    outputs: list[str] = ["raw_boxes", "raw_scores"]


class ImagePreprocessing(BaseModel):
    """How a whole picture enters an image model (the generated-picture check): resize, crop, normalize.

    The picture (upright RGB) is resized so its short side is ``input_size`` with ``resize`` (Pillow's
    filter), the centre ``input_size`` square is cut out, scaled to [0, 1] and normalized with ``mean``/``std``.
    """

    kind: Literal["image"] = "image"
    input_size: int = 224
    color: Literal["RGB"] = "RGB"
    resize: Literal["short_side_bicubic"] = "short_side_bicubic"
    crop: Literal["centre"] = "centre"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    #: pictures with a shorter side are not scored (too little left of what the model looks at)
    min_side: int = 64
    #: the IR's outputs: "logit" (N,) log-odds that the picture is generated; "embedding" (N, D)
    outputs: list[str] = ["logit", "embedding"]


class SyncNetPreprocessing(BaseModel):
    """How SyncNet (Chung and Zisserman 2016, ``joonson/syncnet_python``) is fed: its authors' recipe.

    Pictures: ``frames`` consecutive face crops at ``fps`` (the authors re-encode every video to 25 fps),
    each ``crop_size`` square, colour in ``color`` order (OpenCV's BGR: the authors read their crops with
    ``cv2.imread``), raw 0-255 values (no mean, no scaling), stacked as ``(N, 3, frames, H, W)`` for a 3-D
    convolution. The crop: a square of side ``2 * (1 + crop_scale) * s`` around the detector box of half-size
    ``s`` (its larger side over 2), its top ``s`` above the box centre, so it holds the face from the brow
    down, chin and some neck; outside the picture ``pad_value`` grey.

    Sound: ``numcep`` MFCCs every ``mfcc_hop_s`` of ``sample_rate`` audio in 16-bit sample units
    (python_speech_features' ``mfcc`` with its defaults: 25 ms rectangular windows, pre-emphasis 0.97, 26 mel
    filters, FFT 512, lifter 22, the first coefficient replaced by the log frame energy); ``mfcc_frames``
    of them (``mfcc_per_video_frame`` per video frame) go with each picture window, as ``(N, 1, numcep,
    mfcc_frames)``.

    Scoring: distances between the two embeddings at video offsets within +-``max_offset_frames``; the
    offset is where the mean distance is smallest, the confidence is the median distance minus that smallest.
    """

    kind: Literal["syncnet"] = "syncnet"
    fps: float = 25.0
    frames: int = 5
    crop_size: int = 224
    color: Literal["BGR"] = "BGR"
    crop_scale: float = 0.4
    pad_value: int = 110
    sample_rate: int = 16000
    sample_scale: float = 32768.0
    numcep: int = 13
    nfilt: int = 26
    nfft: int = 512
    mfcc_window_s: float = 0.025
    mfcc_hop_s: float = 0.01
    preemphasis: float = 0.97
    ceplifter: int = 22
    mfcc_frames: int = 20
    mfcc_per_video_frame: int = 4
    max_offset_frames: int = 15
    embedding_dim: int = 1024


class Calibration(BaseModel):
    """Platt scaling fitted on validation data: p = sigmoid(a * logit + b)."""

    method: Literal["platt"] = "platt"
    a: float
    b: float
    fitted_on: str


class MeasuredRate(BaseModel):
    """How many files of one group a decision rule called what the field says (fake, or real)."""

    called: int
    files: int

    @property
    def rate(self) -> float:
        return self.called / self.files if self.files else float("nan")


class OperatingPoint(BaseModel):
    """Where a model's verdict changes, chosen on labelled data and measured there.

    A file score at or above ``fake_at`` is ``fake``, below ``real_below`` is ``real``, in between
    ``uncertain``. The score is the file score of ``aggregation`` (``shared.scoring``); the thresholds
    mean nothing for another aggregation. The rates are counts of files, so a reader can judge how
    much data stands behind them.
    """

    fake_at: float = Field(ge=0.0, le=1.0)
    real_below: float = Field(ge=0.0, le=1.0)
    aggregation: str = Field(description="the file score the thresholds apply to (shared.scoring)")
    max_seconds: float | None = Field(None, description="seconds of each file that were scored")
    chosen_on: str = Field(description="the data the thresholds were chosen on")
    rule: str = Field(description="how the thresholds were chosen")
    target_false_fake_rate: float = Field(description="the false-alarm rate the fake point was chosen for")
    false_fake: dict[str, MeasuredRate] = Field(
        default_factory=dict, description="real recordings called fake at fake_at, per source and 'pooled'"
    )
    false_fake_held_out: dict[str, MeasuredRate] = Field(
        default_factory=dict,
        description="leave-one-source-out: real recordings of each source called fake by a fake point "
        "chosen on the other sources only",
    )
    catch: dict[str, MeasuredRate] = Field(
        default_factory=dict, description="spoofed recordings called fake at fake_at, per source and 'pooled'"
    )
    missed_as_real: dict[str, MeasuredRate] = Field(
        default_factory=dict, description="spoofed recordings called real (below real_below), per source and 'pooled'"
    )
    measured_with: str | None = Field(None, description="the command that measured it")

    def describe(self) -> str:
        """One line for the report: the thresholds and what they were measured to do."""
        parts = [f"'fake' at score >= {self.fake_at:.6g}, 'real' below {self.real_below:.6g} ({self.aggregation})"]
        pooled = self.false_fake.get("pooled")
        if pooled is not None:
            parts.append(
                f"{100 * pooled.rate:.1f} % of {pooled.files} real recordings called fake "
                f"(target <= {100 * self.target_false_fake_rate:g} %)"
            )
        if self.false_fake_held_out:
            name, worst = max(self.false_fake_held_out.items(), key=lambda kv: kv[1].rate)
            parts.append(f"chosen without a source, up to {100 * worst.rate:.1f} % on it ({name})")
        caught = self.catch.get("pooled")
        if caught is not None:
            parts.append(f"{100 * caught.rate:.1f} % of {caught.files} spoofed recordings caught")
        return "; ".join(parts) + f"; chosen on {self.chosen_on}"


#: OpenVINO ``INFERENCE_PRECISION_HINT`` values a model may be compiled with
InferencePrecision = Literal["f32", "bf16", "f16"]


class PrecisionParity(BaseModel):
    """A model's outputs at a reduced precision (a bf16/f16 hint, INT8 weights) measured against f32.

    A reduced precision is opt-in per model: it is only used where this measurement says it keeps parity.
    """

    output: str = Field(description="what was compared, e.g. 'fake probability per face'")
    max_abs_delta: float = Field(ge=0.0, description="largest |reduced - f32| over the data below")
    mean_abs_delta: float | None = Field(None, ge=0.0)
    measured_on: str = Field(description="the data it was measured on")
    measured_with: str = Field(description="the command that measured it")


def check_precision_choice(precision: str, parity: PrecisionParity | None, model: str) -> None:
    """A precision other than f32 needs its parity measurement (card or package-model description alike).

    Raises:
        ValueError: ``precision`` is not f32 and ``parity`` is missing.
    """
    if precision != "f32" and parity is None:
        raise ValueError(
            f"{model}: inference precision {precision!r} needs a parity measurement against f32 "
            "(precision_parity); without one the model runs at f32"
        )


class ModelCard(BaseModel):
    schema_version: int = CARD_SCHEMA_VERSION
    name: str
    architecture: str
    #: what the model is for: one of :func:`model_kinds`
    kind: str
    precision: Literal["FP32", "INT8"] = "FP32"
    preprocessing: (
        VideoPreprocessing
        | AudioPreprocessing
        | MTCNNPreprocessing
        | FaceDetectorPreprocessing
        | ImagePreprocessing
        | SyncNetPreprocessing
    ) = Field(discriminator="kind")
    decision_threshold: float = 0.5
    training_data: str | None = Field(None, description="what the weights were trained on, if known")
    reported_metrics: dict[str, float | str] = Field(default_factory=dict)
    source: SourceInfo | None = None
    #: the licence of the weights (e.g. "CC-BY-NC-SA-4.0 (non-commercial, share-alike)"); the report names it.
    #: None on cards written before it was recorded: ``licence_of`` then looks the name up in the registry
    licence: str | None = None
    calibration: Calibration | None = None
    operating_point: OperatingPoint | None = Field(
        None, description="verdict thresholds chosen and measured on labelled data (replaces the settings band)"
    )
    notes: str | None = None
    #: a model made of several networks run in turn keeps one IR per network, ``<network>.xml``/``.bin``
    #: (MTCNN: pnet, rnet, onet); None: the single ``model.xml``/``model.bin``
    networks: list[str] | None = None
    #: the ``INFERENCE_PRECISION_HINT`` ``shared.runtime.compile_model`` compiles this model with. f32 unless
    #: ``precision_parity`` measures that another precision keeps parity (OpenVINO's own default is bf16 on
    #: CPUs with AMX, which moved silero-vad's probabilities by up to 0.017: never left to the default)
    inference_precision: InferencePrecision = "f32"
    precision_parity: PrecisionParity | None = Field(
        None, description="the reduced precision (inference_precision, or INT8 weights) measured against f32"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        return check_model_kind(kind)

    @model_validator(mode="after")
    def _reduced_precision_is_measured(self) -> ModelCard:
        check_precision_choice(self.inference_precision, self.precision_parity, self.name)
        return self

    def ir_files(self) -> list[str]:
        """The IR files this card's folder must hold (``.xml`` and ``.bin`` of each network)."""
        return [f"{net}{ext}" for net in (self.networks or ["model"]) for ext in (".xml", ".bin")]

    @property
    def version(self) -> str:
        """Short stable identifier for reports: name, precision and the first 12 hex of the source sha256."""
        sha = self.source.sha256[:12] if self.source else "unknown"
        return f"{self.name}:{self.precision}:{sha}"

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CARD_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelCard:
        path = Path(folder) / CARD_FILE
        return cls.model_validate(json.loads(path.read_text()))
