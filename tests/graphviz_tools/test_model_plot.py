"""plot_model as Keras 3 draws it, checked on what a person sees: the <text> elements of the SVG drawn by dot.

The expected rows are written as Keras 3's ``plot_model`` words them (keras/src/utils/model_visualization.py:
"name (Class)", "Activation: relu", "Input shape: (None, ...)", "Output shape: (None, ...)", "Output dtype:
float32"), with the shapes worked out by hand from the convolution formula OH = (H - FH) / S + 1.
"""

import re
import xml.etree.ElementTree as ET

import pytest

from graphviz_tools import plot_model, render
from jaxnet import keras, zoo
from jaxnet.layers import Concatenate, Dense, Identity
from jaxnet.model import Parallel, Sequential

SVG = "{http://www.w3.org/2000/svg}"


def _svg(graph, tmp_path):
    return ET.parse(render(graph, tmp_path / "model.svg")).getroot()


def _box_list(root) -> list[tuple[str, list[str]]]:
    """(title row, the rows under it) for every box, each read top to bottom as a person reads it."""
    boxes = []
    for node in root.iter(f"{SVG}g"):
        if node.get("class") == "node":
            texts = sorted(node.iter(f"{SVG}text"), key=lambda t: float(t.get("y")))
            rows = ["".join(t.itertext()).strip() for t in texts]
            boxes.append((rows[0], rows[1:]))
    return boxes


def _boxes(root) -> dict[str, list[str]]:
    boxes = _box_list(root)
    assert len({title for title, _ in boxes}) == len(boxes), "two boxes read the same"
    return dict(boxes)


