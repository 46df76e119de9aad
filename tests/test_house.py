"""House rules that code review alone would let slip: the live side never loads torch, and realtime/
modules stay short enough to hold in one's head."""

import subprocess
import sys
from pathlib import Path

import pytest

REALTIME = Path(__file__).resolve().parents[1] / "realtime"
MAX_LINES = 400


@pytest.mark.parametrize(
    "code",
    [
        "import swapcam.realtime, swapcam.realtime.run.live, swapcam.realtime.run.loop, swapcam.realtime.sources.synthetic",
        # building the CLI imports every subcommand's parser, the training ones included
        "from swapcam.realtime.cli import main\ntry:\n    main(['live', '--help'])\nexcept SystemExit:\n    pass",
        "from swapcam.realtime.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass",
    ],
)
def test_the_live_side_loads_no_torch(code):
    check = code + "\nimport sys\nassert 'torch' not in sys.modules, 'torch was imported'\nprint('no torch')"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("no torch")


def test_realtime_modules_stay_short():
    lengths = {
        path.relative_to(REALTIME).as_posix(): len(path.read_text().splitlines()) for path in REALTIME.rglob("*.py")
    }
    assert len(lengths) > 20
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
