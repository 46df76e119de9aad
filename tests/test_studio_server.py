"""swapcam studio's server as a user starts it: the token on every request, files only inside the
folders given, bodies of bounded size, checked settings, presets, recording, and a clean stop."""

import json
import subprocess
import sys

import av
import numpy as np

from swapcam.realtime.cli import build_parser, live_config


def test_every_request_needs_the_token(studio):
    for path in ("/", "/api/stats", "/api/preview.jpg", "/static/studio.js"):
        assert studio.request(path, token=None)[0] == 403
        assert studio.request(path, token="wrong-token-wrong-token")[0] == 403
        assert studio.request(path, token="query")[0] == 200
    status, body, _ = studio.request("/api/settings", {"mask": {"opacity": 0.5}}, token=None)
    assert status == 403 and "token" in json.loads(body)["error"]
    # a change needs the token in the header: a form or a link of another site can only put it in the URL
    assert studio.request("/api/settings", {"mask": {"opacity": 0.5}}, token="query")[0] == 403
    assert studio.get("/api/state")["settings"]["mask"]["opacity"] == 1.0
    page = studio.request("/", token="query")[1].decode()
    assert f'data-token="{studio.token}"' in page and "http" not in page.replace("http-equiv", "")  # nothing external


def test_files_only_inside_the_folders_given(studio):
    for body in ({"model": "../../../etc/passwd"}, {"model": "/etc/passwd"}):
        status, reply = studio.post("/api/model", body)
        assert status == 400 and "outside the models folder" in reply["error"]
    status, reply = studio.post("/api/input", {"input": "file:../../../../etc/passwd"})
    assert status == 400 and "outside the media folder" in reply["error"]
    status, reply = studio.post("/api/record/start", {"name": "../../escape.mp4"})
    assert status == 400 and "not allowed" in reply["error"]
    status, reply = studio.post("/api/presets/load", {"name": "../../x"})
    assert status == 400
    assert studio.request("/static/..%2f__init__.py", token="query")[0] == 404


def test_an_oversized_body_is_refused(studio):
    huge = json.dumps({"mask": {"label": "x" * 200_000}}).encode()
    status, body, _ = studio.request("/api/settings", raw=huge)
    assert status == 413 and "KiB" in json.loads(body)["error"]
    assert studio.request("/api/settings", token="header", raw=b"not json")[0] == 400


def test_a_bad_value_is_refused_with_the_flag_and_its_range(studio):
    status, reply = studio.post("/api/settings", {"mask": {"opacity": 1.5}})
    assert (status, reply["error"]) == (400, "--opacity 1.5 is out of range: use a value from 0.0 to 1.0")
    status, reply = studio.post("/api/settings", {"color": {"mode": "sepia"}})
    assert status == 400 and "choose one of" in reply["error"]
    assert studio.get("/api/state")["settings"]["color"]["mode"] == "rct"


def test_opacity_zero_shows_the_camera_frame_from_the_next_frames(studio):
    index, side = studio.frame("side")
    camera, output = np.hsplit(side.astype(int), 2)
    assert np.abs(camera - output).max() > 100  # the inverted face
    status, reply = studio.post("/api/settings", {"mask": {"opacity": 0.0}})
    assert status == 200 and reply["settings"]["mask"]["opacity"] == 0.0 and reply["restarted"] == []
    index, _ = studio.frame("side")
    camera, output = np.hsplit(studio.frame_after(index + 2).astype(int), 2)
    assert np.abs(camera - output).max() <= 1


