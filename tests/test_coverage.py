"""Faceset coverage: the poses and expressions the targets show and the source lacks."""

from __future__ import annotations

import cv2
import numpy as np

from swapcam.export.coverage import MEASURES, coverage, find_gaps, plot_coverage
from swapcam.export.faceset import Faceset


def test_a_band_the_source_never_shows_is_named_missing():
    rng = np.random.default_rng(0)
    source = rng.uniform(-4, 4, 200)  # frontal only
    target = np.concatenate([rng.uniform(-4, 4, 70), rng.uniform(16, 28, 30)])  # 30 % turned +16…+28°
    gaps = find_gaps("yaw", source, target)
    assert [(g.band, g.missing) for g in gaps] == [("+15…+30°", True)]
    assert gaps[0].target_share == 0.3 and gaps[0].source_faces == 0
    assert "head yaw +15…+30°: 30% of the target faces, source faces: none — record the source" in gaps[0].line()


def test_thin_and_rare_bands():
    source = np.array([0.0] * 95 + [0.25] * 5)  # mouth wide open in 5 % of the source faces
    target = np.array([0.0] * 60 + [0.25] * 40)  # …and in 40 % of the targets': thin (< a quarter of it)
    (gap,) = find_gaps("mouth", source, target)
    assert gap.band == "wide open" and not gap.missing and "record more of the source" in gap.line()
    rare = np.array([0.0] * 97 + [0.25] * 3)  # targets show it in 3 %: below the 5 % that counts
    assert find_gaps("mouth", source[:95], rare) == []
    assert find_gaps("mouth", target, target) == []  # same distribution: nothing lacks


def test_bands_are_counted_at_their_edges():
    eyes = MEASURES.get("eyes")
    assert eyes.band(np.array([0.0, 0.05, 0.079, 0.08, 0.2])).tolist() == [0, 1, 1, 2, 3]
    assert len(eyes.band_names) == len(eyes.edges) + 1


def test_report_and_plot_of_two_synthetic_facesets(facesets, tmp_path):
    report = coverage(Faceset(facesets["ada"]), [Faceset(facesets["bo"])])
    assert set(report.values) == {"yaw", "pitch", "mouth", "eyes"}
    source_yaw, target_yaw = report.values["yaw"]
    assert len(source_yaw) == len(Faceset(facesets["ada"]).records) and np.isfinite(target_yaw).all()
    assert report.lines()  # gaps, or the sentence that there are none
    out = tmp_path / "coverage.png"
    plot_coverage(report, out, "ada", "bo")
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 400 and image.std() > 10
