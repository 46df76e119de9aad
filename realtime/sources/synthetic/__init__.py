"""Synthetic camera: a seeded, deterministic procedural face video that mediapipe FaceMesh detects.

It stands in for the webcam where there is none (CI, demos, training data) and gives every frame its
ground truth, so alignment, stabilization and swapping can be tested without a detector or a person.

**Pipeline.** A 3D face template (``data/synthetic_face.npz``, built by
``python -m swapcam.realtime.sources.synthetic.template``) holds the 468 FaceMesh vertices and triangles. An
:class:`Identity` deforms it with smooth displacement fields (face width and length, jaw, chin,
cheeks, eye size/spacing/tilt, brows, nose, lips) and paints a texture in UV space (skin with
mottling and redness, brows, lashes, lips, nostrils, beard, hairline). A closed head shell is grown
behind the face outline (ears, hair volume), with a neck and shoulders in a shirt, and an alpha-tested
sheet for long hair. Eye openings are closed by caps showing sclera, iris and pupil (the iris slides
with the gaze), the mouth opening by a cap showing teeth and a dark interior. Expressions are linear
blendshapes: ``mouth_open`` (jaw rotation), ``smile`` (mouth corners up/out, cheeks up), ``blink``
(upper lids down) and ``brows_up``. Each frame is posed with a pinhole camera, lit per vertex
(wrapped Lambert + ambient + Blinn specular, with a slowly moving light of changing colour
temperature), rasterized with a z-buffer over the head's bounding box only (Numba), softened, and
composited onto a background rendered once per video. Sensor noise comes from one precomputed
noise tile read at a per-frame offset.

**Ground truth** (:class:`SyntheticFrame`):

* ``landmarks`` — (468, 2) float32 pixel (x, y) of the template vertices, indexed exactly like
  mediapipe FaceMesh output (``refine_landmarks=False``). Key indices: outer eye corners 33 (the
  person's right eye, left in the image) and 263 (person's left), inner eye corners 133 and 362,
  upper/lower eyelid midpoints 159/145 (right) and 386/374 (left), nose tip 1, subnasale 2, mouth
  corners 61 (person's right) and 291, upper/lower lip centres 0/17 (outer) and 13/14 (inner),
  chin 152, forehead top 10, face outline sides 234 (person's right) and 454.
  The outline loop, eyelid arcs, lip arcs and brow rows are :class:`FaceTemplate` fields.
* ``pupils`` — (2, 2) float32 pixel centres of the pupils: row 0 the person's right eye (near
  landmarks 33/133, image left in a frontal view), row 1 the person's left eye (362/263).
* ``pose`` — (yaw, pitch, roll) in degrees of the head in the camera frame: yaw > 0 turns the nose
  towards image right, pitch > 0 tilts the nose up, roll > 0 rotates the face clockwise in the image.
  Trajectories stay within yaw ±30°, pitch ±20°, roll ±20° (scaled by ``motion``).
* ``expression`` — ``mouth_open``, ``smile``, ``blink``, ``brows_up`` in 0..1.
* ``occluder`` — with ``occluder=hand``, the (H, W) bool mask of a hand that comes up in front of
  the face every few seconds (:mod:`swapcam.realtime.sources.synthetic.occluder`); None without one.

**Motion.** Pose, position, scale, gaze, light and the expressions (except blinks) are sums of three
seeded sinusoids (periods 3–25 s; gaze 1.5–6 s; talking syllables 0.25–0.45 s), so they are smooth
and frame ``i`` follows from (settings, i) alone. Blinks are 0.3 s events at a seeded random time in
most 4 s slots. The eyes partly counter-rotate against the head, as people looking at a screen do.

**Speed.** About 110 frames/s at 1280x720 on one core: only the head's bounding box is rasterized,
the background and the noise tile are made once per video.

**Modules.** ``identity`` (who: shape, colours, hair styles, presets), ``mesh`` (template, identity
shape, blendshapes), ``geometry`` (the rig's surfaces), ``texture`` (the atlas), ``raster`` (Numba
cores), ``rig`` (posing, lighting, drawing), ``scene`` (trajectory, light, background, noise),
``video`` (settings, frames, :class:`SyntheticVideo`), ``occluder`` (the hand), ``template``
(rebuilds the template), ``maths`` (easing and rotations they share).
"""

from .identity import HAIR_STYLES, PRESET_NAMES, Identity, random_identity
from .mesh import EXPRESSIONS, TEMPLATE_PATH, FaceTemplate
from .video import POSE_RANGE, SyntheticFrame, SyntheticSettings, SyntheticVideo

__all__ = [
    "EXPRESSIONS",
    "HAIR_STYLES",
    "POSE_RANGE",
    "PRESET_NAMES",
    "TEMPLATE_PATH",
    "FaceTemplate",
    "Identity",
    "SyntheticFrame",
    "SyntheticSettings",
    "SyntheticVideo",
    "random_identity",
]
