"""Execute each course notebook and save its first figure under docs/notebooks/ (the README shows them).

Run with ``make notebook-figures``; the figures are regenerated from the notebooks, never drawn by hand.
"""
from __future__ import annotations

import base64
import pathlib

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "notebooks"


def first_figure(path: pathlib.Path) -> tuple[str, bytes]:
    """Execute the notebook at ``path``; return (extension, bytes) of its first PNG or SVG output."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                return "png", base64.b64decode(data["image/png"])
            if "image/svg+xml" in data:
                return "svg", data["image/svg+xml"].encode()
    raise ValueError(f"{path.name} displays no figure")


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for path in sorted(HERE.glob("*.ipynb")):
        extension, image = first_figure(path)
        target = DOCS / f"{path.stem}.{extension}"
        target.write_bytes(image)
        print(f"wrote {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
