"""shared.vad: silero-vad compiled by OpenVINO, on generated silence, tone and noise and on real speech."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.errors import InvalidArgument
from shared.vad import FRAME_SAMPLES, SpeechActivity, SpeechDetector, frame_blocks, silero_model_path

RATE = 16000
SPEECH_FILE = "Resemblyzer__audio_data__librispeech_test-other__1998__1998-15444-0000.flac"  # 13.3 s, read speech


@pytest.fixture(scope="module")
def detector() -> SpeechDetector:
    return SpeechDetector.from_package()


@pytest.fixture(scope="module")
def speech(shared_media: Path) -> np.ndarray:
    from shared.media.audio import load_audio

    return load_audio(shared_media / "audio" / SPEECH_FILE, RATE)


def test_frame_blocks_prefix_each_frame_with_the_previous_64_samples() -> None:
    wave = np.arange(1100, dtype=np.float32)
    (block,) = frame_blocks(wave)
    assert block.shape == (3, 64 + 512)
    np.testing.assert_array_equal(block[0, :64], 0.0)
    np.testing.assert_array_equal(block[1, :64], wave[448:512])
    np.testing.assert_array_equal(block[2, 64 : 64 + 76], wave[1024:1100])
    np.testing.assert_array_equal(block[2, 64 + 76 :], 0.0)  # the last frame is zero-padded
    assert [len(b) for b in frame_blocks(np.zeros(512 * 1030, np.float32))] == [512, 512, 6]


def test_generated_silence_tone_and_noise_are_not_speech(detector: SpeechDetector) -> None:
    t = np.arange(5 * RATE) / RATE
    rng = np.random.default_rng(0)
    signals = {
        "silence": np.zeros_like(t),
        "tone": 0.3 * np.sin(2 * np.pi * 440.0 * t),
        "noise": rng.normal(0.0, 0.1, t.size),
    }
    for name, wave in signals.items():
        probs = detector.frame_probabilities(wave.astype(np.float32))
        assert probs.shape == (int(np.ceil(t.size / FRAME_SAMPLES)),)
        assert float(np.mean(probs >= 0.5)) < 0.05, name


def test_real_speech_is_mostly_speech_and_its_pauses_are_found(detector: SpeechDetector, speech: np.ndarray) -> None:
    activity = detector.activity(speech)
    fraction = activity.speech_fraction(0, len(speech))
    assert 0.6 < fraction < 0.98  # read speech, with pauses between phrases
    assert activity.speech_seconds == pytest.approx(fraction * np.ceil(len(speech) / 512) * 512 / RATE)
    # the same speech after 4 s of silence: the first window is silence, the later ones speech
    padded = np.concatenate([np.zeros(4 * RATE, np.float32), speech])
    padded_activity = detector.activity(padded)
    assert padded_activity.speech_fraction(0, 4 * RATE) < 0.05
    windows = padded_activity.window_fractions([0, 4 * RATE], [64600, 4 * RATE + 64600])
    assert windows[0] < 0.1 and windows[1] > 0.5


def test_openvino_matches_the_wheels_own_torchscript_model(detector: SpeechDetector, speech: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    from silero_vad import load_silero_vad

    model = load_silero_vad()  # the TorchScript model shipped in the same wheel
    with torch.no_grad():
        expected = model.audio_forward(torch.from_numpy(speech), RATE).numpy().reshape(-1)
    got = detector.frame_probabilities(speech)
    assert expected.std() > 0.2  # speech and pauses: a broken model would not vary like this
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_activity_refuses_empty_ranges_and_other_rates(detector: SpeechDetector) -> None:
    activity = SpeechActivity(probabilities=np.array([0.9, 0.1, 0.6], np.float32), samples=1500)
    assert activity.speech_fraction(0, 1500) == pytest.approx(2 / 3)
    assert activity.speech_fraction(600, 1000) == 0.0  # frame 1 only
    assert activity.speech_probability(0, 1024) == pytest.approx(0.5)
    with pytest.raises(InvalidArgument):
        activity.speech_fraction(1500, 1600)
    with pytest.raises(InvalidArgument, match="16 kHz"):
        detector.frame_probabilities(np.zeros(8000, np.float32), 8000)


def test_the_model_file_is_found_without_importing_torch() -> None:
    code = (
        "import sys; from shared.vad import SpeechDetector, silero_model_path; "
        "d = SpeechDetector.from_package(); import numpy as np; d.frame_probabilities(np.zeros(2048, np.float32)); "
        "print(silero_model_path().name, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == [silero_model_path().name, "False"]
