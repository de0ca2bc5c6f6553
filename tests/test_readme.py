"""The README's hand-written training loop runs as written and learns."""

from __future__ import annotations

import contextlib
import io
import re

from conftest import REPO


def test_readme_loop_runs() -> None:
    text = (REPO / "README.md").read_text()
    marker = text.index("<!-- readme-loop")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block is not None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.group(1), "README.md", "exec"), {})  # our own README, not a file we load
    last = printed.getvalue().strip().splitlines()[-1]
    assert float(last.rsplit(" ", 1)[1]) >= 0.95


def test_readme_quickstart_is_two_commands() -> None:
    text = (REPO / "README.md").read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert quickstart.strip().splitlines() == [
        "pip install . && chainrule train",
        'pip install ".[test]" && python -m pytest',
    ]


def test_readme_pytorch_block_runs_and_matches_pytorch() -> None:
    """The PyTorch-code block runs as written with chainrule, and learns as the same code does."""
    text = (REPO / "README.md").read_text()
    marker = text.index("<!-- readme-port")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block is not None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.group(1), "README.md", "exec"), {})  # our own README, not a file we load
    loss, accuracy = re.findall(r"[\d.]+", printed.getvalue())
    assert float(loss) < 0.69 and float(accuracy) > 0.5  # below the loss of guessing


def test_readme_module_block_trains_saves_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The Module-subclass block runs as written (its file goes to a temporary folder)."""
    text = (REPO / "README.md").read_text()
    marker = text.index("<!-- readme-module")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block is not None
    code = block.group(1).replace("/tmp/digits.safetensors", str(tmp_path / "digits.safetensors"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})  # our own README, not a file we load
    assert float(printed.getvalue().split()[-1]) >= 0.95
