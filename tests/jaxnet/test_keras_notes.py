"""Every Keras cell of the course notes (../shared/seeds), run verbatim with only the import changed.

How the cells are run:

- The source of each cell is copied from the notes (file and line in each constant's comment). The
  notes are transcriptions with OCR damage; only that damage is repaired, and each repair is listed
  next to its cell ("fixed: ..."). Cells that are not Python (``%pylab``, shell lines) or that use
  names from cells the notes do not show are left out or completed, and said so.
- ``ported`` makes the one change a student makes: ``from tensorflow import keras`` /
  ``import tensorflow as tf`` + ``tf.keras.`` / ``tensorflow.keras`` become ``jaxnet``'s (and,
  for the reference run, Keras 3's).
- Data: the tests write stand-in data sets in the published file formats (IDX gzip for MNIST
  and Fashion-MNIST, pickled python batches for CIFAR-10, Keras' ``boston_housing.npz``,
  scikit-learn's ``cal_housing_py3.pkz``) into a temporary folder named by ``$JAXNET_DATA``
  (``$SCIKIT_LEARN_DATA`` for scikit-learn). The fast tests use small sets and therefore patch
  the two size literals the notes hard-code in ``reshape`` (60000 -> ``SMALL[0]``, 10000 ->
  ``SMALL[1]``); the slow test runs the full-size sets with those literals untouched.
- ``epochs=<n>`` literals are patched to ``epochs=1`` (``shrink``); nothing else is changed.
- The three heaviest sessions (000's MNIST MLP, 001's Fashion-MNIST MLP with plot_model, 004's
  Fashion-MNIST CNN/MLP) are marked slow, to keep ``make test`` short; ``make test-slow`` runs them.
- Keras 3 (JAX backend) is the reference: each model is built again from the same cell with Keras,
  given the same weights, and compared on predictions, ``evaluate`` and one training step (logs
  and updated weights, i.e. the gradients). Where Keras 3 itself cannot run the notes' line
  (``SGD(lr=...)``, ``metrics='acc'``), the Keras side uses the Keras 3 spelling, said at the call.
"""

import contextlib
import gzip
import io
import os
import pickle
import re
import struct

import matplotlib
import numpy as np
import pytest
from keras3 import assert_inference_matches, assert_one_step_matches, import_keras

matplotlib.use("Agg")  # the cells call plt.show()

#: (train, test) sizes of the fast stand-in MNIST / Fashion-MNIST sets; 001 holds out the first 5000.
SMALL = (6000, 500)
FULL = (60000, 10000)


# --- the cells -----------------------------------------------------------------------------------

# 000_d57071cc0bd980ba.txt:147-252 (MNIST MLP). Fixed: the two imports OCR'd onto one line; the loss
# 'sparse _ categorical _ crossentropy'; 'validation_\nsplit'. Left out: the PIL/imshow cell and the
# learning-curve cell that plots `epoch, acc, val_acc` (names defined in no cell of the notes).
NOTES_000 = [
    """from tensorflow.keras.datasets.mnist import load_data
(train_x, train_y), (test_x, test_y) = load_data()
""",
    """train_x.shape, train_y.shape # train 데이터 크기 확인
test_x.shape, test_y.shape # test 데이터 크기 확인
""",
    """train_x1 = train_x.reshape(60000, -1)
test_x1 = test_x.reshape(10000, -1)
""",
    """train_x2 = train_x1/255
test_x2 = test_x1/255
""",
    """from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
""",
    """md = Sequential()
md.add(Dense(128, activation = 'relu', input_shape = (28*28,)))
md.add(Dense(64, activation = 'relu'))
md.add(Dense(10, activation = 'softmax')) # 선형분류이므로 마지막 층은 softmax로 활성화
md.summary() # 모델을 요약해 출력
""",
    """md.compile(loss = 'sparse_categorical_crossentropy', optimizer = 'sgd',
metrics = 'acc')
""",
    """hist = md.fit(train_x2, train_y, epochs = 30, batch_size = 64, validation_split = 0.2)
""",
    """md.evaluate(test_x2, test_y)
""",
    """weight = md.get_weights()
weight
""",
    """plt.plot(hist.history['loss'], label='loss')
plt.plot(hist.history['val_loss'], label='val_loss')
plt.title('model loss')
plt.ylabel('loss')
plt.xlabel('epoch')
plt.legend(['train','test'], loc='upper left')
plt.show()
""",
]