def test_a_preset_saves_what_live_reads_and_loads_back(studio):
    studio.post("/api/settings", {"mask": {"blur": 0.2}, "color": {"mode": "mkl"}})
    status, reply = studio.post("/api/presets/save", {"name": "room-a"})
    assert (status, reply["preset"]) == (200, "room-a")
    path = studio.folder / "presets" / "room-a.toml"
    config = live_config(build_parser().parse_args(["live", "--config", str(path)]))
    assert (config.mask.blur, config.color.mode) == (0.2, "mkl")
    studio.reset()
    assert studio.get("/api/state")["settings"]["color"]["mode"] == "rct"
    status, reply = studio.post("/api/presets/load", {"name": "room-a"})
    assert status == 200 and reply["settings"]["color"]["mode"] == "mkl"
    assert "room-a" in studio.get("/api/state")["presets"]


def test_a_recording_is_a_playable_file(studio):
    status, reply = studio.post("/api/record/start", {"name": "take.mp4"})
    assert status == 200 and reply["recording"]["file"] == "take.mp4"
    assert studio.post("/api/record/start", {})[0] == 400  # one at a time
    studio.wait_for_frames(studio.get("/api/stats")["frames"] + 15)
    status, reply = studio.post("/api/record/stop")
    assert status == 200 and reply["recorded"]["written"] >= 10
    with av.open(str(studio.folder / "recordings" / "take.mp4")) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == reply["recorded"]["written"] and frames[0].shape == (240, 320, 3)
    status, reply = studio.post("/api/snapshot")
    assert status == 200 and (studio.folder / "recordings" / reply["snapshot"]).stat().st_size > 1000


def test_switching_input_restarts_the_stream_with_it(studio):
    run = studio.get("/api/stats")["status"]["run"]
    status, _ = studio.post("/api/input", {"input": "synthetic:identity=bo,size=160x120,fps=15"})
    assert status == 200
    studio.wait_for_frames(3, after_run=run)
    assert studio.frame("output")[1].shape == (120, 160, 3)
    assert studio.get("/api/state")["status"]["input"].startswith("synthetic:identity=bo")
    studio.post("/api/input", {"input": "synthetic:size=320x240,fps=15,motion=0,expressions=false"})
    studio.wait_for_frames(3, after_run=run + 1)
    status, reply = studio.post("/api/input", {"input": "synthetic:identity=nobody"})
    assert status == 400 and "nobody" in reply["error"]


def test_studio_refuses_a_public_host_without_a_token(swapcam_cli):
    result = swapcam_cli("studio", "--host", "0.0.0.0", "--no-browser", "--input", "synthetic")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "swapcam: error: --host 0.0.0.0 lets other machines reach the page: give a --token of 16+ characters too"
    )


def test_without_the_studio_extra_it_names_the_extra():
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from swapcam.realtime.cli import main\n"
        "sys.exit(main(['studio', '--no-browser']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == "swapcam: error: swapcam studio needs its web server: pip install 'swapcam[studio]'"


def test_a_switch_that_cannot_start_goes_back_and_says_why(studio):
    run = studio.get("/api/stats")["status"]["run"]
    assert studio.post("/api/model", {"model": "invert64.onnx"})[0] == 200
    studio.wait_for_frames(3, after_run=run)
    assert studio.get("/api/state")["status"]["model"] == "invert64.onnx"
    before = studio.get("/api/state")["status"]["input"]
    assert studio.post("/api/input", {"input": "camera:7"})[0] == 200  # no camera there
    stats = studio.wait_for_frames(3, after_run=run + 2)  # the failed run, then the one back
    assert stats["status"]["input"] == before
    assert stats["status"]["message"].startswith("no camera at index 7")


def test_the_preview_is_a_jpeg_and_never_the_same_frame_twice(studio):
    status, body, headers = studio.request("/api/preview.jpg?view=side")
    shown = int(headers["X-Frame-Index"])
    assert status == 200 and body[:2] == b"\xff\xd8"  # a JPEG
    status, body, headers = studio.request(f"/api/preview.jpg?view=side&after={shown}")
    assert status == 200 and int(headers["X-Frame-Index"]) > shown
    assert studio.request("/api/preview.jpg?view=side&after=x")[0] == 400
    assert studio.request("/api/preview.jpg?view=sideways")[0] == 400
