"""Sequence completion (PDP vol. 1 ch. 8, pp. 357-360, Tables 10-11): two letters, four digits."""

from __future__ import annotations

import numpy as np

from backprop86.tasks.base import Task, register

#: The letters and the two digits each one fixes (PDP p. 358): A→12, B→23, C→31, D→21, E→13.
DIGITS = {"A": (1, 2), "B": (2, 3), "C": (3, 1), "D": (2, 1), "E": (1, 3)}

#: The sequences PDP held out of training and tested (Table 11).
PDP_TEST = ("AD", "BE", "CA", "DB", "EC")


def sequence_digits(pair: str) -> tuple[int, int, int, int]:
    """The four digits that complete ``pair``: its first letter's two, then its second's
    (``"AD"`` → ``(1, 2, 2, 1)``)."""
    return (*DIGITS[pair[0]], *DIGITS[pair[1]])


@register("sequence_completion")
def sequence_completion() -> Task:
    """All 25 sequences ``XY d1 d2 d3 d4`` (X, Y among A-E), for a recurrent net that sees
    the letters at steps 1 and 2 and gives the digits at steps 3-6.

    Inputs are the letter units at step 1 then at step 2, one-hot (``(25, 10)``: the
    net's input slots ``(letters, 1)``, ``(letters, 2)``); targets the three digit
    units at steps 3, 4, 5 and 6, one-hot (``(25, 12)``). Case labels are the letter
    pairs, ``"AA"`` … ``"EE"``; PDP's test set is :data:`PDP_TEST`."""
    letters = sorted(DIGITS)
    pairs = [a + b for a in letters for b in letters]
    eye = np.eye(len(letters))
    X = np.array([np.concatenate([eye[letters.index(p[0])], eye[letters.index(p[1])]])
                  for p in pairs])
    D = np.array([np.concatenate([np.eye(3)[d - 1] for d in sequence_digits(p)])
                  for p in pairs])
    return Task("sequence-completion", X, D, labels=tuple(pairs),
                description="25 two-letter sequences, each completed by four digits")
