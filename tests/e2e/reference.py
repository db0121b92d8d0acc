"""Independent references for k-means results: plain numpy / scipy /
scikit-learn computations from the data and the run's --out arrays, sharing
no code with the toolkit, so a test's expected values do not come from the
code under test."""
import h5py
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score


def scaled_points(path):
    """/X as float64 times its scale (the units of the centroids), and /labels."""
    with h5py.File(path, "r") as f:
        X = f["X"][...].astype(np.float64) * float(f["X"].attrs.get("scale", 1.0))
        truth = f["labels"][...] if "labels" in f else None
    return X, truth


def accuracy(labels, truth):
    """Best one-to-one matching of clusters to classes (Hungarian, scipy), as a fraction."""
    table = np.zeros((labels.max() + 1, truth.max() + 1))
    np.add.at(table, (labels, truth), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return table[rows, cols].sum() / len(labels)


def check_inertia(test, data, labels, centroids, record):
    """The record's inertia is the sum over the rows of the squared distance to their labelled
    centroid, in double precision from the definition (to 1e-12 of it), converged or not."""
    X, _ = scaled_points(data)
    dist = ((X - centroids[labels]) ** 2).sum()
    test.assertAlmostEqual(record["result"]["inertia"], dist, delta=1e-12 * dist)


def check_converged_lloyd(test, data, labels, centroids, record):
    """A converged Lloyd result is a fixed point, checked in double precision from the
    definition: every centroid is the mean of its rows, every row's label is its nearest
    centroid (up to ties the kernel's float rounding cannot resolve: the textbook bound
    gamma_m (|x| + |c|)^2, m = d + 3, u = 2^-24), and the record's inertia, accuracy
    (scipy's Hungarian matching) and NMI (scikit-learn) are those of these labels."""
    X, truth = scaled_points(data)
    r = record["result"]
    test.assertTrue(r["converged"])
    k, d = centroids.shape
    means = np.array([X[labels == c].mean(axis=0) if np.any(labels == c) else centroids[c] for c in range(k)])
    np.testing.assert_allclose(centroids, means, rtol=1e-12, atol=1e-12 * np.abs(X).max())
    dist = ((X[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    nearest = dist.argmin(axis=1)
    rows = np.arange(len(X))
    u = 2.0 ** -24
    gamma = (d + 3) * u / (1 - (d + 3) * u)
    norm_x = np.sqrt((X ** 2).sum(axis=1))
    norm_c = np.sqrt((centroids ** 2).sum(axis=1))
    margin = lambda c: gamma * (norm_x + norm_c[c]) ** 2  # noqa: E731
    gap = dist[rows, labels] - dist[rows, nearest]
    test.assertTrue(np.all(gap <= margin(labels) + margin(nearest)), "a row is not on its nearest centroid")
    test.assertAlmostEqual(r["inertia"], dist[rows, labels].sum(), delta=1e-12 * r["inertia"])
    if truth is not None:
        test.assertAlmostEqual(r["accuracy"], accuracy(labels, truth), places=12)
        test.assertAlmostEqual(r["nmi"], normalized_mutual_info_score(truth, labels), places=12)
