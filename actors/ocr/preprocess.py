"""OpenCV preprocessing steps. Each step is a pure function on a uint8 image.

Geometric steps also return the 3x3 affine matrix that maps input pixel coordinates to
output pixel coordinates, so word boxes can be mapped back to the original page.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Matrix = np.ndarray  # 3x3 float64 affine


def identity() -> Matrix:
    return np.eye(3, dtype=np.float64)


def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB/gray uint8 -> gray uint8."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def rescale_factor(
    shape: tuple[int, ...],
    dpi: float | None,
    *,
    target_dpi: int = 300,
    min_height_px: int = 2000,
    max_scale: float = 4.0,
    max_pixels: int | None = None,
) -> float:
    """Upscale factor (>= 1) bringing a page to ``target_dpi``, or to ``min_height_px`` when
    the resolution is unknown. Never downscales; capped by ``max_scale`` and ``max_pixels``."""
    height, width = shape[:2]
    known = dpi is not None and dpi > 0
    factor = target_dpi / dpi if known and dpi else min_height_px / max(height, 1)
    factor = min(max(factor, 1.0), max_scale)
    if max_pixels is not None and height * width * factor * factor > max_pixels:
        factor = max(1.0, math.sqrt(max_pixels / (height * width)))
    return 1.0 if factor < 1.05 else factor


def text_scale_factor(
    shape: tuple[int, ...],
    text_height: float,
    *,
    target_px: float = 24.0,
    min_scale: float = 0.5,
    max_scale: float = 4.0,
    max_pixels: int | None = None,
) -> float:
    """Scale factor bringing the median word height (``text_height`` px, e.g. from a first
    Tesseract pass) to ``target_px``: small print is enlarged, oversized text (a 96-dpi
    label on a 300-dpi scan) shrunk. Bounded by ``min_scale``/``max_scale`` and
    ``max_pixels``; 1.0 when within 5 %."""
    height, width = shape[:2]
    factor = min(max(target_px / max(text_height, 1.0), min_scale), max_scale)
    if max_pixels is not None and height * width * factor * factor > max_pixels:
        factor = min(factor, math.sqrt(max_pixels / (height * width)))
    return 1.0 if abs(factor - 1.0) < 0.05 else factor


def rescale(image: np.ndarray, factor: float) -> tuple[np.ndarray, Matrix]:
    if factor == 1.0:
        return image, identity()
    interpolation = cv2.INTER_CUBIC if factor > 1.0 else cv2.INTER_AREA
    out = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    matrix = np.diag([out.shape[1] / image.shape[1], out.shape[0] / image.shape[0], 1.0])
    return out, matrix


def denoise(gray: np.ndarray) -> np.ndarray:
    """Non-local-means denoising (salt-and-pepper and scanner noise)."""
    return cv2.fastNlMeansDenoising(gray, None, h=10, templateWindowSize=7, searchWindowSize=21)


def binarize(gray: np.ndarray) -> np.ndarray:
    """Otsu's global threshold."""
    _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return out