# 000:264-276, the Dropout model (fixed: 'input shape').
NOTES_000_DROPOUT = """from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
md = Sequential()
md.add(Dense(128, activation = 'relu', input_shape = (28*28,)))
md.add(Dense(64, activation = 'relu'))
md.add(Dropout(0.5))
md.add(Dense(10, activation = 'softmax'))
md.summary()
"""

# 001_91cfc6cd70f5a922.txt:195-214, set-up. Left out: `%pylab` (an IPython magic). Fixed: 'PROJECT ROOT DIR',
# 'CHAPTER ID', 'tight layout'.
NOTES_001_SETUP = """import os
import pandas as pd
import tensorflow as tf
from tensorflow import keras
import matplotlib as mpl
import matplotlib.pyplot as plt
mpl.rc('axes', labelsize=14)
mpl.rc('xtick', labelsize=12)
mpl.rc('ytick', labelsize=12)
PROJECT_ROOT_DIR = "."
CHAPTER_ID = "ann"
IMAGES_PATH = os.path.join(PROJECT_ROOT_DIR, "images", CHAPTER_ID)
os.makedirs(IMAGES_PATH, exist_ok=True)
def save_fig(fig_id, tight_layout=True, fig_extension="png", resolution=300):
   path = os.path.join(IMAGES_PATH, fig_id + "." + fig_extension)
   print("그림 저장:", fig_id)
   if tight_layout:
      plt.tight_layout()
   plt.savefig(path, format=fig_extension, dpi=resolution)
"""

# 001:217-237, Fashion-MNIST. Fixed: 'fashion mnist', 'X train full', 'load data', the LaTeX-garbled
# `X \\text{ test}` line.
NOTES_001_FASHION = """fashion_mnist = keras.datasets.fashion_mnist
(X_train_full, y_train_full), (X_test, y_test) = fashion_mnist.load_data()
X_valid, X_train = X_train_full[:5000] / 255., X_train_full[5000:] / 255.
y_valid, y_train = y_train_full[:5000], y_train_full[5000:]
X_test = X_test / 255.
plt.imshow(X_train[0], cmap="binary")
plt.axis('off')
plt.show()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=[28, 28]))
model.add(keras.layers.Dense(300, activation="relu"))
model.add(keras.layers.Dense(100, activation="relu"))
model.add(keras.layers.Dense(10, activation="softmax"))
"""

# 001:241-268. Fixed: 'validation data=(X valid, y valid)', `X \\text{ new} = X \\text{ test[:3]}`.
NOTES_001_COMPILE = """print(model.summary())
keras.utils.plot_model(model, "my_fashion_mnist_model.png", show_shapes=True)
model.compile(loss=keras.losses.sparse_categorical_crossentropy,
          optimizer=keras.optimizers.SGD(),
          metrics=[keras.metrics.sparse_categorical_accuracy])
"""
NOTES_001_TRAIN = """history = model.fit(X_train, y_train, epochs=30,
              validation_data=(X_valid, y_valid))
pd.DataFrame(history.history).plot(figsize=(8, 5))
plt.grid(True)
plt.gca().set_ylim(0, 1)
save_fig("keras_learning_curves_plot")
plt.show()
model.evaluate(X_test, y_test)
X_new = X_test[:3]
y_proba = model.predict(X_new)
y_proba.round(2)
"""

# 001:273-317, California housing regression (verbatim).
NOTES_001_HOUSING = """import numpy as np
import pandas as pd
import tensorflow as tf
from tensorflow import keras
from sklearn.datasets import fetch_california_housing
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
housing = fetch_california_housing()
X_train_full, X_test, y_train_full, y_test = train_test_split(housing.data, housing.target, random_state=42)
X_train, X_valid, y_train, y_valid = train_test_split(X_train_full, y_train_full, random_state=42)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_valid = scaler.transform(X_valid)
X_test = scaler.transform(X_test)
"""
NOTES_001_REGRESSION_MODEL = """np.random.seed(42)
model = keras.models.Sequential([
    keras.layers.Dense(30, activation="relu", input_shape=X_train.shape[1:]),
    keras.layers.Dense(1)
])
"""
NOTES_001_REGRESSION_TRAIN = """model.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(lr=1e-3))
history = model.fit(X_train, y_train, epochs=20, validation_data=(X_valid, y_valid))
mse_test = model.evaluate(X_test, y_test)
X_new = X_test[:3]
y_pred = model.predict(X_new)
print(y_pred)
"""

