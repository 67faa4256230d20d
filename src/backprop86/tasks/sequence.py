"""Sequence completion (PDP vol. 1 ch. 8, pp. 357-360, Tables 10-11): two letters, four digits."""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register

#: The letters and the two digits each one fixes (PDP p. 358): A→12, B→23, C→31, D→21, E→13.
DIGITS = {"A": (1, 2), "B": (2, 3), "C": (3, 1), "D": (2, 1), "E": (1, 3)}

#: The sequences PDP held out of training and tested (Table 11).
PDP_TEST = ("AD", "BE", "CA", "DB", "EC")


def sequence_digits(pair: str) -> tuple[int, int, int, int]:
    """The four digits that complete ``pair``: its first letter's two, then its second's
    (``"AD"`` → ``(1, 2, 2, 1)``)."""
    return (*DIGITS[pair[0]], *DIGITS[pair[1]])


#: The variable-timing variant's timings (PDP Table 12): the steps 1-4 at which the two
#: letters arrive, in order, any two of the four: 6 timings × 25 pairs = 150 sequences.
TIMINGS = tuple((a, b) for a in range(1, 5) for b in range(a + 1, 5))


@register("sequence_completion")
def sequence_completion(timing: str = "fixed") -> Task:
    """All 25 sequences ``XY d1 d2 d3 d4`` (X, Y among A-E) for a recurrent net.

    ``timing = "fixed"`` (Tables 10-11): the net sees the letters at steps 1 and 2 and
    gives the digits at steps 3-6. Inputs are the letter units at step 1 then at step
    2, one-hot (``(25, 10)``: the net's input slots ``(letters, 1)``, ``(letters, 2)``);
    targets the three digit units at steps 3, 4, 5 and 6, one-hot (``(25, 12)``). Case
    labels are the letter pairs, ``"AA"`` … ``"EE"``; PDP's test set is :data:`PDP_TEST`.

    ``timing = "variable"`` (Table 12): the two letters arrive at any two of steps 1-4,
    in order (:data:`TIMINGS`), and the digits follow at steps 5-8: 150 sequences,
    inputs ``(150, 20)`` (the letter units at steps 1, 2, 3, 4; all off at a step
    without a letter), targets ``(150, 12)``. Labels show the four steps, ``-`` for
    none: ``"A-D-"`` is A at step 1 and D at step 3.
    """
    letters = sorted(DIGITS)
    pairs = [a + b for a in letters for b in letters]
    eye = np.eye(len(letters))
    digits = np.array([np.concatenate([np.eye(3)[d - 1] for d in sequence_digits(p)])
                       for p in pairs])
    if timing == "fixed":
        X = np.array([np.concatenate([eye[letters.index(p[0])], eye[letters.index(p[1])]])
                      for p in pairs])
        return Task("sequence-completion", X, digits, labels=tuple(pairs),
                    description="25 two-letter sequences, each completed by four digits")
    if timing != "variable":
        raise ConfigError(f"sequence_completion timing must be 'fixed' or 'variable', "
                          f"got {timing!r}")
    X, D, labels = [], [], []
    for first, second in TIMINGS:
        for p, d in zip(pairs, digits, strict=True):
            steps = np.zeros((4, len(letters)))
            steps[first - 1] = eye[letters.index(p[0])]
            steps[second - 1] = eye[letters.index(p[1])]
            X.append(steps.reshape(-1))
            D.append(d)
            label = ["-"] * 4
            label[first - 1], label[second - 1] = p[0], p[1]
            labels.append("".join(label))
    return Task("sequence-completion-variable", np.array(X), np.array(D), labels=tuple(labels),
                description="150 two-letter sequences, the letters at any two of steps 1-4, "
                            "completed by four digits at steps 5-8")
