import pytest

from jaxnet.plots import plot_history
from jaxnet.train import History


def test_learning_curves_png_and_empty_history(tmp_path):
    history = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.8), (0.3, 0.9)]):
        history.append(epoch, {"loss": loss, "accuracy": acc, "val_loss": loss + 0.1, "val_accuracy": acc - 0.1}, 0.1)
    path = plot_history(history, tmp_path / "curves" / "c.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [p.name for p in path.parent.iterdir()] == ["c.png"]
    with pytest.raises(ValueError, match="history is empty"):
        plot_history(History(), tmp_path / "e.png")