# 001:323-334, Wide & Deep (fixed: 'lnput').
NOTES_001_WIDE_DEEP = """input_ = keras.layers.Input(shape=X_train.shape[1:])
hidden1 = keras.layers.Dense(30, activation="relu")(input_)
hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
concat = keras.layers.concatenate([input_, hidden2])
output = keras.layers.Dense(1)(concat)
model = keras.models.Model(inputs=[input_], outputs=[output])
"""
# 001:341-371: save, restore and callbacks. The notes' save cell has `[...]` placeholders for the compile
# and fit arguments: they are the regression cell's compile line, as in the book the notes follow.
NOTES_001_SAVE = """model.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(lr=1e-3))
model.save("my_keras_model.h5")
"""
NOTES_001_RESTORE = """model = keras.models.load_model("my_keras_model.h5")
"""
NOTES_001_CALLBACKS = """checkpoint_cb = keras.callbacks.ModelCheckpoint("my_keras_model.h5")
history = model.fit(X_train, y_train, epochs=10, callbacks=[checkpoint_cb])
early_stopping_cb = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
history = model.fit(X_train, y_train, epochs=100, validation_data=(X_valid, y_valid), callbacks=[checkpoint_cb, early_stopping_cb])
"""

# 003_7759747f7267ec13.txt:94-170 (verbatim) with 002_9c5d150a588d2b4e.txt:41-120 where it differs.
NOTES_003_LOAD = """from tensorflow import keras
(train_input, train_target), (test_input, test_target) =\\
keras.datasets.fashion_mnist.load_data()
from sklearn.model_selection import train_test_split

train_scaled = train_input / 255.0
train_scaled = train_scaled.reshape(-1, 28*28)
train_scaled, val_scaled, train_target, val_target = train_test_split(
    train_scaled, train_target, test_size=0.2, random_state=42)
"""
NOTES_002_SIGMOD = """dense1 = keras.layers.Dense(100, activation='sigmod', input_shape=(784,))
"""
NOTES_003_MODELS = [
    """dense1 = keras.layers.Dense(100, activation='sigmoid', input_shape=(784,))
dense2 = keras.layers.Dense(10, activation='softmax')

model = keras.Sequential([dense1, dense2])
model.summary()
""",  # model.summary(): 002:64
    """model = keras.Sequential([
    keras.layers.Dense(100, activation='sigmoid', input_shape=(784,),
                       name='hidden'),
    keras.layers.Dense(10, activation='softmax', name='output')
], name='패션 MNIST 모델')
""",
    """model = keras.Sequential()
model.add(keras.layers.Dense(100, activation='sigmoid', input_shape=(784, )))
model.add(keras.layers.Dense(10, activation='softmax'))
""",
]
# 002:114-121, the two ways to pick SGD (on the model just built).
NOTES_002_COMPILE = """model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy', metrics='accuracy')
sgd = keras.optimizers.SGD()
model.compile(optimizer=sgd, loss='sparse_categorical_crossentropy', metrics='accuracy')
"""
NOTES_003_RELU = """model = keras.Sequential()
model.add(keras.layers.Flatten(input_shape=(28, 28)))
model.add(keras.layers.Dense(100, activation='relu'))
model.add(keras.layers.Dense(10, activation='softmax'))

(train_input, train_target), (test_input, test_target) =\\
keras.datasets.fashion_mnist.load_data()

train_scaled = train_input / 255.0
train_scaled, val_scaled, train_target, val_target = train_test_split(
    train_scaled, train_target, test_size=0.2, random_state=42)

model.compile(loss='sparse_categorical_crossentropy')
model.fit(train_scaled, train_target, epochs=5)
"""
NOTES_003_ADAM = """model = keras.Sequential()
model.add(keras.layers.Flatten(input_shape=(28, 28)))
model.add(keras.layers.Dense(100, activation='relu'))
model.add(keras.layers.Dense(10, activation='softmax'))

model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
model.fit(train_scaled, train_target, epochs=5)
"""

