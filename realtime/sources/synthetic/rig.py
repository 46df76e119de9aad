"""One synthetic person, rigged: identity shape, blendshapes, geometry and texture atlas built once,
then posed, lit and drawn into each frame (with glasses and motion blur on top)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .geometry import EYE_CAP_DEPTH, MOUTH_CAP_DEPTH, build_geometry, cap_centre
from .identity import Identity
from .maths import rotation_angles, rotation_matrix
from .mesh import EXPRESSIONS, FaceTemplate, blendshapes, deform
from .raster import rasterize, vertex_normals
from .texture import EYE, paint_atlas

EYEBALL_RADIUS = 0.125  # template units (outer inter-ocular distance = 1): sets iris travel per gaze angle


class Rig:
    """One identity's geometry, blendshapes, texture atlas and per-frame drawing."""

    def __init__(self, template: FaceTemplate, identity: Identity, seed: int):
        self.template = template
        self.identity = identity
        rng = np.random.default_rng([seed, 0x716])
        self.face = deform(template, identity).astype(np.float64)
        self.pivot = np.array([0.0, 0.55, 0.95])  # neck pivot behind the ear line
        self.blend = blendshapes(template, self.face)
        self.geometry = build_geometry(template, self.face, identity)
        g = self.geometry
        self.atlas = paint_atlas(template, identity, self.face, g.face_uv_map, g.head_theta0, rng)

    def draw(self, image, rotation, pivot, focal, expr, gaze, light_dir, light_rgb, blur):
        """Render into ``image`` in place; returns (landmarks (468, 2), pupils (2, 2)) float32.

        ``rotation`` and ``pivot`` place the head (the neck pivot) in the camera frame, ``focal``
        is in pixels, ``gaze`` (yaw, pitch) in degrees, ``blur`` a pixel motion vector or None."""
        h, w = image.shape[:2]
        g = self.geometry
        pos = self._posed(expr)
        # The shoulders follow a quarter of the head's yaw and a third of its roll; the neck takes the rest.
        body_rotation = rotation_matrix(*(np.degrees(rotation_angles(rotation)) * np.array([0.25, 0.0, 0.3])))
        cam = (pos - self.pivot) @ rotation.T + pivot
        cam[g.body_positions] = (pos[g.body_positions] - self.pivot) @ body_rotation.T + pivot
        xy = focal * cam[:, :2] / cam[:, 2:3] + np.array([w / 2, h / 2])
        normals = self._normals(pos, rotation, body_rotation)
        light, spec = self._shade(normals, cam, light_dir, light_rgb)
        uv, pupils = self._eyes(pos, rotation, pivot, focal, gaze, (w, h))

        x0 = max(int(xy[:, 0].min()) - 2, 0)
        x1 = min(int(xy[:, 0].max()) + 3, w)
        y0 = max(int(xy[:, 1].min()) - 2, 0)
        y1 = min(int(xy[:, 1].max()) + 3, h)
        if x1 > x0 and y1 > y0:
            region = image[y0:y1, x0:x1]
            zbuf = np.full(region.shape[:2], np.inf, np.float32)
            local_xy = (xy - np.array([x0, y0])).astype(np.float32)
            rasterize(
                local_xy[g.rv_pos],
                cam[g.rv_pos, 2].astype(np.float32),
                uv,
                light.astype(np.float32),
                spec.astype(np.float32),
                g.tris,
                g.cull,
                g.alpha_test,
                self.atlas,
                region,
                zbuf,
            )
            if self.identity.glasses != "none":
                _draw_glasses(
                    region,
                    zbuf,
                    self.identity.glasses,
                    self.face,
                    self.template,
                    rotation,
                    pivot,
                    self.pivot,
                    focal,
                    (w / 2 - x0, h / 2 - y0),
                )
            # Lens softness doubles as anti-aliasing of silhouette edges.
            region[:] = cv2.GaussianBlur(region, (5, 5), 0.75)
            if blur is not None:
                _motion_blur(region, blur)
        landmarks = xy[:468].astype(np.float32)
        return landmarks, pupils

    def _posed(self, expr: dict[str, float]) -> np.ndarray:
        """Positions (P, 3) with the expression applied; the caps follow their moved rims."""
        g = self.geometry
        pos = g.rest.copy()
        face = self.face + sum(expr[k] * self.blend[k] for k in EXPRESSIONS)
        pos[:468] = face
        for cap in g.eye_caps:
            pos[cap.positions[-1]] = cap_centre(face, cap.positions[:-1], EYE_CAP_DEPTH)
        mouth = np.concatenate([self.template.mouth_upper, self.template.mouth_lower])
        pos[g.mouth_centre] = cap_centre(face, mouth, MOUTH_CAP_DEPTH)
        return pos

    def _normals(self, pos: np.ndarray, rotation: np.ndarray, body_rotation: np.ndarray) -> np.ndarray:
        """Camera-frame unit normals (P, 3) float32; the body turns less than the head."""
        g = self.geometry
        normals = vertex_normals(pos.astype(np.float32), g.pos_tris)
        normals[g.body_positions] = normals[g.body_positions] @ body_rotation.T
        head = np.setdiff1d(g.lit_positions, g.body_positions)
        normals[head] = normals[head] @ rotation.T.astype(np.float32)
        # Cap centres and the sheet take the head's forward direction (they shape no normals).
        unlit = np.ones(len(pos), bool)
        unlit[g.lit_positions] = False
        normals[unlit] = rotation @ np.array([0.0, 0.0, -1.0])
        return normals

    def _shade(
        self, normals: np.ndarray, cam: np.ndarray, light_dir: np.ndarray, light_rgb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per render vertex light multipliers (N, 3) and specular highlight (N,)."""
        g = self.geometry
        view = -cam / np.linalg.norm(cam, axis=1, keepdims=True)
        n = normals[g.rv_pos].astype(np.float64)
        ndl = n @ light_dir
        diffuse = np.clip((ndl + 0.35) / 1.35, 0, 1)  # wrapped Lambert: soft terminator, like skin
        half = view[g.rv_pos] + light_dir
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        spec = g.rv_spec * np.clip((n * half).sum(1), 0, 1) ** 24 * (ndl > 0)
        ambient = 0.38 + 0.1 * np.clip(-n[:, 1], 0, 1)  # a little more sky light on upward faces
        light = (ambient[:, None] + 0.78 * diffuse[:, None] * light_rgb[None, :]) * g.rv_gain[:, None]
        return light, spec

    def _eyes(self, pos, rotation, pivot, focal, gaze, size) -> tuple[np.ndarray, np.ndarray]:
        """Render-vertex uv with the eye caps' iris moved by the gaze, and the pupils' pixel centres."""
        w, h = size
        uv = self.geometry.rv_uv.copy()
        pupils = np.zeros((2, 2), np.float32)
        shift = EYEBALL_RADIUS * np.array([math.sin(math.radians(gaze[0])), -math.sin(math.radians(gaze[1]))])
        for e, cap in enumerate(self.geometry.eye_caps):
            local = pos[cap.positions, :2] - cap.rest_centre - shift
            uv[cap.vertices, 0] = EYE[1] + local[:, 0] * EYE[2]
            uv[cap.vertices, 1] = EYE[0] + local[:, 1] * EYE[2]
            iris = np.array([*(cap.rest_centre + shift), pos[cap.positions[-1], 2]])
            ic = (iris - self.pivot) @ rotation.T + pivot
            pupils[e] = focal * ic[:2] / ic[2] + np.array([w / 2, h / 2])
        return uv, pupils


def _draw_glasses(region, zbuf, style, face, t, rotation, pivot, head_pivot, focal, centre) -> None:
    """Frames around each eye in front of the face, temple arms hidden where the head is nearer."""

    def project(pts):
        cam = (pts - head_pivot) @ rotation.T + pivot
        return focal * cam[:, :2] / cam[:, 2:3] + np.asarray(centre), cam[:, 2]

    color = (30, 30, 35) if style == "square" else (40, 70, 110)
    thick = max(1, int(round(focal / pivot[2] * 0.03)))
    rims = []
    for upper, lower in t.eyes:
        pts = face[np.concatenate([upper, lower])]
        c = pts.mean(0)
        c[1] += 0.03
        c[2] = face[[6, 168], 2].mean() - 0.05
        ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        if style == "round":
            ring = np.stack([0.24 * np.cos(ang), 0.21 * np.sin(ang), 0 * ang], 1)
        else:
            sq = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** 0.35, np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** 0.35
            ring = np.stack([0.27 * sq[0], 0.17 * sq[1], 0 * ang], 1)
        ring[:, 2] += 0.05 * (ring[:, 0] * np.sign(c[0])) ** 2 * 8
        rims.append(c + ring)
    for ring in rims:
        xy, _ = project(ring)
        cv2.polylines(region, [np.round(xy * 16).astype(np.int32)], True, color, thick, cv2.LINE_AA, shift=4)
    bridge = np.array([rims[0][0], rims[1][len(rims[1]) // 2]])
    xy, _ = project(np.array([bridge[0], (bridge[0] + bridge[1]) / 2 - [0, 0.04, 0.02], bridge[1]]))
    cv2.polylines(region, [np.round(xy * 16).astype(np.int32)], False, color, thick, cv2.LINE_AA, shift=4)
    h, w = zbuf.shape
    for ring, side in ((rims[0], -1), (rims[1], 1)):
        start = ring[len(ring) // 2] if side < 0 else ring[0]
        end = np.array([start[0] + side * 0.12, face[234, 1] - 0.05, face[234, 2] + 0.6])
        seg = start + (end - start) * np.linspace(0, 1, 12)[:, None]
        xy, z = project(seg)
        for i in range(len(seg) - 1):
            mx, my = ((xy[i] + xy[i + 1]) / 2).astype(int)
            if 0 <= mx < w and 0 <= my < h and z[i] > zbuf[my, mx] + 0.02:
                continue
            cv2.line(
                region,
                tuple(np.round(xy[i] * 16).astype(int)),
                tuple(np.round(xy[i + 1] * 16).astype(int)),
                color,
                thick,
                cv2.LINE_AA,
                shift=4,
            )


def _motion_blur(region: np.ndarray, vector: np.ndarray) -> None:
    """Box blur along ``vector`` (pixels) in place."""
    length = float(np.hypot(*vector))
    if length < 1.0:
        return
    k = int(math.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    d = vector / length
    for s in np.linspace(-length / 2, length / 2, 2 * k):
        kernel[int(round(c + d[1] * s)), int(round(c + d[0] * s))] += 1
    region[:] = cv2.filter2D(region, -1, kernel / kernel.sum())
