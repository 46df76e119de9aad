"""Builds ``data/synthetic_face.npz``, the 3D face template behind :mod:`swapcam.realtime.sources.synthetic`.

Regenerate it with::

    python -m swapcam.realtime.sources.synthetic.template [--rounds N] [--out PATH]

The mediapipe wheel ships the FaceMesh topology (``FACEMESH_TESSELATION``) but not the 3D vertex
positions, and nothing third-party may be copied into the repo, so the template is bootstrapped from
mediapipe itself, never from photos of people:

1. **Topology.** Triangles are the 3-cliques of the tesselation edge graph, minus the two cliques
   that are not faces (beside the nose: all three of their edges are shared by three cliques, where
   a real edge is shared by at most two). Each triangle is oriented so its normal
   ``cross(b - a, c - a)`` points out of the face (towards the camera, -z). The boundary edges form
   four loops: the face oval, the two eye openings and the inner lip line; they and mediapipe's
   eyebrow and lip contours are stored as ordered index arrays.
2. **Bootstrap.** A flat cartoon face (ellipse, eyes, brows, nose line, mouth) drawn with OpenCV is
   run through ``FaceMesh(static_image_mode=True)``; its 468 (x, y, z) landmarks, centred between
   the outer eye corners, scaled to unit outer inter-ocular distance and made left/right symmetric,
   are the first template.
3. **Refinement.** Each round renders the current template with :class:`SyntheticVideo` (several
   preset identities, frontal and turned poses), detects it again, maps every detection back into
   template space through the known pose (a similarity fit absorbs mediapipe's free scale and
   offset) and moves the template towards the mean detection. After a few rounds the ground truth the
   renderer reports and what mediapipe sees on its renders agree closely.

Everything is deterministic: same mediapipe version and renderer → same arrays. Because step 3
fits the template to the renderer, regenerate the file after changing how faces are drawn.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from .identity import PRESET_NAMES
from .mesh import TEMPLATE_PATH, FaceTemplate
from .video import SyntheticSettings, SyntheticVideo

# Mediapipe indices of the points that fix the template frame (documented in the package docstring).
_R_OUTER, _L_OUTER = 33, 263


def tesselation_triangles() -> np.ndarray:
    """(T, 3) int32 faces of the FaceMesh tesselation, unoriented (see module docstring, step 1)."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {(min(a, b), max(a, b)) for a, b in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = {i: set() for i in range(468)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    cliques = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]})
    uses = Counter(e for t in cliques for e in _edges(t))
    faces = [t for t in cliques if not all(uses[e] == 3 for e in _edges(t))]
    return np.array(faces, np.int32)


def _edges(t: tuple[int, ...]) -> list[tuple[int, int]]:
    a, b, c = sorted(t)
    return [(a, b), (a, c), (b, c)]