# 004_fa93b88987c4ef1d.txt:1833-1839, 2515-2560 (MNIST, line numbers of the cells dropped).
NOTES_004_MNIST = """import tensorflow as tf
mnist = tf.keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()

# 픽셀 값을 0~1 사이로 정규화합니다.
x_train, x_test = x_train / 255.0, x_test / 255.0
x_test_flatten = x_test.reshape([x_test.shape[0], -1])
model = tf.keras.models.Sequential([
  tf.keras.layers.Flatten(input_shape=(28, 28)),
  tf.keras.layers.Dense(128, activation='relu'),
  tf.keras.layers.Dropout(0.2),
  tf.keras.layers.Dense(10, activation='softmax')
])
model.summary()
model.compile(optimizer='adam',
                    loss='sparse_categorical_crossentropy',
                    metrics=['accuracy'])
model.fit(x_train, y_train, epochs=5)
model.evaluate(x_test, y_test)
"""
# 004:2748-2750, Boston housing.
NOTES_004_BOSTON = """boston_data = tf.keras.datasets.boston_housing
(x_train, y_train), (x_test, y_test) = boston_data.load_data()
x_train[0]
"""
# 004:2790-2804, CIFAR-10 MLP. The notes do not show the cell that loads CIFAR-10 and sets x_shape: the first
# two lines here do that in the notes' own pattern (boston_data above).
NOTES_004_CIFAR = """(x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar10.load_data()
x_shape = x_train.shape[1:]
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=x_shape),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10, activation='softmax')
])

model.summary()

model.compile(optimizer='adam',
                loss='sparse_categorical_crossentropy',
                metrics=['accuracy'])

model.fit(x_train, y_train, epochs=5)
model.evaluate(x_test, y_test)
"""
# 004:3533-3662, Fashion-MNIST CNN and MLP, save and restore.
NOTES_004_FASHION = """import tensorflow as tf
fashion_mnist = tf.keras.datasets.fashion_mnist
(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

x_train = x_train.reshape((60000, 28, 28, 1))
x_test = x_test.reshape((10000, 28, 28, 1))

# 픽셀 값을 0~1 사이로 정규화합니다.
x_train, x_test = x_train / 255.0, x_test / 255.0
"""
NOTES_004_CNN = """from tensorflow.keras import datasets, layers, models

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
"""
NOTES_004_MLP = """from tensorflow import keras
# layer를 하나씩 추가하는 방식
model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=[28,28]))
model.add(keras.layers.Dense(300, activation="relu"))
model.add(keras.layers.Dense(100, activation="relu"))
model.add(keras.layers.Dense(10, activation="softmax"))

# 층 리스트로 전달하는 방식
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28,28]),
    keras.layers.Dense(300, activation="relu"),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
"""
NOTES_004_COMPILE = """model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
"""
NOTES_004_TRAIN = """history = model.fit(x_train, y_train, epochs=30, validation_data=(x_test, y_test))
import pandas as pd
import matplotlib.pyplot as plt

pd.DataFrame(history.history).plot(figsize=(8,5))
plt.grid(True)
plt.gca().set_ylim(0, 1)
plt.show()
model.evaluate(x_test, y_test)
X_new = x_test[:5]
y_proba = model.predict(X_new)
y_proba.round(2)
model.save('fashion_mnist_mlp_model.h5')
model_loaded = keras.models.load_model('fashion_mnist_mlp_model.h5')
y_proba = model_loaded.predict(X_new)
y_proba.round(2)
"""


# --- running them --------------------------------------------------------------------------------


def ported(source: str, to: str = "jaxnet") -> str:
    """The one change a student makes: TensorFlow's Keras imports become jaxnet's (or Keras 3's, ``to="keras3"``)."""
    module, package = {"jaxnet": ("from jaxnet import keras", "jaxnet.keras"), "keras3": ("import keras", "keras")}[to]
    source = source.replace("import tensorflow as tf", module).replace("from tensorflow import keras", module)
    return source.replace("tf.keras.", "keras.").replace("tensorflow.keras", package)


def shrink(source: str, sizes=SMALL) -> str:
    """``epochs=<n>`` -> ``epochs=1``; for small stand-in data, the notes' 60000/10000 size literals too."""
    source = re.sub(r"epochs\s*=\s*\d+", "epochs=1", source)
    if sizes != FULL:
        source = re.sub(r"\b60000\b", str(sizes[0]), re.sub(r"\b10000\b", str(sizes[1]), source))
    return source


