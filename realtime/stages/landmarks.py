"""Named sets of mediapipe FaceMesh landmark indices (468-point topology), in one place.

"Right" and "left" are the person's own: their right eye is on the image's left in a frontal view.
Loops are closed outlines in order; pairs are (upper, lower) points whose distance measures an opening.
"""

from __future__ import annotations

import numpy as np

# index tables, laid out as rows of numbers
# fmt: off
#: the face outline, a loop starting at the top of the forehead (10)
FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
], np.intp)

#: outer eye corners; their distance is the inter-ocular distance that scale-free measures divide by
EYE_CORNERS = np.array([33, 263], np.intp)

#: eye outlines (lid margins), loops from the outer corner over the upper lid and back under the lower
RIGHT_EYE = np.array([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7], np.intp)
LEFT_EYE = np.array([263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249], np.intp)

#: the inner lip line, a loop: what shows between the lips (teeth, tongue) lies inside it
MOUTH_INNER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95],
                       np.intp)

#: eyebrows, loops along the upper edge and back along the lower
RIGHT_BROW = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46], np.intp)
LEFT_BROW = np.array([300, 293, 334, 296, 336, 285, 295, 282, 283, 276], np.intp)

#: the outer lip line, a loop from the right mouth corner (61) over the upper lip
LIPS = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146],
                np.intp)

#: the tip of the nose with the nostrils and the wings (use its convex hull)
NOSE_TIP = np.array([5, 275, 278, 294, 327, 326, 2, 97, 98, 64, 48, 45], np.intp)

#: (upper, lower) lid midpoints of the right and left eye, and the inner-lip midpoints
EYE_OPENING_PAIRS = np.array([[159, 145], [386, 374]], np.intp)
MOUTH_OPENING_PAIR = np.array([13, 14], np.intp)
# fmt: on


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the outer eye corners of (468, 2) landmarks, in their units."""
    a, b = landmarks[EYE_CORNERS]
    return float(np.hypot(*(a - b)))


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap of (468, 2) landmarks divided by the inter-ocular distance (0 = closed)."""
    upper, lower = landmarks[MOUTH_OPENING_PAIR]
    return float(np.hypot(*(upper - lower))) / max(inter_ocular(landmarks), 1e-6)


def eye_opening(landmarks: np.ndarray) -> float:
    """Mean lid gap of both eyes of (468, 2) landmarks divided by the inter-ocular distance."""
    gaps = landmarks[EYE_OPENING_PAIRS[:, 0]] - landmarks[EYE_OPENING_PAIRS[:, 1]]
    return float(np.hypot(gaps[:, 0], gaps[:, 1]).mean()) / max(inter_ocular(landmarks), 1e-6)