def normalize_contrast(gray: np.ndarray) -> np.ndarray:
    """Stretch faint print: divide by the estimated background, then stretch to 0..255.

    Helps faded thermal receipts whose ink is light gray on uneven paper.
    """
    kernel = max(15, (min(gray.shape[:2]) // 40) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((kernel, kernel), np.uint8))
    background = cv2.medianBlur(background, 5)
    flat = cv2.divide(gray, background, scale=255)
    lo, hi = np.percentile(flat, [0.5, 99.5]) if flat.size else (0.0, 255.0)
    if hi - lo < 1:
        return flat
    stretched = (flat.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(stretched, 0, 255).astype(np.uint8)


def clahe(gray: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation: local contrast per tile, so faint
    or unevenly faded print (thermal receipts, shadows) darkens where it is, without a
    global threshold that a dark scanner border or a photo would skew."""
    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles)).apply(gray)


def remove_borders(gray: np.ndarray) -> np.ndarray:
    """Whiten dark regions connected to the image edge (scanner borders, punched holes).

    Components touching the edge that are large (> 2 % of the page) and span more than a
    third of a side are painted white; text near the edge is left alone.
    """
    _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    height, width = gray.shape[:2]
    out = gray.copy()
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches = x == 0 or y == 0 or x + w >= width or y + h >= height
        spans = w > width / 3 or h > height / 3
        if touches and spans and area > 0.02 * width * height / 10:
            out[labels == label] = 255
    return out


def estimate_skew(gray: np.ndarray, max_angle: float = 15.0) -> float:
    """Skew of the text lines in degrees: positive when lines rise to the right
    (the page is turned counter-clockwise); ``rotate(image, -angle)`` straightens it.

    Projection-profile search: the rotation whose horizontal ink profile is sharpest
    (largest sum of squares) aligns the lines. Coarse 0.5 deg grid, then 0.05 deg refinement.
    Returns 0.0 when there is too little ink to tell.
    """
    height, width = gray.shape[:2]
    scale = min(1.0, 1600.0 / max(height, width))
    small = gray if scale == 1.0 else cv2.resize(
        gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
    )
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if ys.size < 200 or ys.size > 0.6 * ink.size:
        return 0.0
    if ys.size > 300_000:
        pick = np.random.default_rng(0).choice(ys.size, 300_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    xs_c = xs.astype(np.float64) - small.shape[1] / 2.0
    ys_c = ys.astype(np.float64) - small.shape[0] / 2.0

    def score(angle_deg: float) -> float:
        theta = math.radians(angle_deg)
        # Row of each ink pixel after turning the page clockwise by angle (undoing the skew).
        rows = ys_c * math.cos(theta) + xs_c * math.sin(theta)
        hist = np.bincount((rows - rows.min()).astype(np.int64))
        return float(np.dot(hist, hist))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return float(max(fine, key=score))


def rotate(image: np.ndarray, angle_deg: float) -> tuple[np.ndarray, Matrix]:
    """Rotate counter-clockwise by ``angle_deg`` on a canvas grown to fit; fill white."""
    height, width = image.shape[:2]
    center = (width / 2.0, height / 2.0)
    m = cv2.getRotationMatrix2D(center, angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    new_w = round(height * sin + width * cos)
    new_h = round(height * cos + width * sin)
    m[0, 2] += new_w / 2.0 - center[0]
    m[1, 2] += new_h / 2.0 - center[1]
    fill = 255 if image.ndim == 2 else (255, 255, 255)
    out = cv2.warpAffine(
        image, m, (new_w, new_h), flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT, borderValue=fill,
    )
    return out, np.vstack([m, [0.0, 0.0, 1.0]])


def rotate90(image: np.ndarray, clockwise_degrees: int) -> tuple[np.ndarray, Matrix]:
    """Rotate by a multiple of 90 degrees clockwise (exact, no resampling)."""
    k = (clockwise_degrees // 90) % 4
    height, width = image.shape[:2]
    if k == 0:
        return image, identity()
    if k == 1:
        out = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
        m = np.array([[0, -1, height - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64)
    elif k == 2:
        out = cv2.rotate(image, cv2.ROTATE_180)
        m = np.array([[-1, 0, width - 1], [0, -1, height - 1], [0, 0, 1]], dtype=np.float64)
    else:
        out = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
        m = np.array([[0, 1, 0], [-1, 0, width - 1], [0, 0, 1]], dtype=np.float64)
    return out, m


def map_boxes(inverse: Matrix, boxes: np.ndarray) -> np.ndarray:
    """Map axis-aligned boxes (N x 4: left, top, width, height) through ``inverse``
    (processed -> original coordinates): the integer box around each mapped box."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    left, top = boxes[:, 0], boxes[:, 1]
    right, bottom = left + boxes[:, 2], top + boxes[:, 3]
    xs = np.stack([left, right, left, right], axis=1)
    ys = np.stack([top, top, bottom, bottom], axis=1)
    mx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    my = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    x0, y0 = mx.min(axis=1), my.min(axis=1)
    x1, y1 = mx.max(axis=1), my.max(axis=1)
    return np.stack([np.round(x0), np.round(y0), np.round(x1 - x0), np.round(y1 - y0)],
                    axis=1).astype(np.int64)


def map_box(
    inverse: Matrix, left: float, top: float, width: float, height: float
) -> tuple[int, int, int, int]:
    """One box through ``inverse`` (see :func:`map_boxes`)."""
    x, y, w, h = map_boxes(inverse, np.array([[left, top, width, height]]))[0]
    return int(x), int(y), int(w), int(h)
