"""CI executes the notebooks against the test database and a small NAB-format corpus.

Each notebook runs in a real Jupyter kernel (nbclient) with parameters injected
after its ``parameters`` cell; the kernel must be this virtualenv's Python (checked,
since a stray ``python3`` kernelspec elsewhere would silently test another install).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from models import registry
from models.train import synthetic
from models.train.run import train_family
from netvigil.db import connect
from netvigil.settings import Settings, project_root

NOTEBOOKS = project_root() / "notebooks"


def run_notebook(name: str, params: dict[str, Any]) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nb.cells.insert(idx + 1, new_code_cell(injected, metadata={"tags": ["injected-parameters"]}))
    nb.cells.insert(0, new_code_cell("import sys\nprint(sys.prefix)"))
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    assert nb.cells[0].outputs[0]["text"].strip() == sys.prefix, "kernel is not this venv's Python"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
    return nb


@pytest.fixture(scope="module")
def seeded(pg_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    prefix = f"nbt{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        synthetic.seed_history(conn, prefix, "cpu", days=2.5, devices=2, seed=3)
        conn.commit()
    nab = synthetic.write_nab_corpus(tmp_path_factory.mktemp("nab"), files=3, rows=1500)
    yield {
        "prefix": prefix,
        "like": prefix.replace("_", "\\_") + "%",
        "nab": str(nab),
        "family": f"{prefix}reg",
    }
    with connect(pg_stack) as conn:
        synthetic.purge(conn, prefix)
        conn.execute("DELETE FROM model_registry WHERE family LIKE %s", (prefix.replace("_", "\\_") + "%",))
        conn.commit()


def test_explore_trends(seeded: dict[str, Any], tmp_path: Path) -> None:
    nb = run_notebook(
        "01_explore_trends.ipynb",
        {"FAMILY": "cpu", "DEVICE_LIKE": seeded["like"], "SINCE_DAYS": 3.0, "HTML_OUT": str(tmp_path)},
    )
    assert "2 cpu series" in "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert (tmp_path / "trends.html").stat().st_size > 1000


def test_retrain_registers_and_promotes(seeded: dict[str, Any], pg_stack: Settings) -> None:
    run_notebook(
        "02_retrain_and_evaluate.ipynb",
        {
            "FAMILY": "cpu",
            "REGISTRY_FAMILY": seeded["family"],
            "DEVICE_LIKE": seeded["like"],
            "SINCE_DAYS": 3.0,
            "NAB_DIR": seeded["nab"],
            "NAB_FILES": 2,
            "ACTOR": "ci-notebook",
        },
    )
    with connect(pg_stack) as conn:
        prod = registry.production(conn, seeded["family"])
    assert prod is not None and prod.version == 1 and prod.artefact
    assert prod.metrics["alerts_labelled"] > 0 and prod.metrics["nab_files"] == 2


def test_nab_evaluation_of_promoted_online_version(seeded: dict[str, Any], pg_stack: Settings) -> None:
    family = f"{seeded['prefix']}online"
    with connect(pg_stack) as conn:
        res = train_family(
            conn,
            family,
            kind="online",
            register=True,
            created_by="ci",
            online_params={"detector": "default", "overrides": {"threshold": 0.45}},
        )
        registry.promote(conn, family, res.version or 0, "ci")
        conn.commit()
    nb = run_notebook(
        "03_nab_evaluation.ipynb", {"NAB_DIR": seeded["nab"], "NAB_FILES": None, "FAMILY": family}
    )
    html = "".join(
        str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", [])
    )
    assert "nab_standard" in html and "zscore" in html and f"{family} v1" in html
    assert "0.45" in html  # the promoted version's fixed threshold was used