class Notebook:
    """One namespace in which cells run in order, as in Colab; each run's stdout is kept."""

    def __init__(self, to: str = "jaxnet", sizes=SMALL, namespace: dict | None = None):
        self.to, self.sizes = to, sizes
        self.ns = {
            "__name__": "__notes__",
            "plt": __import__("matplotlib.pyplot").pyplot,
            "np": np,
            **(namespace or {}),
        }

    def run(self, *cells: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            for cell in cells:
                exec(compile(shrink(ported(cell, self.to), self.sizes), "<notes cell>", "exec"), self.ns)
        return out.getvalue()

    def __getitem__(self, name):
        return self.ns[name]


# --- stand-in data in the published formats ------------------------------------------------------


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def _images(rng, n, shape, classes=10):
    """Learnable stand-ins: each class a fixed random pattern, each image its class's pattern with pixels dropped."""
    labels = rng.integers(0, classes, n).astype(np.uint8)
    patterns = rng.integers(0, 256, (classes, *shape), dtype=np.uint8)
    keep = rng.random((n, *shape)) < 0.7
    return np.where(keep, patterns[labels], 0).astype(np.uint8), labels


def write_stand_in_data(root, sizes, seed=0):
    """MNIST, Fashion-MNIST (IDX gzip), CIFAR-10 (python batches), Boston housing (npz), California housing
    (scikit-learn's pickle) under ``root``, as ``$JAXNET_DATA`` / ``$SCIKIT_LEARN_DATA`` expect them."""
    rng = np.random.default_rng(seed)
    for name in ("mnist", "fashion_mnist"):
        folder = root / name
        folder.mkdir(parents=True)
        for prefix, n in (("train", sizes[0]), ("t10k", sizes[1])):
            x, y = _images(rng, n, (28, 28))
            _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
            _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    folder = root / "cifar10"
    folder.mkdir()
    for i, file in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x, y = _images(rng, 100, (3, 32, 32))
        with open(folder / file, "wb") as f:
            pickle.dump({b"data": x.reshape(100, -1), b"labels": y.tolist()}, f)
    (root / "boston_housing").mkdir()
    x = rng.uniform(0, 100, (80, 13))
    np.savez(root / "boston_housing" / "boston_housing.npz", x=x, y=x[:, 5] * 0.3 + rng.normal(size=80))
    # scikit-learn's cache: columns target, MedInc, HouseAge, rooms, bedrooms, population, households, lat, lon
    n = 400
    cal = np.column_stack(
        [
            rng.uniform(1e4, 5e5, n),
            rng.uniform(0.5, 15, n),
            rng.uniform(1, 52, n),
            rng.uniform(500, 5000, n),
            rng.uniform(100, 1000, n),
            rng.uniform(300, 3000, n),
            rng.uniform(100, 900, n),
            rng.uniform(32, 42, n),
            rng.uniform(-124, -114, n),
        ]
    )
    cal[:, 0] = 1e5 * (cal[:, 1] / 3 + 0.1 * rng.normal(size=n))
    import joblib

    joblib.dump(cal, root / "cal_housing_py3.pkz", compress=3)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes_data")
    write_stand_in_data(root, SMALL)
    return root


@pytest.fixture
def notes(small_data, tmp_path, monkeypatch):
    """A jaxnet notebook on the small stand-in data, working in a temporary folder."""
    monkeypatch.setenv("JAXNET_DATA", str(small_data))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(small_data))
    monkeypatch.chdir(tmp_path)
    return Notebook()


@pytest.fixture(scope="module")
def K():
    return import_keras()


def _total_params(summary: str) -> int:
    return int(re.search(r"Total params: ([\d,]+)", summary).group(1).replace(",", ""))


def between(cell: str, start: str, end: str | None = None) -> str:
    """The lines of a cell from the one starting with ``start`` up to the one with ``end`` (the model's lines)."""
    cell = cell[cell.index(start) :]
    return cell if end is None else cell[: cell.index(end)]


