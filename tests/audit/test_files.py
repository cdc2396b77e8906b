"""Audit, files family: every writer is atomic, keeps modes, refuses read-only targets and cleans up after
killed saves; every reader turns a malformed file into one clear error."""

import json
import os
import pathlib
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from graphviz_tools import Var, render
from jaxnet import checkpoint, keras, load_model, plots
from jaxnet._src.atomic import atomic_path, write_text
from jaxnet.checkpoint import CheckpointError
from jaxnet.layers import Dense
from jaxnet.train import History


def _history():
    history = History()
    history.append(0, {"loss": 1.0}, 0.1)
    history.append(1, {"loss": 0.5}, 0.1)
    return history


WRITERS = {
    "checkpoint": ("m.npz", lambda p: checkpoint.save(p, {"params": {"w": np.ones(3, np.float32)}})),
    "plot_history": ("curves.png", lambda p: plots.plot_history(_history(), p)),
    "render": ("graph.dot", lambda p: render(Var(2.0, "x") * 3, p)),
    "write_text": ("history.json", lambda p: write_text(p, "{}")),
}


@pytest.fixture(params=sorted(WRITERS))
def writer(request):
    return WRITERS[request.param]


@pytest.fixture
def umask():
    def set_to(mask):
        old.append(os.umask(mask))

    old = []
    yield set_to
    if old:
        os.umask(old[0])


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_new_files_get_the_umask_mode(writer, tmp_path, umask, mask):
    umask(mask)
    name, write = writer
    write(tmp_path / name)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("mode", [0o664, 0o600, 0o640])
def test_overwriting_keeps_the_existing_mode(writer, tmp_path, mode):
    name, write = writer
    write(tmp_path / name)
    os.chmod(tmp_path / name, mode)
    write(tmp_path / name)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_read_only_file_is_refused_not_replaced(writer, tmp_path):
    name, write = writer
    target = tmp_path / name
    target.write_bytes(b"keep me")
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError, match="read-only"):
        write(target)
    assert target.read_bytes() == b"keep me" and os.listdir(tmp_path) == [name]


def test_read_only_folder_is_refused(writer, tmp_path):
    name, write = writer
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError, match="folder .* is read-only"):
            write(folder / name)
    finally:
        os.chmod(folder, 0o755)
    assert os.listdir(folder) == []


def test_a_folder_in_the_way_is_named_without_temporary_files(writer, tmp_path):
    name, write = writer
    (tmp_path / name).mkdir()
    with pytest.raises(IsADirectoryError, match="it is a folder") as info:
        write(tmp_path / name)
    assert ".tmp" not in str(info.value) and os.listdir(tmp_path) == [name]


#: the temporary-file suffix each writer passes to atomic_path
SUFFIXES = {"m.npz": ".tmp", "curves.png": ".png", "graph.dot": ".tmp", "history.json": ".json"}


