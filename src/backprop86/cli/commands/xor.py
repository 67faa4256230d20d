"""``backprop86 xor``: the article's run, printed exactly as the article's code prints it.

Ctrl-C prints the losses so far and "interrupted at sweep N: no verdict" instead of
the trained predictions, writes ``--json`` to ``PATH.partial.json`` (never over a
complete result, :mod:`backprop86.cli.interrupted`) and exits 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from backprop86.cli.args import UsageError, nonnegative_int, positive_float, positive_int
from backprop86.cli.commands.common import add_json_arg, require_matplotlib
from backprop86.cli.interrupted import INTERRUPTED, partial_path, say_partial
from backprop86.cli.progress import sweep_bar
from backprop86.config import ENGINES
from backprop86.experiments import load
from backprop86.experiments.runner import interrupted_line, run
from backprop86.io import Output, check_outputs, save_json
from backprop86.network import Network

PROG = "backprop86 xor"

#: The article prints the loss every this many steps.
PRINT_EVERY = 2000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "xor",
        help="the article's XOR run (bit for bit)",
        description="Train the article's 2-4-1 XOR network and print what its code prints. "
        "--hidden 0 removes the hidden layer, --hidden 2 or 1 tries fewer units, "
        "--show-hidden shows the hidden representations (the article's three experiments).",
    )
    p.add_argument("--hidden", type=nonnegative_int, default=4, metavar="H",
                   help="hidden units (default 4; 0 = no hidden layer)")
    p.add_argument("--seed", type=nonnegative_int, default=42, metavar="S",
                   help="np.random.seed of the initial weights (default 42)")
    p.add_argument("--steps", type=positive_int, default=10001, metavar="N",
                   help="number of updates (default 10001, the article's range(10001))")
    p.add_argument("--lr", type=positive_float, default=0.5, metavar="LR",
                   help="learning rate (default 0.5)")
    p.add_argument("--bias", action="store_true",
                   help="give hidden and output units biases (drawn after the weights)")
    p.add_argument("--show-hidden", action="store_true",
                   help="print each input's hidden activations and what each hidden unit does")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="how sweeps are computed (default auto; readable: the equations as "
                        "written); every engine prints the same numbers")
    add_json_arg(p)
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="draw the trained net into DIR (PNG and SVG): its output over the input "
                        "square, and each input's hidden activations and place in hidden space")


def main(args: argparse.Namespace) -> int:
    check_outputs([Output("--json", args.json), Output("--plot", args.plot, folder=True)])
    if args.seed > 2**32 - 1:
        raise UsageError(f"--seed must be below 2**32 (np.random.seed's range), got {args.seed}")
    if args.plot is not None:
        require_matplotlib("--plot needs", "backprop86 xor")
    exp = load("xor").with_settings([
        f"hidden={args.hidden}", f"bias={args.bias}", f"lr={args.lr}", f"max_sweeps={args.steps}",
        f"engine={args.engine}",
    ])
    exp.check_size(1, {"max_sweeps": "--steps", "units": "--hidden", "replicas": "",
                       "cases": "", "history_every": ""}, history="every",
                   what=f"the xor run with --hidden {args.hidden} and --steps {args.steps:,}")
    with sweep_bar(args.steps, "xor", args.steps * exp.task().n_cases) as progress:
        result = run(exp, [args.seed], progress=progress, history="every")
    history = result.result.history[0]
    for step in range(0, min(args.steps, history.size), PRINT_EVERY):
        print(f"Step {step:5d} | Loss: {history[step]:.4f}")
    if result.interrupted:  # no predictions of a half-trained net presented as the answer
        print(f"\n{interrupted_line(result.sweeps_done)}")
        if args.json:
            target = partial_path(args.json)
            save_json(target, result.to_json())
            say_partial(PROG, [(args.json, target)])
        return INTERRUPTED
    task = result.task
    outputs = result.result.final_outputs[0]
    print("\nTrained predictions vs correct XOR:")
    targets = task.targets[:, 0].astype(int)
    for x, y, d in zip(task.inputs.astype(int), outputs[:, 0], targets, strict=True):
        print(f" Input {x} → Predicted: {y:.3f} | Correct: {d}")
    if args.show_hidden:
        if args.hidden == 0:
            print("\nThere is no hidden layer (--hidden 0): the output sees the inputs directly.")
        else:
            print()
            print(describe_hidden(result.net, task.inputs, task.labels))
    if args.json:
        save_json(args.json, result.to_json())
    if args.plot is not None:
        written = draw(result.net, task, args.plot, hidden=args.hidden, seed=args.seed)
        print(f"\nwrote {len(written)} figure files to {args.plot}", file=sys.stderr)
    return 0


def draw(net: Network, task, folder: Path, *, hidden: int, seed: int) -> list[Path]:
    """The trained net's figures: its output over the input square (the decision boundary) and,
    with a hidden layer, each input's hidden activations and where it lands in hidden space."""
    from backprop86 import plots

    name = f"xor-hidden{hidden}-seed{seed}"
    solved = bool(np.all((net.predict(task.inputs)[0] > 0.5) == (task.targets > 0.5)))
    title = f"xor, {hidden} hidden units, seed {seed}: {'solved' if solved else 'not solved'}"
    written = plots.decision_boundary(folder / f"decision-boundary-{name}", net, task,
                                      title=title, mid=0.5)
    if net.hidden:
        written += plots.hidden_activations(folder / f"hidden-{name}", net, task, title=title,
                                            mid=0.5)
    return written


