"""Preprocessing steps on synthetic pages: deskew accuracy, exact 90-degree rotations and
box mapping, border removal, rescale rules."""

from __future__ import annotations

import numpy as np
import pytest

from actors.ocr import preprocess as pp
from tests.ocr.helpers import text_page


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return np.asarray(text_page(size=(1200, 1000), font_size=26, repeat=2, top=80))


@pytest.mark.parametrize("angle", [-15.0, -11.3, -6.7, -2.2, -0.6, 0.0, 0.8, 3.4, 7.9, 12.6, 15.0])
def test_deskew_residual_below_half_a_degree(page: np.ndarray, angle: float) -> None:
    skewed, _ = pp.rotate(page, angle)  # counter-clockwise by `angle`
    estimate = pp.estimate_skew(skewed)
    assert abs(estimate - angle) < 0.5
    straightened, _ = pp.rotate(skewed, -estimate)
    assert abs(pp.estimate_skew(straightened)) < 0.5


def test_estimate_skew_on_blank_page_is_zero() -> None:
    assert pp.estimate_skew(np.full((500, 400), 255, np.uint8)) == 0.0


@pytest.mark.parametrize("clockwise", [0, 90, 180, 270])
def test_rotate90_matrix_maps_pixels(clockwise: int) -> None:
    image = np.zeros((30, 50), np.uint8)
    image[4, 7] = 255  # row 4, column 7
    out, matrix = pp.rotate90(image, clockwise)
    x, y, _ = matrix @ np.array([7.0, 4.0, 1.0])
    assert out[round(y), round(x)] == 255
    inverse = np.linalg.inv(matrix)
    left, top, _, _ = pp.map_box(inverse, x, y, 0, 0)
    assert (left, top) == (7, 4)


def test_rescale_rules() -> None:
    assert pp.rescale_factor((1000, 800), 150.0) == pytest.approx(2.0)
    assert pp.rescale_factor((1000, 800), 300.0) == 1.0
    assert pp.rescale_factor((1000, 800), 600.0) == 1.0  # never downscales
    assert pp.rescale_factor((500, 400), None) == pytest.approx(4.0)  # 2000 px, capped at 4
    assert pp.rescale_factor((1000, 800), None, max_pixels=1_800_000) == pytest.approx(1.5)
    out, matrix = pp.rescale(np.zeros((10, 20), np.uint8), 2.0)
    assert out.shape == (20, 40) and matrix[0, 0] == 2.0


def test_remove_borders_whitens_a_scanner_frame_but_keeps_text(page: np.ndarray) -> None:
    framed = page.copy()
    framed[:40, :] = 0
    framed[:, -30:] = 0
    cleaned = pp.remove_borders(framed)
    assert cleaned[:40, :].min() == 255 and cleaned[:, -30:].min() == 255
    text_area = (slice(80, 400), slice(90, 900))
    assert (cleaned[text_area] < 128).sum() == (page[text_area] < 128).sum()


def test_normalize_contrast_darkens_faint_print(page: np.ndarray) -> None:
    faint = (200 + page.astype(np.int32) * 55 // 255).astype(np.uint8)  # ink at 200 of 255
    out = pp.normalize_contrast(faint)
    ink = page < 128
    assert out[ink].mean() < 100 < 200 < out[~ink].mean()


def test_binarize_and_denoise_keep_shape(page: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    noisy = np.clip(page + rng.normal(0, 20, page.shape), 0, 255).astype(np.uint8)
    assert set(np.unique(pp.binarize(noisy))) <= {0, 255}
    cleaned = pp.denoise(noisy)
    assert cleaned.shape == page.shape
    assert np.abs(cleaned.astype(int) - page).mean() < np.abs(noisy.astype(int) - page).mean()


def test_clahe_darkens_faint_print_on_uneven_paper(page: np.ndarray) -> None:
    gradient = np.linspace(0, 60, page.shape[1])[None, :]  # paper darker to the right
    faint = np.clip(210 + page.astype(np.float64) * 45 / 255 - gradient, 0, 255)
    faint = faint.astype(np.uint8)
    out = pp.clahe(faint)
    ink, paper = page < 128, page >= 128
    assert out[ink].mean() < faint[ink].mean()
    assert out[paper].mean() - out[ink].mean() > 1.2 * (faint[paper].mean() - faint[ink].mean())


def test_text_scale_factor_brings_words_to_the_target_height() -> None:
    assert pp.text_scale_factor((1000, 600), 12.0, target_px=24) == pytest.approx(2.0)
    assert pp.text_scale_factor((1000, 600), 48.0, target_px=24) == pytest.approx(0.5)
    assert pp.text_scale_factor((1000, 600), 96.0, target_px=24) == pytest.approx(0.5)  # floor
    assert pp.text_scale_factor((1000, 600), 3.0, target_px=24) == pytest.approx(4.0)  # cap
    assert pp.text_scale_factor((1000, 600), 24.5, target_px=24) == 1.0  # within 5 %
    assert pp.text_scale_factor((1000, 600), 6.0, target_px=24,
                                max_pixels=2_400_000) == pytest.approx(2.0)
    small, matrix = pp.rescale(np.zeros((100, 60), np.uint8), 0.5)
    assert small.shape == (50, 30) and matrix[0, 0] == 0.5


def test_map_boxes_maps_each_box_like_its_corners() -> None:
    _, rotated = pp.rotate90(np.zeros((30, 50), np.uint8), 90)
    _, scaled = pp.rescale(np.zeros((30, 50), np.uint8), 2.0)
    inverse = np.linalg.inv(scaled @ rotated)
    boxes = np.array([[10, 4, 6, 2], [0, 0, 1, 1], [20.5, 7, 3, 9]])
    mapped = pp.map_boxes(inverse, boxes)
    for (left, top, width, height), got in zip(boxes, mapped, strict=True):
        corners = np.array([[left, top, 1], [left + width, top, 1], [left, top + height, 1],
                            [left + width, top + height, 1]]) @ inverse.T
        x0, y0 = corners[:, 0].min(), corners[:, 1].min()
        expected = [round(x0), round(y0), round(corners[:, 0].max() - x0),
                    round(corners[:, 1].max() - y0)]
        assert got.tolist() == expected
    assert pp.map_boxes(inverse, np.empty((0, 4))).shape == (0, 4)
