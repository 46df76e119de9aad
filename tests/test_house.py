"""House rules that code review alone would let slip and no linter checks: the live side never loads
torch, even building the training commands' parsers (the import layers themselves are import-linter
contracts in pyproject.toml, run by `make lint`), and modules and functions stay short enough to hold
in one's head."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("realtime", "export", "benchmarks")
MAX_LINES = 400
MAX_FUNCTION_LINES = 80


def _sources() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): p.read_text() for folder in FOLDERS for p in (ROOT / folder).rglob("*.py")}


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


def test_modules_stay_short():
    lengths = {name: len(text.splitlines()) for name, text in _sources().items()}
    assert len(lengths) > 60
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def _is_numba_kernel(node: ast.FunctionDef) -> bool:
    return any("jit" in ast.unparse(decorator) for decorator in node.decorator_list)


def test_functions_stay_short():
    """Numba kernels excepted: one loop nest is faster than calls between helpers."""
    long = {}
    for name, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_numba_kernel(node):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{name}:{node.name}"] = length
    assert long == {}
