"""Atomic result files: whole or absent, with ordinary permissions."""

import os

import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.files import write_atomic
from swapcam.realtime.run.report import write_json_atomic


def test_written_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "r.json", {"frames": 3})
    finally:
        os.umask(umask)
    assert (tmp_path / "r.json").read_text() == '{\n  "frames": 3\n}\n'
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644  # mkstemp alone gives 0o600


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    (tmp_path / "m.onnx").write_text("old")

    def fail(tmp: str) -> None:
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "m.onnx", fail)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"] and (tmp_path / "m.onnx").read_text() == "old"
    with pytest.raises(UserError, match="does not exist"):
        write_atomic(tmp_path / "no" / "x.json", fail)
