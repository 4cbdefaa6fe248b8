"""The benchmark's row selection: every `--rows` the README and the bench's own docstring quote
selects real rows (a row name may hold commas), and an unknown name fails naming it."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mode_coverage", ROOT / "bench" / "mode_coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mode_coverage"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def quoted_row_lists() -> list[str]:
    texts = (ROOT / "README.md").read_text() + (ROOT / "bench" / "mode_coverage.py").read_text()
    # a README line may wrap inside a quoted list: markdown renders the break as a space
    return sorted({re.sub(r"\s+", " ", names) for names in re.findall(r'--rows "([^"]+)"', texts)})


def test_the_docs_quote_row_lists():
    assert "gan + R1, batch 64, 100k steps (best)" in quoted_row_lists()


@pytest.mark.parametrize("names", quoted_row_lists())
def test_every_quoted_row_list_selects_rows(bench, names):
    chosen = bench.selected_rows(names)
    known = {row.name for row in (*bench.ROWS, *bench.IMAGE_ROWS)}
    assert chosen and chosen <= known
    assert ",".join(sorted(chosen, key=names.index)) == names  # nothing dropped, nothing split wrongly


def test_a_row_name_with_commas_is_one_row_beside_others(bench):
    assert bench.selected_rows("pacgan4,gan + R1, batch 64, 80k steps,sngan") == {
        "pacgan4", "gan + R1, batch 64, 80k steps", "sngan"}


def test_an_unknown_row_is_named(bench):
    with pytest.raises(ValueError, match=r"no row named 'gan \+ R2'"):
        bench.selected_rows("pacgan4,gan + R2")
