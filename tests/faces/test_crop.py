"""The reference margin and ``scale`` crop (PIPELINE.md step 3), worked through by hand on small cases."""

from __future__ import annotations

import numpy as np
import pytest

from shared.faces.crop import CropRegion, crop_face_scale_policy, enlarge_box, scale_crop_region


def test_margin_is_a_rounded_fifth_of_the_height_twice_on_top_and_clamped_to_the_frame() -> None:
    # height 99.5 -> m = round(19.9) = 20
    np.testing.assert_allclose(
        enlarge_box(np.array([100.3, 80.6, 180.2, 180.1]), 0.2, (480, 640)), [80.3, 40.6, 200.2, 200.1], atol=1e-4
    )
    # torch.round and np.round round halves to even: 2.5 -> 2, 3.5 -> 4
    assert enlarge_box(np.array([0, 0, 10, 12.5]), 0.2).tolist() == [-2.0, -4.0, 12.0, 14.5]
    assert enlarge_box(np.array([0, 0, 10, 17.5]), 0.2).tolist() == [-4.0, -8.0, 14.0, 21.5]
    # near the top-right corner: clamped to 0 and to the frame's width; unclamped without a frame
    assert enlarge_box(np.array([600.0, 10.0, 660.0, 70.0]), 0.2, (480, 640)).tolist() == [588.0, 0.0, 640.0, 82.0]
    assert enlarge_box(np.array([600.0, 10.0, 660.0, 70.0]), 0.2).tolist() == [588.0, -14.0, 672.0, 82.0]


def test_scale_region_is_the_square_of_the_truncated_box_centred_by_floor_division() -> None:
    # w = 200 - 80 = 120, h = 200 - 40 = 160 -> side 160; centre (280.5 // 2, 240.7 // 2) = (140, 120)
    assert scale_crop_region(np.array([80.3, 40.6, 200.2, 200.1]), 640, 480) == CropRegion(60.0, 40.0, 220.0, 200.0)
    # clamped by the frame: right edge 640, so the region is 67 x 82, not square (and is resized anyway)
    assert scale_crop_region(np.array([588.0, 0.0, 640.0, 82.0]), 640, 480) == CropRegion(573.0, 0.0, 640, 82.0)


def test_the_crop_is_cut_from_the_region_and_resized_by_pillow() -> None:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[40:200, 60:220] = 200  # exactly the region of the box below
    frame[40:200, 60:140, 1] = 50  # its left half differs in green
    crop = crop_face_scale_policy(frame, np.array([100.3, 80.6, 180.2, 180.1]), margin=0.2, size=224)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    assert (crop[:, :, 0] == 200).all()  # nothing from outside the region
    assert (crop[:, :110, 1] == 50).all() and (crop[:, 114:, 1] == 200).all()


def test_shrinking_antialiases_like_pillow_not_like_opencv_inter_linear() -> None:
    import cv2

    # A one-pixel checkerboard shrunk 4.46x: Pillow's bilinear widens its support and averages it to grey;
    # OpenCV's INTER_LINEAR interpolates between 2x2 neighbours only and aliases it into a strong pattern.
    board = ((np.indices((1000, 1000)).sum(0) % 2) * 255).astype(np.uint8)
    frame = np.repeat(board[:, :, None], 3, axis=2)
    box = np.array([0.0, 0.0, 1000.0, 1000.0])  # margin clamped away: the whole frame is the region
    crop = crop_face_scale_policy(frame, box, size=224)
    assert abs(float(crop.mean()) - 127.5) < 1.0 and crop.std() < 2.0
    opencv = cv2.resize(frame, (224, 224), interpolation=cv2.INTER_LINEAR)
    assert opencv.std() > 20 and np.abs(opencv.astype(int) - crop).mean() > 10  # not interchangeable


@pytest.mark.parametrize("box", [np.array([700.0, 500.0, 900.0, 800.0]), np.array([5.0, 5.0, 5.0, 5.0])])
def test_degenerate_or_outside_boxes_give_a_crop_not_a_crash(box: np.ndarray) -> None:
    crop = crop_face_scale_policy(np.full((480, 640, 3), 7, np.uint8), box)
    assert crop.shape == (224, 224, 3) and (crop == 7).all()


def test_the_crop_equals_pillow_cutting_the_whole_frame() -> None:
    # The crop cuts the rounded region from the array before handing it to Pillow (no copy of the whole
    # frame per face); Pillow cropping the whole frame is the oracle: same pixels, bit for bit.
    from PIL import Image

    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    whole = Image.fromarray(frame)
    for _ in range(200):
        x1, y1 = rng.uniform(-60, 640), rng.uniform(-60, 360)
        w, h = rng.uniform(8, 300), rng.uniform(8, 300)
        box = np.array([x1, y1, x1 + w, y1 + h])
        region = scale_crop_region(enlarge_box(box, 0.2, frame.shape), 640, 360, 224)
        cut = whole.crop((region.left, region.top, region.right, region.bottom))
        if cut.width < 1 or cut.height < 1:
            continue  # the degenerate case has its own test
        expected = np.asarray(cut.resize((224, 224), Image.Resampling.BILINEAR))
        np.testing.assert_array_equal(crop_face_scale_policy(frame, box, margin=0.2, size=224), expected)