def describe_hidden(net: Network, X: np.ndarray, labels: tuple[str, ...]) -> str:
    """Each input's hidden activations, then in words which inputs turn each unit on."""
    activity = net.forward(X)
    H = activity.y["hidden1"][0]  # (N, H)
    n_hidden = H.shape[1]
    header = "Hidden activations (sigmoid(X @ W1)):"
    cols = " ".join(f"  h{j + 1:<4d}" for j in range(n_hidden))
    lines = [header, f"  input  {cols}"]
    for label, row in zip(labels, H, strict=True):
        lines.append(f"  {label:<6} " + " ".join(f"{v:7.3f}" for v in row))
    lines.append("")
    lines.append("What each hidden unit does (on = activation > 0.5):")
    for j in range(n_hidden):
        on = [label for label, v in zip(labels, H[:, j], strict=True) if v > 0.5]
        off = [label for label in labels if label not in on]
        spread = H[:, j].max() - H[:, j].min()
        if spread < 0.1:
            low, high = H[:, j].min(), H[:, j].max()
            what = f"barely varies ({low:.2f}–{high:.2f}): carries no information"
        elif not on:
            what = f"off for every input, but graded: {_ranking(H[:, j], labels)}"
        elif not off:
            what = f"on for every input, but graded: {_ranking(H[:, j], labels)}"
        else:
            what = f"on for {', '.join(on)}; off for {', '.join(off)}"
            what += _name_function(set(on), labels)
        lines.append(f"  h{j + 1}: {what}")
    zero = [label for label, x in zip(labels, X, strict=True) if not np.any(x)]
    if zero and not net.group("hidden1").bias:
        lines.append(
            f"Without biases every hidden unit gives exactly 0.5 for {zero[0]}: its net input is 0."
        )
    codes = {tuple((H[i] > 0.5).astype(int)) for i in range(H.shape[0])}
    n_codes = len(codes)
    lines.append(
        f"The {len(labels)} inputs map to {n_codes} distinct binary hidden "
        f"code{'s' if n_codes != 1 else ''}."
    )
    if len(labels) == 4:
        out_bias = net.group(net.outputs[0]).bias
        how = "a line" if out_bias else "a line through the origin (the output unit has no bias)"
        if _separable(H, labels, bias=out_bias):
            lines.append(f"In hidden space XOR's two classes can be split by {how}: "
                         "the output unit can get every case right.")
        else:
            lines.append(f"In hidden space XOR's two classes cannot be split by {how}: "
                         "no output weights get every case right.")
    return "\n".join(lines)


_FUNCTIONS = {
    frozenset({"01", "10", "11"}): "OR",
    frozenset({"11"}): "AND",
    frozenset({"00"}): "NOR",
    frozenset({"00", "01", "10"}): "NAND",
    frozenset({"01", "10"}): "XOR",
    frozenset({"00", "11"}): "XNOR",
    frozenset({"10", "11"}): "the first input",
    frozenset({"01", "11"}): "the second input",
    frozenset({"00", "01"}): "NOT the first input",
    frozenset({"00", "10"}): "NOT the second input",
    frozenset({"10"}): "first AND NOT second",
    frozenset({"01"}): "second AND NOT first",
    frozenset({"00", "01", "11"}): "second OR NOT first",
    frozenset({"00", "10", "11"}): "first OR NOT second",
}


def _ranking(h: np.ndarray, labels: tuple[str, ...]) -> str:
    """Inputs from most to least active; equal activations (2 decimals) joined: ``00 > 01 = 10``."""
    levels: dict[float, list[str]] = {}
    for label, v in zip(labels, h, strict=True):
        levels.setdefault(round(float(v), 2), []).append(label)
    return " > ".join(" = ".join(levels[v]) for v in sorted(levels, reverse=True))


def _name_function(on: set[str], labels: tuple[str, ...]) -> str:
    name = _FUNCTIONS.get(frozenset(on)) if set(labels) == {"00", "01", "10", "11"} else None
    return f" (computes {name})" if name else ""


def _separable(H: np.ndarray, labels: tuple[str, ...], *, bias: bool = True) -> bool:
    """Whether XOR's classes are linearly separable in hidden space (perceptron on 4 points).

    With ``bias=False`` the separating hyperplane must pass through the origin,
    as it must for an output unit without a bias.
    """
    if H.shape[0] != 4:
        return False
    d = np.array([1 if label in ("01", "10") else -1 for label in labels])
    Z = np.hstack([H, np.ones((4, 1))]) if bias else H
    w = np.zeros(Z.shape[1])
    for _ in range(10_000):
        wrong = np.flatnonzero(np.sign(Z @ w) != d)
        if wrong.size == 0:
            return True
        w += d[wrong[0]] * Z[wrong[0]]
    return False
