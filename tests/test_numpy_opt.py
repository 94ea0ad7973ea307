"""The numpy optimisers (nnlab.numpy_opt) on problems with known minima."""

import numpy as np

from nnlab import numpy_opt as NO


def test_levenberg_marquardt_solves_linear_least_squares():
    rng = np.random.default_rng(0)
    J = rng.normal(size=(3, 30, 5))
    t = rng.normal(size=(3, 30))

    def rj(V):
        r = np.einsum("nkp,np->nk", J, V) - t
        return np.sum(r**2, axis=1), r, J.copy()

    V = NO.levenberg_marquardt(rj, np.zeros((3, 5)), steps=40, mu=1e-3)
    for n in range(3):
        np.testing.assert_allclose(V[n], np.linalg.lstsq(J[n], t[n], rcond=None)[0], atol=1e-9)
    frozen = NO.levenberg_marquardt(rj, np.ones((3, 5)), steps=40, free=np.array([[0, 1, 1, 1, 1]] * 3, float))
    assert np.all(frozen[:, 0] == 1.0)


def test_lbfgs_and_gradient_descent_on_known_minima():
    def rosenbrock(V):
        x, y = V[:, 0], V[:, 1]
        grad = np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], 1)
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2, grad

    V = NO.lbfgs(rosenbrock, np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]]), steps=300)
    np.testing.assert_allclose(V, 1.0, atol=1e-6)
    H, b = np.diag([1.0, 3.0]), np.array([1.0, -2.0])
    V = NO.gradient_descent(lambda V: (None, V @ H - b), np.zeros((1, 2)), steps=500, lr=0.3)
    np.testing.assert_allclose(V[0], np.linalg.solve(H, b), rtol=1e-10)


def test_one_blas_thread_restores_and_keeps_results():
    a = np.random.default_rng(1).normal(size=(200, 200))
    with NO.one_blas_thread():
        inside = a @ a
    np.testing.assert_allclose(inside, a @ a, rtol=1e-12)