def _cluster_labels(root) -> list[str]:
    return [
        "".join(t.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "cluster" for t in g.iter(f"{SVG}text")
    ]


@pytest.mark.needs_dot
def test_cnn_boxes_read_as_in_keras(tmp_path):
    boxes = _boxes(
        _svg(
            plot_model(zoo.cnn(), (32, 32, 3), show_shapes=True, show_dtype=True, show_layer_activations=True), tmp_path
        )
    )
    conv = lambda size: size - 3 + 1  # noqa: E731  3x3 kernel, stride 1, no padding
    s1 = conv(32)  # 30
    s2 = s1 // 2  # 15
    s3 = conv(s2)  # 13
    s4 = s3 // 2  # 6
    s5 = conv(s4)  # 4
    f32 = "Output dtype: float32"
    assert boxes == {
        "input_layer (InputLayer)": ["Output shape: (None, 32, 32, 3)", f32],
        "conv2d (Conv2D)": [
            "Activation: relu",
            "Input shape: (None, 32, 32, 3)",
            f"Output shape: (None, {s1}, {s1}, 32)",
            f32,
        ],
        "max_pooling2d (MaxPooling2D)": [
            f"Input shape: (None, {s1}, {s1}, 32)",
            f"Output shape: (None, {s2}, {s2}, 32)",
            f32,
        ],
        "conv2d_1 (Conv2D)": [
            "Activation: relu",
            f"Input shape: (None, {s2}, {s2}, 32)",
            f"Output shape: (None, {s3}, {s3}, 64)",
            f32,
        ],
        "max_pooling2d_1 (MaxPooling2D)": [
            f"Input shape: (None, {s3}, {s3}, 64)",
            f"Output shape: (None, {s4}, {s4}, 64)",
            f32,
        ],
        "conv2d_2 (Conv2D)": [
            "Activation: relu",
            f"Input shape: (None, {s4}, {s4}, 64)",
            f"Output shape: (None, {s5}, {s5}, 64)",
            f32,
        ],
        "flatten (Flatten)": [f"Input shape: (None, {s5}, {s5}, 64)", f"Output shape: (None, {s5 * s5 * 64})", f32],
        "dense (Dense)": ["Activation: relu", f"Input shape: (None, {s5 * s5 * 64})", "Output shape: (None, 64)", f32],
        "dense_1 (Dense)": ["Activation: softmax", "Input shape: (None, 64)", "Output shape: (None, 10)", f32],
    }


@pytest.mark.needs_dot
def test_keras_defaults_and_options(tmp_path):
    # Keras' defaults: no shapes, no dtype, no activations; one box per layer with its name and class
    boxes = _boxes(_svg(plot_model(zoo.mlp(), (28, 28)), tmp_path))
    assert boxes == {
        title: []
        for title in [
            "input_layer (InputLayer)",
            "flatten (Flatten)",
            "dense (Dense)",
            "dropout (Dropout)",
            "dense_1 (Dense)",
        ]
    }
    boxes = _box_list(_svg(plot_model(zoo.mlp(), (28, 28), show_layer_names=False, show_params=True), tmp_path))
    assert sorted(boxes) == sorted(
        [
            ("InputLayer", []),
            ("Flatten", ["Params: 0"]),
            ("Dense", ["Params: 100,480"]),
            ("Dropout", ["Params: 0"]),
            ("Dense", ["Params: 1,290"]),
        ]
    )  # 784*128+128, 128*10+10
    assert "rankdir=LR" in plot_model(zoo.mlp(), (28, 28), rankdir="LR").source
    # dpi is the PNG's resolution, as in Keras: twice the dpi, twice the pixels
    widths = {}
    for dpi in (72, 144):
        png = render(plot_model(zoo.mlp(), (28, 28), dpi=dpi), tmp_path / f"mlp{dpi}.png").read_bytes()
        widths[dpi] = int.from_bytes(png[16:20], "big")
    assert widths[144] == pytest.approx(2 * widths[72], abs=2)
    # and never scales the SVG past its own viewBox (which Graphviz 2.4x does when dpi is a graph attribute)
    root = _svg(plot_model(zoo.mlp(), (28, 28), dpi=200), tmp_path)
    assert root.find(f"{SVG}g").get("transform").startswith("scale(1 1)")


@pytest.mark.needs_dot
def test_nested_models_are_one_box_unless_expanded(tmp_path):
    root = _svg(plot_model(zoo.wide_and_deep(), (8,), show_shapes=True), tmp_path)
    boxes = _boxes(root)
    assert boxes["branch (Branch)"] == ["Input shape: (None, 8)", "Output shape: [(None, 8), (None, 30)]"]
    assert _cluster_labels(root) == [] and not any("deep" in title for title in boxes)
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]) == 4  # a chain of five boxes

    root = _svg(plot_model(zoo.wide_and_deep(), (8,), show_shapes=True, expand_nested=True), tmp_path)
    boxes = _boxes(root)
    assert sorted(_cluster_labels(root)) == ["branch (Branch)", "branch/deep (Sequential)"]
    assert boxes["branch/deep/dense (Dense)"] == ["Input shape: (None, 8)", "Output shape: (None, 30)"]
    assert boxes["branch/deep/dense_1 (Dense)"] == ["Input shape: (None, 30)", "Output shape: (None, 30)"]
    assert boxes["branch/wide (Identity)"] == ["Input shape: (None, 8)", "Output shape: (None, 8)"]
    assert boxes["concatenate (Concatenate)"] == ["Input shape: [(None, 8), (None, 30)]", "Output shape: (None, 38)"]
    assert boxes["dense (Dense)"] == ["Input shape: (None, 38)", "Output shape: (None, 1)"]
    # what is drawn inside the branch's box is the branch's layers, and nothing else
    cluster = next(
        g
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "cluster" and g.find(f"{SVG}title").text == "cluster_branch"
    )
    points = [tuple(map(float, p.split(","))) for p in cluster.find(f"{SVG}polygon").get("points").split()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    inside = {
        "".join(t.itertext())
        for t in root.iter(f"{SVG}text")
        if min(xs) < float(t.get("x")) < max(xs) and min(ys) < float(t.get("y")) < max(ys)
    }
    titles_inside = {t for t in inside if t in boxes}
    assert titles_inside == {"branch/deep/dense (Dense)", "branch/deep/dense_1 (Dense)", "branch/wide (Identity)"}


@pytest.mark.needs_dot
def test_several_inputs(tmp_path):
    deep = Sequential([Dense(30, activation="relu")], name="deep")
    model = Sequential([Parallel([Identity(name="wide"), deep]), Concatenate(), Dense(1)])
    root = _svg(plot_model(model, ((5,), (6,)), show_shapes=True), tmp_path)
    boxes = _boxes(root)
    assert boxes["input_layer (InputLayer)"] == ["Output shape: (None, 5)"]
    assert boxes["input_layer_1 (InputLayer)"] == ["Output shape: (None, 6)"]
    assert boxes["parallel (Parallel)"] == [
        "Input shape: [(None, 5), (None, 6)]",
        "Output shape: [(None, 5), (None, 30)]",
    ]
    edges = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == 4  # two inputs into the parallel box, then concatenate, then dense
    boxes = _boxes(_svg(plot_model(model, ((5,), (6,)), show_shapes=True, expand_nested=True), tmp_path))
    assert boxes["parallel/deep/dense (Dense)"] == ["Input shape: (None, 6)", "Output shape: (None, 30)"]
    assert boxes["parallel/wide (Identity)"] == ["Input shape: (None, 5)", "Output shape: (None, 5)"]


@pytest.mark.needs_dot
def test_keras_face_plot_model_has_keras_defaults(tmp_path):
    model = keras.Sequential([keras.Input(shape=(4,)), Dense(8, activation="relu"), Dense(3)])
    keras.utils.plot_model(model, to_file=tmp_path / "model.svg", show_shapes=True, show_layer_activations=True)
    boxes = _box_list(ET.parse(tmp_path / "model.svg").getroot())
    # Keras' plot_model titles boxes by class unless show_layer_names=True
    assert sorted(boxes) == [
        ("Dense", ["Activation: linear", "Input shape: (None, 8)", "Output shape: (None, 3)"]),
        ("Dense", ["Activation: relu", "Input shape: (None, 4)", "Output shape: (None, 8)"]),
        ("InputLayer", ["Output shape: (None, 4)"]),
    ]
    assert keras.utils.plot_model(model, to_file=tmp_path / "m.png").dpi == 200  # Keras' default resolution


@pytest.mark.needs_dot
def test_renders_png(tmp_path):
    data = render(plot_model(zoo.cnn(), (32, 32, 3)), tmp_path / "cnn.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="dpi must be a positive number"):
        plot_model(zoo.mlp(), (28, 28), dpi=0)
    with pytest.raises(ValueError, match="splines must be one of ortho"):
        plot_model(zoo.mlp(), (28, 28), splines="zigzag")
    with pytest.raises(TypeError, match=r"wrap the layer in Sequential"):
        plot_model(Dense(3), (4,))


@pytest.mark.slow  # importing Keras takes a while
@pytest.mark.needs_dot
def test_same_facts_as_keras_3(tmp_path, monkeypatch):
    """Keras 3 (the `bench` extra) labels the same CNN with its own make_layer_label: the facts must match."""
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    real_keras = pytest.importorskip("keras", minversion="3", reason="Keras 3 is not installed: make bench-extra")
    visualization = pytest.importorskip("keras.src.utils.model_visualization")
    model = zoo.cnn()
    ours = _boxes(
        _svg(plot_model(model, (32, 32, 3), show_shapes=True, show_dtype=True, show_layer_activations=True), tmp_path)
    )
    L = real_keras.layers
    twins = {
        "Conv2D": lambda c, name: L.Conv2D(
            c.filters, c.kernel_size, strides=c.strides, padding=c.padding, activation=c.activation, name=name
        ),
        "MaxPooling2D": lambda c, name: L.MaxPooling2D(c.pool_size, name=name),
        "Flatten": lambda c, name: L.Flatten(name=name),
        "Dense": lambda c, name: L.Dense(c.units, activation=c.activation, name=name),
    }
    layers = [twins[type(layer).__name__](layer, name) for name, layer in zip(model.names, model.layers)]
    keras_model = real_keras.Sequential([real_keras.Input((32, 32, 3)), *layers])
    for layer in keras_model.layers:
        label = visualization.make_layer_label(
            layer,
            show_layer_names=True,
            show_layer_activations=True,
            show_dtype=True,
            show_shapes=True,
            show_trainable=False,
        )
        facts = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", label)]
        assert ours[facts[0]] == facts[1:], facts[0]
    assert len(keras_model.layers) == len(ours) - 1 == 8  # every box but the input compared