def orient(triangles: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Orient triangles consistently (each shared edge runs opposite ways in its two triangles),
    propagating from neighbour to neighbour, with the majority facing the camera (normal z < 0).
    Orientation by each triangle's own normal alone fails where the outline folds back in a frontal view."""
    tris = [list(map(int, t)) for t in triangles]
    by_edge: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(tris):
        for e in _edges(tuple(t)):
            by_edge.setdefault(e, []).append(i)
    done = {0}
    todo = [0]
    while todo:
        i = todo.pop()
        directed = {(tris[i][k], tris[i][(k + 1) % 3]) for k in range(3)}
        for e in _edges(tuple(tris[i])):
            for j in by_edge[e]:
                if j in done:
                    continue
                if any((tris[j][k], tris[j][(k + 1) % 3]) in directed for k in range(3)):
                    tris[j] = [tris[j][0], tris[j][2], tris[j][1]]
                done.add(j)
                todo.append(j)
    out = np.array(tris, np.int32)
    uses = Counter((int(t[k]), int(t[(k + 1) % 3])) for t in out for k in range(3))
    if len(done) != len(out) or any(n > 1 for n in uses.values()):
        raise RuntimeError("tesselation is not one consistently orientable surface")
    a, b, c = (vertices[out[:, k]] for k in range(3))
    nz = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return out if (nz < 0).mean() > 0.5 else out[:, [0, 2, 1]]


def boundary_loops(triangles: np.ndarray) -> list[list[int]]:
    """Ordered vertex loops along edges used by one triangle only (the holes and the outline)."""
    uses = Counter(e for t in triangles for e in _edges(tuple(int(v) for v in t)))
    nxt: dict[int, list[int]] = {}
    for a, b in (e for e, n in uses.items() if n == 1):
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        while True:
            seen.add(cur)
            step = next(v for v in nxt[cur] if v != prev)
            if step == start:
                break
            loop.append(step)
            prev, cur = cur, step
        loops.append(loop)
    return loops


def _path(edges: set[tuple[int, int]], start: int) -> list[int]:
    """Walk an open or closed chain of edges from ``start``."""
    nxt: dict[int, list[int]] = {}
    for a, b in edges:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    path, prev = [start], -1
    while True:
        options = [v for v in nxt[path[-1]] if v != prev and v != path[0]]
        if not options:
            return path
        prev = path[-1]
        path.append(options[0])


def _arcs(loop: list[int], first: int, last: int, upper_member: int) -> tuple[list[int], list[int]]:
    """Split a closed loop at two corners into (upper, lower) arcs, each running first → last."""
    i = loop.index(first)
    loop = loop[i:] + loop[:i]
    j = loop.index(last)
    one, other = loop[: j + 1], [first] + loop[j:][::-1]
    return (one, other) if upper_member in one else (other, one)


def contours(triangles: np.ndarray) -> dict[str, np.ndarray]:
    """Named ordered index arrays (see :class:`FaceTemplate`)."""
    from mediapipe.python.solutions import face_mesh_connections as fmc

    loops = boundary_loops(triangles)
    by_member = {m: next(lp for lp in loops if m in lp) for m in (10, 33, 263, 13)}
    oval = by_member[10]
    oval = oval[oval.index(10) :] + oval[: oval.index(10)]
    out = {"oval": oval}
    out["eye_r_upper"], out["eye_r_lower"] = _arcs(by_member[33], 33, 133, 159)
    out["eye_l_upper"], out["eye_l_lower"] = _arcs(by_member[263], 263, 362, 386)
    out["mouth_upper"], out["mouth_lower"] = _arcs(by_member[13], 78, 308, 13)
    lips_outer = _path({e for e in fmc.FACEMESH_LIPS if _outer_lip(e)}, 61)
    out["lips_upper"], out["lips_lower"] = _arcs(lips_outer, 61, 291, 0)
    for side, brow in (("r", fmc.FACEMESH_RIGHT_EYEBROW), ("l", fmc.FACEMESH_LEFT_EYEBROW)):
        starts = (46, 70) if side == "r" else (276, 300)
        out[f"brow_{side}_lower"] = _path(set(brow), starts[0])
        out[f"brow_{side}_upper"] = _path(set(brow), starts[1])
    return {k: np.array(v, np.int32) for k, v in out.items()}


def _outer_lip(edge: tuple[int, int]) -> bool:
    # The outer lip contour is the one through the mouth corners 61/291 and the philtrum/chin-side
    # midpoints 0/17; mediapipe's FACEMESH_LIPS also holds the inner contour (78/308, 13/14).
    outer = {61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409}
    return edge[0] in outer and edge[1] in outer


def mirror_index(vertices: np.ndarray) -> np.ndarray:
    """(468,) index of each vertex's left/right mirror image (nearest neighbour of x → -x)."""
    flipped = vertices * np.array([-1.0, 1.0, 1.0])
    d = ((vertices[:, None, :] - flipped[None, :, :]) ** 2).sum(-1)
    return d.argmin(0).astype(np.int32)


def symmetrize(vertices: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    flipped = vertices[mirror] * np.array([-1.0, 1.0, 1.0])
    return (vertices + flipped) / 2


def normalize(points: np.ndarray) -> np.ndarray:
    """Landmarks (468, 3) in pixels → template frame: origin between the outer eye corners, unit
    outer inter-ocular distance, eye line along +x, x right / y down / z away from the camera."""
    centre = (points[_R_OUTER] + points[_L_OUTER]) / 2
    axis = points[_L_OUTER, :2] - points[_R_OUTER, :2]
    iod = np.hypot(*axis)
    c, s = axis / iod
    rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    return ((points - centre) @ rot.T) / iod


def cartoon_face(size: int = 512) -> np.ndarray:
    """A flat frontal cartoon face (BGR) that FaceMesh detects with high confidence."""
    img = np.full((size, size, 3), 200, np.uint8)
    s = size / 512
    p = lambda x, y: (int(x * s), int(y * s))  # noqa: E731
    cv2.ellipse(img, p(256, 270), p(130, 170), 0, 0, 360, (150, 180, 220), -1, cv2.LINE_AA)
    for x in (200, 312):
        cv2.ellipse(img, p(x, 230), p(30, 14), 0, 0, 360, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(img, p(x, 230), int(12 * s), (60, 40, 20), -1, cv2.LINE_AA)
        cv2.circle(img, p(x, 230), int(5 * s), (0, 0, 0), -1, cv2.LINE_AA)
        cv2.ellipse(img, p(x, 195), p(36, 8), 0, 180, 360, (40, 50, 60), max(1, int(6 * s)), cv2.LINE_AA)
    cv2.line(img, p(256, 240), p(246, 310), (110, 140, 190), max(1, int(4 * s)), cv2.LINE_AA)
    cv2.ellipse(img, p(256, 312), p(20, 8), 0, 0, 180, (110, 140, 190), max(1, int(3 * s)), cv2.LINE_AA)
    cv2.ellipse(img, p(256, 360), p(45, 14), 0, 0, 360, (90, 90, 180), -1, cv2.LINE_AA)
    cv2.line(img, p(212, 360), p(300, 360), (40, 40, 90), max(1, int(2 * s)), cv2.LINE_AA)
    return img


def detect(mesh, image: np.ndarray) -> np.ndarray | None:
    """468 landmarks in pixels, z in the same pixel units as x (mediapipe scales z like x)."""
    h, w = image.shape[:2]
    result = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if not result.multi_face_landmarks:
        return None
    lm = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h, p.z * w] for p in lm[:468]], np.float64)


