import jax
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import Perceptron as SkPerceptron

from jaxnet.book import perceptron as P

X1 = np.array([0, 0, 1, 1])
X2 = np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    "gate,table", [(P.AND, [0, 0, 0, 1]), (P.NAND, [1, 1, 1, 0]), (P.OR, [0, 1, 1, 1]), (P.XOR, [0, 1, 1, 0])]
)
def test_truth_tables(gate, table):
    np.testing.assert_array_equal(gate(X1, X2), table)
    assert [int(gate(a, b)) for a, b in zip(X1, X2)] == table


def test_single_layer_cannot_learn_xor_but_learns_and():
    x = np.stack([X1, X2], axis=1)
    params, errors = P.fit(x, np.array([0, 1, 1, 0]), epochs=50)
    assert P.accuracy(params, x, [0, 1, 1, 0]) < 1.0 and int(errors[-1]) > 0  # never converges
    params, errors = P.fit(x, np.array([0, 0, 0, 1]), epochs=50)
    assert P.accuracy(params, x, [0, 0, 0, 1]) == 1.0 and int(errors[-1]) == 0


def iris_setosa():
    iris = load_iris()
    return iris.data[:, (2, 3)], (iris.target == 0).astype(int)


def test_iris_setosa_like_scikit_learn():
    x, y = iris_setosa()
    sk = SkPerceptron(max_iter=1000, tol=1e-3, random_state=42).fit(x, y)
    assert sk.predict([[2, 0.5]]).tolist() == [1] and sk.score(x, y) == 1.0
    params, errors = P.fit(x, y)
    assert P.predict(params, np.array([[2, 0.5]])).tolist() == [1]
    assert P.accuracy(params, x, y) == 1.0
    assert int(errors[-1]) == 0
    shuffled, _ = P.fit(x, y, key=jax.random.key(42))
    assert P.accuracy(shuffled, x, y) == 1.0


def test_learning_rule_single_step():
    # one wrong example: w <- w + eta * (y - y_hat) * x
    params, errors = P.fit(np.array([[2.0, -1.0]]), np.array([1]), eta=0.5, epochs=1)
    np.testing.assert_allclose(params["w"], [1.0, -0.5])
    assert float(params["b"]) == 0.5 and errors.tolist() == [1]


def test_bad_shapes():
    with pytest.raises(ValueError, match="x of shape"):
        P.fit(np.ones(3), np.ones(3))