def _saver(target: pathlib.Path, hold: bool):
    """A process that dies by SIGKILL in the middle of an atomic save of ``target`` (or waits there)."""
    code = textwrap.dedent(f"""
        import os, signal, time
        from jaxnet._src.atomic import atomic_path
        with atomic_path({str(target)!r}, suffix={SUFFIXES[target.name]!r}) as tmp:
            tmp.write_bytes(b"x" * 1000)
            print("inside", flush=True)
            time.sleep(60) if {hold} else os.kill(os.getpid(), signal.SIGKILL)
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


def test_temporaries_of_killed_saves_are_removed_by_the_next_save(writer, tmp_path):
    name, write = writer
    for _ in range(3):
        assert _saver(tmp_path / name, hold=False).wait() == -signal.SIGKILL
        # each save cleans up after the one killed before it
        assert len([p for p in os.listdir(tmp_path) if p.startswith(f".{name}.")]) == 1
    write(tmp_path / name)
    assert os.listdir(tmp_path) == [name]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    saver = _saver(tmp_path / "m.npz", hold=True)
    try:
        assert saver.stdout.readline().strip() == b"inside"
        WRITERS["checkpoint"][1](tmp_path / "m.npz")
        assert len(os.listdir(tmp_path)) == 2  # the live writer's temporary and the checkpoint
    finally:
        saver.kill()
        saver.wait()


def test_interrupted_block_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


# --- reading checkpoints ------------------------------------------------------------------------


@pytest.fixture
def model():
    model = keras.Sequential([Dense(3)], input_shape=(4,))
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("spelling", ["good", "good.npz"])
def test_save_without_suffix_loads_by_the_same_name(model, tmp_path, spelling):
    written = model.save(tmp_path / "good")
    assert written == tmp_path / "good.npz"
    again = load_model(tmp_path / spelling)
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])
    assert checkpoint.read_metadata(tmp_path / spelling)["input_shape"] == [4]


def _with_meta(path, meta_bytes, arrays=None):
    np.savez(path, **{"__meta__.json": np.frombuffer(meta_bytes, np.uint8)}, **(arrays or {}))
    return path


def _deep(depth):
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize(
    "meta,match",
    [
        (b"[1, 2]", "no list of tree names"),
        (b'{"trees": "params"}', "no list of tree names"),
        (b"\xff\xfe not utf-8", "not JSON"),
        (b'{"trees": [', "not JSON"),
        (_deep(100_000), "nested too deeply|not JSON"),
    ],
)
def test_malformed_metadata(tmp_path, meta, match):
    path = _with_meta(tmp_path / "bad.npz", meta)
    for reader in (load_model, checkpoint.load, checkpoint.read_metadata):
        with pytest.raises(CheckpointError, match=match):
            reader(path)


def test_array_outside_the_named_trees(tmp_path):
    path = _with_meta(tmp_path / "bad.npz", b'{"trees": ["params"]}', {"stray/00000": np.ones(2)})
    with pytest.raises(CheckpointError, match="belongs to no tree"):
        checkpoint.load(path)


def _architecture(layers, input_shape=(4,)):
    return {"architecture": {"class": "Sequential", "name": None, "layers": layers}, "input_shape": list(input_shape)}


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_deeply_nested_architecture(tmp_path, depth):
    meta = (
        '{"trees": ["params"], "input_shape": [4], "architecture": '
        + '{"class": "Sequential", "layers": [' * depth
        + '{"class": "Dense", "config": {"units": 2}}'
        + "]}" * depth
        + "}"
    )
    path = _with_meta(tmp_path / "deep.npz", meta.encode())
    with pytest.raises(CheckpointError, match="cannot be rebuilt|nested too deeply"):
        load_model(path)


@pytest.mark.parametrize(
    "meta,match",
    [
        (_architecture([{"class": "Dense", "config": {"units": 3, "bogus": 1}}]), r"arguments \['bogus'\]"),
        (_architecture([{"class": "Evil", "config": {}}]), "unknown layer class 'Evil'"),
        (_architecture([{"class": "Dense"}]), "no argument object"),
        (_architecture([["Dense"]]), "must be a JSON object"),
        (_architecture([{"class": "Dense", "config": {"units": 3}}], input_shape=("a",)), "malformed input shape"),
        (_architecture([{"class": "Dense", "config": {"units": 3}}], input_shape=(-4,)), "malformed input shape"),
        ({"architecture": {"class": "Sequential", "layers": "Dense"}, "input_shape": [4]}, "must be a list"),
    ],
)
def test_architectures_that_cannot_be_rebuilt(tmp_path, meta, match):
    path = checkpoint.save(tmp_path / "m.npz", {"params": {"w": np.ones(3, np.float32)}}, meta)
    with pytest.raises(CheckpointError, match=match):
        load_model(path)


@pytest.mark.parametrize("name", ["renamed.npz", "renamed"])
def test_npy_file_renamed(tmp_path, name):
    np.save(tmp_path / "a.npy", np.ones(3))
    (tmp_path / "a.npy").rename(tmp_path / name)
    with pytest.raises(CheckpointError, match=r"single NumPy array \(.npy\)"):
        load_model(tmp_path / name)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", json.dumps({"a": 1}).encode()])
def test_non_archives(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(tmp_path / "x.npz")


def test_folder_instead_of_checkpoint(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(CheckpointError, match="is a folder"):
        load_model(tmp_path / "d.npz")