_REFINE_POSES = ((0.0, 0.0, 0.0), (22.0, 0.0, 0.0), (-22.0, 0.0, 0.0), (0.0, 14.0, 0.0), (0.0, -14.0, 0.0))


def refine(template: FaceTemplate, mesh, rounds: int) -> FaceTemplate:
    """Move the template towards what mediapipe detects on renders of it (module docstring, step 3)."""
    for r in range(rounds):
        residuals, errors = [], []
        for name in PRESET_NAMES:
            video = SyntheticVideo(SyntheticSettings(identity=name, size="640x480", noise=0.0, motion=0.0), template)
            for pose in _REFINE_POSES:
                frame = video.render(pose, {}, 0)
                found = detect(mesh, frame.image)
                if found is None:
                    continue
                truth, rotation = video.face_in_camera(pose)
                # Detections back into the camera frame: depth from mediapipe's z (pixels, like x).
                depth = truth[:, 2].mean() + found[:, 2] * truth[:, 2].mean() / video.focal
                centre = np.array([video.width / 2, video.height / 2])
                seen = np.column_stack([(found[:, :2] - centre) * depth[:, None] / video.focal, depth])
                aligned = _similarity(seen, truth)
                residuals.append((aligned - truth) @ rotation)  # back to the head frame
                iod = np.linalg.norm(frame.landmarks[33] - frame.landmarks[263])
                errors.append(np.linalg.norm(found[:, :2] - frame.landmarks, axis=1).mean() / iod)
        step = np.mean(residuals, axis=0)
        vertices = normalize(template.vertices + 0.8 * step)
        vertices = symmetrize(vertices, template.mirror).astype(np.float32)
        template = dataclasses.replace(template, vertices=vertices)
        print(f"round {r + 1}: {len(residuals)} detections, mean landmark error {np.mean(errors):.4f} IOD")
    return template


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``src`` (N, 3) moved by the least-squares similarity onto ``dst`` (Umeyama)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = (sig * np.diag(d)).sum() / (a**2).sum()
    return scale * a @ rot.T + md


def main(argv: list[str] | None = None) -> None:
    import mediapipe as mp

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="refinement rounds (default: 6)")
    parser.add_argument("--out", type=Path, default=TEMPLATE_PATH, help=f"output file (default: {TEMPLATE_PATH})")
    args = parser.parse_args(argv)

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
    first = detect(mesh, cartoon_face())
    if first is None:
        raise RuntimeError("mediapipe found no face in the bootstrap cartoon")
    vertices = normalize(first)
    mirror = mirror_index(vertices)
    vertices = symmetrize(vertices, mirror)
    triangles = orient(tesselation_triangles(), vertices)
    template = FaceTemplate(
        vertices=vertices.astype(np.float32), triangles=triangles, mirror=mirror, **contours(triangles)
    )
    template = refine(template, mesh, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    template.save(args.out)
    print(f"wrote {args.out}: {len(vertices)} vertices, {len(triangles)} triangles")


if __name__ == "__main__":
    main()
