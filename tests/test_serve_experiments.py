"""Every shipped experiment on the page: one session (backprop86.serve.session) set up,
stepped, a pattern chosen, its update traced and a small many-seeds sweep run — with no
error message and no exception — and what the page draws fits the network: the
activity over time of a recurrent net, no decision surface but for two-input
feed-forward nets, the recurrent trace's steps, the claims judged."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from backprop86 import experiments
from backprop86.serve.limits import Limits
from backprop86.serve.session import Session
from backprop86.tasks import Task

#: Sweeps each run is capped at (the setup's max_sweeps): enough to step and to finish.
SWEEPS = 2


async def drive(name: str) -> tuple[list[dict[str, Any]], Task]:
    """The messages a page gets for one run of experiment ``name``, and the task it trains
    on (a held-out split's training cases)."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    session = Session(send, Limits(), {}, asyncio.Semaphore(1))
    try:
        await session.set_up({"task": name, "max_sweeps": SWEEPS})
        await session.step(1)
        task = session.training.trainer.tasks[0]
        last = task.n_cases - 1
        await session.choose_pattern(last)
        await session.show_trace(last)
        await session.start_seeds(2)
        await asyncio.wait_for(session.seeds_task, 60)
        await session.stop_seeds()  # the sweep has ended: nothing to stop, nothing sent
    finally:
        await session.close()
    return sent, task


@pytest.mark.parametrize("name", experiments.names())
def test_every_shipped_experiment_runs_on_the_page(name):
    sent, task = asyncio.run(drive(name))
    kinds = [m["type"] for m in sent]
    assert [m for m in sent if m["type"] in ("error", "note")] == []
    assert kinds[:2] == ["ready", "frame"] and "trace" in kinds and kinds[-1] == "seeds"
    ready = sent[0]
    exp = experiments.load(name)
    net = exp.network()
    frames = [m for m in sent if m["type"] == "frame"]
    chosen = frames[-1]
    assert chosen["pattern"] == task.n_cases - 1 and chosen["sweep"] == 1

    # the network drawing: every group's activity (a recurrent net's at its last step)
    assert ready["network"]["recurrent"] == net.recurrent
    assert ready["network"]["steps"] == net.steps
    assert {g: len(v) for g, v in chosen["activity"].items()} == {
        g.name: g.size for g in net.groups}
    delays = {(p["source"], p["target"]): p["delay"] for p in ready["network"]["projections"]}
    assert delays == {(p.source, p.target): net.delays[p] for p in net.projections}

    # outputs: one row per listed case, one column per output slot (the targets' columns)
    assert np.shape(chosen["outputs"])[1] == task.targets.shape[1] == net.n_outputs
    for group, codes in chosen["codes"].items():
        assert np.shape(codes)[1] == net.group(group).size

    # a recurrent net's chosen case over time: (T + 1) steps × units, the data where clamped
    if net.recurrent:
        history = chosen["history"]
        assert {g: np.shape(v) for g, v in history.items()} == {
            g.name: (net.steps + 1, g.size) for g in net.groups}
        x = task.inputs[task.n_cases - 1]
        start = 0
        for group, t in net.input_slots:
            n = net.group(group).size
            assert np.allclose(history[group][t], x[start:start + n], atol=1e-3)
            start += n
        assert chosen["activity"] == {g: v[-1] for g, v in history.items()}
    else:
        assert "history" not in chosen

    # the decision surface only for two-input feed-forward nets
    two_inputs = not net.recurrent and net.n_inputs == 2
    assert ("surface" in chosen) == two_inputs and (ready["points"] is not None) == two_inputs

    # the trace: rows from eqs. (1)-(9); a recurrent net's name its steps
    trace = next(m for m in sent if m["type"] == "trace")
    assert trace["pattern"] == task.n_cases - 1 and trace["rows"]
    assert {r["section"] for r in trace["rows"]} <= set(trace["sections"])
    if net.recurrent:
        assert {f"t={net.steps}" in r["unit"] for r in trace["rows"]} == {True, False}

    # many seeds: two seeds trained to the cap, summarised, the claims judged
    seeds = sent[-1]
    assert seeds["finished"] and seeds["seeds"] == 2 and seeds["sweep"] == SWEEPS
    assert all(c["measured"] for c in seeds["claims"])
    assert bool(seeds["claims"]) == ready["has_claims"] == ("claims" in chosen)
    if ready["has_claims"]:
        assert [c["what"] for c in chosen["claims"]] == [c["what"] for c in seeds["claims"]]


def test_held_out_claims_are_judged_so_far_at_the_experiments_own_cap():
    """sequence-completion at its own 260 sweeps: its held-out claim is judged on the run
    as it stands (one sweep), on the page and on a many-seeds sweep stopped early."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        session = Session(send, Limits(), {}, asyncio.Semaphore(1))
        try:
            await session.set_up({"task": "sequence-completion"})
            await session.step(1)
            await session.start_seeds(2)
            while not any(m["type"] == "seeds" for m in sent):
                await asyncio.sleep(0.01)
            await session.stop_seeds()
        finally:
            await session.close()

    asyncio.run(run())
    assert [m for m in sent if m["type"] == "error"] == []
    frame = [m for m in sent if m["type"] == "frame"][-1]
    seeds = next(m for m in sent if m["type"] == "seeds")
    assert sent[-1]["type"] == "seeds_stopped" and not seeds["finished"]
    for claims in (frame["claims"], seeds["claims"]):
        heldout = [c for c in claims if "test sequences" in c["what"]]
        assert heldout and all(c["so_far"] and isinstance(c["verdict"], str)
                               and "%" in c["measured"] for c in heldout), heldout
