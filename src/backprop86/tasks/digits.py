"""Real handwritten digits: scikit-learn's bundled 8×8 images, or MNIST-format IDX files.

``digits()`` (``data = ""``): the 1,797 8×8 images of the UCI "optical
recognition of handwritten digits" test set that scikit-learn ships
(``sklearn.datasets.load_digits``: no download), pixels ``0 … 16`` scaled to
``[0, 1]``. A fixed, class-stratified split (``test_fraction`` of each digit,
drawn by ``split_seed``) gives the task's own test cases (:attr:`Task.test`).

``digits(data=DIR)``: the MNIST files the user already has in ``DIR``
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
``.gz``), read by :func:`backprop86.data_files.read_idx`: 28×28 pixels
``0 … 255`` scaled to ``[0, 1]``, the ``t10k`` files as the test cases.
``limit`` keeps only the first ``limit`` training cases (0: all).

Targets: one unit per digit, ``d_k = 1`` for the image's digit ``k`` and 0 for
the other nine, ``(N, 10)``. Case labels are the digits. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop86.arrays import Array
from backprop86.data_files import read_idx
from backprop86.errors import ConfigError, DataError, FileFormatError
from backprop86.tasks.base import Task, register

#: The four MNIST file names (without ``.gz``), by part.
MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def one_hot(labels: Array, classes: int = 10) -> Array:
    """``(N,)`` digits → ``(N, classes)`` targets, 1 at the digit and 0 elsewhere."""
    return np.eye(classes)[np.asarray(labels, dtype=np.int64)]


def stratified_test(labels: Array, fraction: float, seed: int) -> Array:
    """Indices (sorted) of about ``fraction`` of each class's cases, drawn by ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    held = [rng.permutation(np.flatnonzero(labels == k))[:round(fraction * np.sum(labels == k))]
            for k in np.unique(labels)]
    return np.sort(np.concatenate(held))


def _images_task(name: str, images: Array, labels: Array, scale: float, test: Task | None,
                 description: str) -> Task:
    n = len(labels)
    shape = images.shape[1:]
    X = images.reshape(n, -1).astype(np.float64) / scale  # (N, rows·cols) in [0, 1]
    return Task(name, X, one_hot(labels), tuple(str(int(d)) for d in labels),
                description=description, test=test, image_shape=(int(shape[0]), int(shape[1])))


@register("digits")
def digits(data: str = "", test_fraction: float = 0.2, split_seed: int = 0, limit: int = 0
           ) -> Task:
    """Handwritten digits with their own test set (see the module's docstring)."""
    if data:
        return _mnist(Path(data), int(limit))
    if not 0 < float(test_fraction) < 1:
        raise ConfigError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "the digits task reads scikit-learn's bundled 8x8 digits: pip install "
            "'backprop86[sklearn]', or give MNIST-format IDX files with --set data=DIR"
        ) from None
    bunch = load_digits()
    images, labels = bunch.images, bunch.target  # (1797, 8, 8) in 0…16, (1797,)
    test = stratified_test(labels, float(test_fraction), int(split_seed))
    train = np.setdiff1d(np.arange(len(labels)), test)
    if limit:
        train = train[: int(limit)]
    about = "8x8 handwritten digits (scikit-learn's bundled UCI set)"
    held = _images_task("digits-test", images[test], labels[test], 16.0, None, about)
    return _images_task("digits", images[train], labels[train], 16.0, held, about)


def _find(folder: Path, part: str, what: str) -> Path:
    name = MNIST_FILES[part, what]
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileFormatError(
        f"{folder} has no {name} (or {name}.gz); expected the four MNIST-format IDX files "
        + ", ".join(MNIST_FILES.values())
    )


def _mnist(folder: Path, limit: int) -> Task:
    if not folder.is_dir():
        raise FileFormatError(f"--set data={folder}: no such folder; expected a folder with the "
                              "MNIST-format IDX files " + ", ".join(MNIST_FILES.values()))
    parts = {}
    for part in ("train", "test"):
        images_path, labels_path = _find(folder, part, "images"), _find(folder, part, "labels")
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1:
            raise FileFormatError(f"{images_path} holds {images.shape} values and {labels_path} "
                                  f"{labels.shape}; expected (N, rows, cols) images and (N,) "
                                  "labels")
        if len(images) != len(labels):
            raise DataError(f"{images_path} holds {len(images)} images but {labels_path} "
                            f"{len(labels)} labels; expected one label per image")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            bad = int(np.flatnonzero((labels < 0) | (labels > 9))[0])
            raise DataError(f"{labels_path}: label {int(labels[bad])} at case {bad}; expected "
                            "digits 0-9")
        if part == "train" and limit:
            images, labels = images[:limit], labels[:limit]
        parts[part] = (images, labels)
    shapes = {parts[p][0].shape[1:] for p in parts}
    if len(shapes) > 1:
        raise DataError(f"{folder}: training and test images differ in size, {sorted(shapes)}")
    top = float(max(int(parts["train"][0].max(initial=0)), 1))
    scale = 255.0 if top <= 255 else top
    about = f"MNIST-format digits from {folder}"
    held = _images_task("mnist-test", *parts["test"], scale, None, about)
    return _images_task("mnist", *parts["train"], scale, held, about)