def _reference(*cells: str, namespace: dict):
    """The model the cells build, built by Keras 3 in a copy of the notebook's data (no jaxnet object in it)."""
    data = {k: v for k, v in namespace.items() if isinstance(v, (np.ndarray, tuple, int, float, str))}
    book = Notebook("keras3", namespace=data)
    book.run("from tensorflow import keras", *cells)
    return book["md"] if "md" in book.ns else book["model"]


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.slow  # the heaviest cells: run by make test-slow
def test_000_mnist_mlp(notes, K):
    out = notes.run(*NOTES_000[:6])
    assert notes["train_x"].shape == (SMALL[0], 28, 28) and notes["train_x"].dtype == np.uint8
    assert _total_params(out) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 == 109_386
    notes.run(*NOTES_000[6:])
    hist, md = notes["hist"], notes["md"]
    assert set(hist.history) == {"loss", "acc", "val_loss", "val_acc"}  # 'acc' logged as the notes spell it
    assert hist.history["val_acc"][0] > 0.5  # the stand-in classes are learnable
    loss, acc = md.evaluate(notes["test_x2"], notes["test_y"])
    assert [w.shape for w in notes["weight"]] == [(784, 128), (128,), (128, 64), (64,), (64, 10), (10,)]

    reference = _reference(NOTES_000[4], NOTES_000[5], namespace=notes.ns)
    reference.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["acc"])  # Keras 3: a list
    x, y = notes["test_x2"][:256], notes["test_y"][:256]
    assert_inference_matches(md, reference, x, y)
    assert_one_step_matches(md, reference, x, y)

    out = notes.run(NOTES_000_DROPOUT)
    assert _total_params(out) == 109_386
    assert_inference_matches(notes["md"], _reference(NOTES_000_DROPOUT, namespace=notes.ns), x)


@pytest.mark.slow  # the heaviest cells: run by make test-slow
def test_001_fashion_mlp_with_plot_model(notes, K):
    pytest.importorskip("graphviz")
    out = notes.run(NOTES_001_SETUP, NOTES_001_FASHION, NOTES_001_COMPILE)
    assert "Total params: 266,610" in out and "None" in out  # print(model.summary()) prints the table, then None
    assert os.path.getsize("my_fashion_mnist_model.png") > 0
    reference = _reference(between(NOTES_001_FASHION, "model = "), namespace=notes.ns)
    reference.compile(
        loss=K.losses.sparse_categorical_crossentropy,
        optimizer=K.optimizers.SGD(),
        metrics=[K.metrics.sparse_categorical_accuracy],
    )
    x, y = notes["X_valid"][:200], notes["y_valid"][:200]
    assert_inference_matches(notes["model"], reference, x, y)
    assert_one_step_matches(notes["model"], reference, x, y)

    notes.run(NOTES_001_TRAIN)
    history = notes["history"].history
    assert set(history) == {"loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"}
    assert notes["y_proba"].shape == (3, 10)
    np.testing.assert_allclose(notes["y_proba"].sum(1), 1, rtol=1e-5)


def test_001_housing_regression_wide_and_deep_save_and_callbacks(notes, K):
    notes.run(NOTES_001_HOUSING, NOTES_001_REGRESSION_MODEL)
    assert notes["X_train"].shape[1] == 8
    with pytest.warns(DeprecationWarning, match="lr"):  # tf.keras 2's lr=, which Keras 3 no longer takes
        notes.run(NOTES_001_REGRESSION_TRAIN)
    assert np.asarray(notes["y_pred"]).shape == (3, 1) and isinstance(notes["mse_test"], float)
    assert "val_loss" in notes["history"].history

    notes.run(NOTES_001_REGRESSION_MODEL)
    regression = notes["model"]
    reference = _reference(NOTES_001_REGRESSION_MODEL, namespace=notes.ns)
    for m, k in ((regression, notes["keras"]), (reference, K)):
        m.compile(loss="mean_squared_error", optimizer=k.optimizers.SGD(learning_rate=1e-3))  # Keras 3: no lr=
    x, y = notes["X_valid"][:64], notes["y_valid"][:64]
    assert_one_step_matches(regression, reference, x, y)

    notes.run(NOTES_001_WIDE_DEEP)
    wide = notes["model"]
    reference = _reference(NOTES_001_WIDE_DEEP, namespace=notes.ns)
    with pytest.warns(DeprecationWarning):
        notes.run(NOTES_001_SAVE)
    saved = wide.predict(x)
    reference.compile(loss="mean_squared_error", optimizer=K.optimizers.SGD(learning_rate=1e-3))
    assert_inference_matches(wide, reference, x, y)
    assert_one_step_matches(wide, reference, x, y)
    notes.run(NOTES_001_RESTORE)
    restored = notes["model"]
    assert restored is not wide and type(restored).__name__ == "Model"
    np.testing.assert_array_equal(restored.predict(x), saved)  # the weights save wrote, before the step above

    notes.run(NOTES_001_CALLBACKS)
    assert len(notes["history"].history["val_loss"]) == 1
    assert os.path.getsize("my_keras_model.h5") > 0


