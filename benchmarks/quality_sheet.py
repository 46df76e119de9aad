"""Contact sheet of the quality benchmark: per case, three frames input | output around the face,
with the case's scores written beside them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

TILE = 180
LABEL_WIDTH = 250
PICKS = (0.25, 0.5, 0.75)


def face_tile(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(TILE, TILE, 3): a square around the face (1.6× its landmark box), resized."""
    low, high = landmarks.min(0), landmarks.max(0)
    centre, half = (low + high) / 2, 0.8 * float((high - low).max())
    matrix = np.array(
        [
            [TILE / (2 * half), 0, TILE / 2 - centre[0] * TILE / (2 * half)],
            [0, TILE / (2 * half), TILE / 2 - centre[1] * TILE / (2 * half)],
        ]
    )
    return cv2.warpAffine(image, matrix, (TILE, TILE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.42) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


SCORE_LINES = (
    ("psnr_db", "PSNR {:.2f} dB"),
    ("ssim", "SSIM {:.3f}"),
    ("landmark_error", "landmarks {:.3f} IOD"),
    ("mouth_r", "mouth r {:.2f}"),
    ("eye_r", "eyes r {:.2f}"),
    ("seam_delta_e", "seam {:.2f} dE"),
    ("flicker", "flicker {:.2f}"),
    ("color_jitter", "colour jitter {:.2f}"),
    ("identity_share", "identity {:.0%}"),
    ("occluder_error", "occluder err {:.1f}"),
    ("sharpness_face", "detail face {:.2f}"),
    ("sharpness_eyes", "detail eyes {:.2f}"),
)


def sheet_row(
    name: str,
    scores: dict[str, float],
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
    landmarks: list[np.ndarray | None],
) -> np.ndarray:
    row = np.full((TILE + 10, LABEL_WIDTH + 2 * len(PICKS) * TILE + 10 * len(PICKS), 3), 32, np.uint8)
    _text(row, name.replace("→", " -> "), (8, 22), 0.55)
    lines = [fmt.format(scores[key]) for key, fmt in SCORE_LINES if key in scores and not np.isnan(scores[key])]
    for k, line in enumerate(lines):  # up to 12 lines fit beside a tile at this spacing
        _text(row, line, (8, 40 + 13 * k), 0.38)
    found = [t for t, p in enumerate(landmarks) if p is not None]
    x = LABEL_WIDTH
    for share in PICKS:
        if not found:
            break
        t = found[min(int(share * len(found)), len(found) - 1)]
        points = landmarks[t]
        assert points is not None  # found: the frames with landmarks
        for image in (inputs[t], outputs[t]):
            row[5 : 5 + TILE, x : x + TILE] = face_tile(image, points)
            x += TILE
        _text(row, f"frame {t}", (x - 2 * TILE + 4, TILE + 2), 0.35)
        x += 10
    return row


def contact_sheet(rows: list[tuple[str, dict, list, list, list]], path: Path) -> Path:
    """Stack one :func:`sheet_row` per case (input left, output right in each pair) into a PNG."""
    header = np.full((26, LABEL_WIDTH + 2 * len(PICKS) * TILE + 10 * len(PICKS), 3), 32, np.uint8)
    _text(header, "each pair: camera input | swapcam output", (LABEL_WIDTH, 18), 0.5)
    cv2.imwrite(str(path), np.vstack([header, *(sheet_row(*r) for r in rows)]))
    return path