def test_002_003_fashion_mlps(notes, K):
    notes.run(NOTES_003_LOAD)
    with pytest.raises(ValueError, match="sigmod"):  # the notes' typo: Keras raises too
        notes.run(NOTES_002_SIGMOD)
    with pytest.raises(ValueError, match="sigmod"):
        Notebook("keras3").run("from tensorflow import keras", NOTES_002_SIGMOD)
    out = notes.run(NOTES_003_MODELS[0])
    assert _total_params(out) == 79_510  # the notes' figure
    notes.run(NOTES_003_MODELS[1])
    assert notes["model"].name == "패션 MNIST 모델" and [layer.name for layer in notes["model"].layers] == [
        "hidden",
        "output",
    ]
    notes.run(NOTES_003_MODELS[2], NOTES_002_COMPILE)
    x, y = notes["val_scaled"][:128], notes["val_target"][:128]
    reference = _reference(NOTES_003_MODELS[2], namespace=notes.ns)
    reference.compile(optimizer=K.optimizers.SGD(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert_one_step_matches(notes["model"], reference, x, y)

    notes.run(NOTES_003_RELU)
    x, y = notes["val_scaled"][:128], notes["val_target"][:128]
    reference = _reference(NOTES_003_RELU.split("\n\n")[0], namespace=notes.ns)
    for m in (notes["model"], reference):  # compiled afresh: the notes' fit has moved RMSprop's state on
        m.compile(loss="sparse_categorical_crossentropy")  # RMSprop, Keras' default optimizer
    assert_one_step_matches(notes["model"], reference, x, y)
    notes.run(NOTES_003_ADAM)
    assert notes["model"].evaluate(x, y) > 0


def test_004_mnist_boston_cifar(notes, K):
    out = notes.run(NOTES_004_MNIST)
    assert _total_params(out) == 101_770  # the notes' summary
    assert notes["x_test_flatten"].shape == (SMALL[1], 784)
    reference = _reference(between(NOTES_004_MNIST, "model = ", "model.summary()"), namespace=notes.ns)
    reference.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert_inference_matches(notes["model"], reference, notes["x_test"][:200], notes["y_test"][:200])

    notes.run(NOTES_004_BOSTON)
    assert notes["x_train"].shape == (64, 13) and notes["x_test"].shape == (16, 13)  # Keras' 0.2 split

    out = notes.run(NOTES_004_CIFAR)
    assert _total_params(out) == 394_634  # the notes' summary
    reference = _reference(between(NOTES_004_CIFAR, "model = ", "model.summary()"), namespace=notes.ns)
    reference.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert_inference_matches(notes["model"], reference, notes["x_test"][:50], notes["y_test"][:50])


@pytest.mark.slow  # the heaviest cells: run by make test-slow
def test_004_fashion_cnn_and_mlp_save_and_restore(notes, K):
    notes.run(NOTES_004_FASHION, NOTES_004_CNN)
    assert notes["x_train"].shape == (SMALL[0], 28, 28, 1)
    cnn = notes["model"]
    reference = _reference(NOTES_004_CNN, namespace=notes.ns)
    assert cnn.count_params() == reference.count_params() == 93_322
    x, y = notes["x_test"][:32], notes["y_test"][:32]
    assert_inference_matches(cnn, reference, x)

    notes.run(NOTES_004_MLP, NOTES_004_COMPILE)
    reference = _reference(NOTES_004_MLP, namespace=notes.ns)
    reference.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_one_step_matches(notes["model"], reference, x, y)
    notes.run(NOTES_004_TRAIN)
    assert list(notes["history"].history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_array_equal(notes["model_loaded"].predict(notes["X_new"]), notes["model"].predict(notes["X_new"]))


@pytest.mark.slow
def test_full_size_cells_run(tmp_path, monkeypatch):
    """The MNIST-sized cells with the notes' own 60000/10000 literals, on full-size stand-in sets (one epoch)."""
    write_stand_in_data(tmp_path, FULL)
    monkeypatch.setenv("JAXNET_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    book = Notebook(sizes=FULL)
    book.run(*NOTES_000)
    assert book["train_x1"].shape == (60000, 784) and len(book["hist"].history["val_acc"]) == 1
    book.run(NOTES_004_FASHION, NOTES_004_MLP, NOTES_004_COMPILE, NOTES_004_TRAIN)
    assert book["x_train"].shape == (60000, 28, 28, 1) and book["y_proba"].shape == (5, 10)
