"""The web page's server over HTTP and WebSockets: the API, the guards, the limits, many
malformed messages, two pages at once, exports that the command line runs, Ctrl-C."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from backprop86 import experiments
from backprop86.cli import main as cli_main
from backprop86.experiments.runner import run
from backprop86.serve.limits import Limits
from backprop86.serve.setup import experiment as setup_experiment
from backprop86.serve.setup import table as setup_table
from serve_server import Page, need, request, running

need("starlette")
need("uvicorn")
websockets = need("websockets")
need("websockets.sync.client")

LIMITS = Limits(sessions=3)


@pytest.fixture(scope="module")
def port():
    with running(limits=LIMITS) as p:
        yield p


@pytest.fixture
def open_page(port):
    """Open pages on the module's server; all are closed when the test ends, however it
    ends (a page left open would count against the next test's page limit)."""
    made: list[Page] = []

    def make(**options) -> Page:
        made.append(Page(port, **options))
        return made[-1]

    yield make
    for page in made:
        page.close()


# ------------------------------------------------------------------ HTTP


def test_the_page_and_its_files_are_served_with_a_strict_policy(port):
    status, text = request(port, "GET", "/")
    assert status == 200 and '<canvas id="surface"' in text and "http" not in text.split(
        "<body>")[0].replace('rel="stylesheet"', "")
    status, text = request(port, "GET", "/static/app.js")
    assert status == 200 and "new WebSocket" in text
    assert not re.search(r"https?://(?!\$)", text)  # nothing fetched from elsewhere
    conn_status, _ = request(port, "GET", "/static/../app.py")
    assert conn_status == 404


def test_options_and_describe(port):
    status, options = request(port, "GET", "/api/options")
    assert status == 200 and options["limits"]["sessions"] == 3
    assert {e["name"] for e in options["experiments"]} == set(experiments.names())
    status, xor = request(port, "GET", "/api/describe?task=xor")
    assert status == 200 and xor["hidden"] == [4] and xor["bias"] is False and xor["seed"] == 42
    for name in experiments.names():  # what the page's form sends for each sets it up
        status, own = request(port, "GET", f"/api/describe?task={name}")
        assert status == 200, own
        assert setup_table(own)["name"] == name
        setup_experiment(setup_table(own))
    status, family = request(port, "GET", "/api/describe?task=family-trees")
    assert status == 200 and "hidden" not in family  # groups fixed by the file
    for path, words in [("/api/describe", "needs ?task"),
                        ("/api/describe?task=banana", "unknown task 'banana'")]:
        status, body = request(port, "GET", path)
        assert status == 400 and words in body["error"]


def test_export_answers_toml_and_python_or_400_naming_the_fault(port):
    setup = {"task": "spirals", "hidden": [6, 6], "n": 100}
    status, body = request(port, "POST", "/api/export", json.dumps(setup).encode())
    assert status == 200 and body["toml"].startswith('name = "spirals-points"')
    assert "sizes = [2, 6, 6, 1]" in body["toml"] and "Trainer(" in body["python"]
    for bad, code, words in [
        (b"not json", 400, "must be a setup"),
        (json.dumps({"task": "spirals", "hidden": [65]}).encode(), 400, "from 1 to 64"),
        (json.dumps({"task": "spirals", "units": 3}).encode(), 400, "unknown setup keys"),
        (b" " * (LIMITS.message_bytes + 1), 413, "larger than 65,536 bytes"),
    ]:
        status, body = request(port, "POST", "/api/export", bad)
        assert (status, words in body["error"]) == (code, True), body
    status, _ = request(port, "GET", "/api/export")
    assert status == 405


def test_upload_reads_a_csv_or_says_what_is_wrong(open_page, port, tmp_path, monkeypatch):
    good = b"a,b,kind\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n"
    status, body = request(port, "POST", "/api/upload?filename=gates.csv", good)
    assert status == 200 and body["columns"] == ["a", "b", "kind"] and body["rows"] == 4
    assert body["target"] == "kind" and body["task"].startswith("csv:")
    page = open_page()
    ready, _ = page.set_up({"task": body["task"], "target": "kind", "test": 0.0,
                            "max_sweeps": 50})
    assert ready["patterns"]["count"] == 4 and ready["name"] == "gates-csv"
    trained = page.ask({"type": "step", "sweeps": 50})
    toml = page.ask({"type": "export", "what": "toml"}, "export")
    page.close()
    assert 'path = "gates.csv"' in toml["text"]  # runs where the CSV lies beside it
    (tmp_path / "gates.csv").write_bytes(good)
    (tmp_path / "gates.toml").write_text(toml["text"])
    monkeypatch.chdir(tmp_path)
    assert cli_main(["run", "gates.toml", "--json", "r.json"]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["replicas"][0]["final_error"] == pytest.approx(trained["error"], rel=1e-3)
    for data, code, words in [
        (b"a,b,kind\n0,x,no\n1,1,yes\n", 400, "gates.csv line 2 (data row 1), column 'b'"),
        (b"a,kind\n0,no\n1\n", 400, "gates.csv line 3 (data row 2) has 1 cell"),
        (b"", 400, "gates.csv is empty"),
        (b"\xff\xfe\x00bad", 400, "gates.csv"),
        (b"a,k\n" + b"1,x\n" * 300_000, 413, "larger than 1,000,000 bytes"),
    ]:
        status, body = request(port, "POST", "/api/upload?filename=gates.csv", data)
        assert status == code and words in body["error"], body
        assert "/tmp" not in body["error"]  # named as the page knows it, not where it lies


@pytest.mark.parametrize("headers", [
    {"host": "evil.example"},                     # DNS rebinding: another name
    {"host": "127.0.0.1:1"},                      # another port
    {"origin": "http://evil.example"},            # a cross-site request
    {"origin": "null"},
])
def test_a_wrong_host_or_origin_is_refused(port, headers):
    status, body = request(port, "GET", "/api/options", headers=headers)
    assert status == 403 and "refused" in body["error"]
    status, _ = request(port, "GET", "/api/options",
                        headers={"host": f"localhost:{port}", "origin": f"http://localhost:{port}"})
    assert status == 200


def test_a_cross_site_websocket_is_refused(open_page, port):
    with pytest.raises(websockets.exceptions.InvalidStatus, match="403"):
        Page(port, origin="http://evil.example")
    page = open_page(origin=f"http://127.0.0.1:{port}")  # the page's own origin
    page.close()


# ------------------------------------------------------------------ one page's run


def test_a_page_trains_xor_steps_plays_traces_and_exports(open_page, port, tmp_path):
    page = open_page()
    ready, frame = page.set_up({"task": "xor"})
    assert ready["patterns"]["labels"] == ["00", "01", "10", "11"]
    assert frame["sweep"] == 0 and len(frame["surface"]["output"]) == 41 * 41
    assert len(frame["surface"]["hidden"]) == 4
    first = page.ask({"type": "step"})
    assert first["sweep"] == 1 and first["curve"][0][0] == 1
    page.send({"type": "play"})
    seen = page.until(lambda m: m["type"] == "state", timeout=60)
    frames = [m for m in seen if m["type"] == "frame"]
    last = frames[-1]
    assert last["finished"] and last["solved"] and last["sweep"] == 10001
    curve = [v for f in [first, *frames] for _, v in f["curve"]]
    assert curve[-1] < curve[0] / 100  # the error fell
    assert last["surface"]["output"] != frame["surface"]["output"]
    # the same run as the command line's
    exp = experiments.load("xor")
    assert last["error"] == pytest.approx(run(exp, [42]).result.final_error[0], rel=1e-3)
    trace = page.ask({"type": "trace", "index": 1}, "trace")
    assert {r["equation"] for r in trace["rows"]} >= {"(1)", "(2)", "(3)", "(4)", "(5)",
                                                      "(6)", "(7)", "(8)"}
    assert trace["sections"][0] == "forward pass" and trace["label"] == "01"
    toml = page.ask({"type": "export", "what": "toml"}, "export")
    path = tmp_path / toml["filename"]
    path.write_text(toml["text"])
    assert cli_main(["run", str(path), "--json", str(tmp_path / "r.json")]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["replicas"][0]["final_error"] == pytest.approx(last["error"], rel=1e-3)
    npz = page.ask({"type": "export", "what": "npz"}, "export")
    net = exp.network()
    with np.load(io.BytesIO(base64.b64decode(npz["base64"]))) as weights:
        net.set_params({k: weights[k] for k in weights.files})
    outputs = net.predict(exp.task().inputs)[0]
    assert np.allclose(outputs, last["outputs"], atol=1e-3)
    page.close()


def test_many_seeds_match_the_command_line_and_judge_the_claims(open_page, port):
    page = open_page()
    page.set_up({"task": "encoder-4-2-4"})
    page.send({"type": "seeds", "count": 100})
    seen = page.until(lambda m: m["type"] == "error" or (m["type"] == "seeds" and m["finished"]),
                      timeout=90)
    final = seen[-1]
    assert final["type"] == "seeds", final
    updates = [m for m in seen if m["type"] == "seeds"]
    assert len(updates) > 2  # it filled in as it went
    exp = experiments.load("encoder-4-2-4")
    summary = run(exp, exp.seeds(100)).summary
    assert final["solved"] == summary["solved"] and final["ci95"] == pytest.approx(summary["ci95"])
    assert sum(final["failures"].values()) == 100 - summary["solved"]
    assert final["claims"] and all(c["verdict"] for c in final["claims"])
    assert not final["claims"][0]["so_far"]
    page.close()


def test_two_pages_train_at_once_without_mixing(open_page, port):
    a, b = open_page(), open_page()
    a.set_up({"task": "xor", "seed": 3})
    b.set_up({"task": "blobs", "n": 60, "hidden": [3], "max_sweeps": 100_000})
    a.send({"type": "play", "speed": 5})
    b.send({"type": "play"})
    fa = a.until(lambda m: m["type"] == "frame" and m["sweep"] >= 20)[-1]
    fb = b.until(lambda m: m["type"] == "frame" and m["sweep"] >= 20)[-1]
    assert len(fa["outputs"]) == 4 and len(fb["outputs"]) == 48  # 60 points, 20 % held out
    assert set(fa["weights"]) == {"w:input->hidden1", "w:hidden1->output"}
    assert len(fb["weights"]["w:input->hidden1"][0]) == 3
    b.ask({"type": "pause"}, "state")
    paused = b.ask({"type": "step"})["sweep"]
    later = a.until(lambda m: m["type"] == "frame" and m["sweep"] >= fa["sweep"] + 20)[-1]
    assert later["sweep"] > fa["sweep"]  # a plays on while b is paused
    assert b.ask({"type": "step"})["sweep"] == paused + 1
    a.close()
    b.close()


# ------------------------------------------------------------------ hostile pages


def malformed() -> list:
    """Messages a page should never send: each must get an error reply."""
    bad: list = ["", "garbage", "{", "[]", "null", "42", '"text"', "[" * 100_000, "{\"type\": 1}",
                 json.dumps({"no": "type"}), json.dumps({"type": "destroy"}),
                 json.dumps({"type": "x" * 5000}), json.dumps({"type": "play", "extra": 1}),
                 b"\x00\x01binary", json.dumps({"type": "setup"}),
                 json.dumps({"type": "setup", "setup": None}),
                 json.dumps({"type": "setup", "setup": "xor"}),
                 json.dumps({"type": "export", "what": "exe"}),
                 json.dumps({"type": "export"})]
    common = [None, "1", [], {}, float("inf"), float("nan")]
    wrong = {"n": [-1, 0.5, True, 10**30, 3], "noise": [-1, 2, True], "test": [-0.1, 0.9, True],
             "hidden": [-1, [0], [65], [1.5], ["2"], [[2]], [2] * 7, 3],
             "lr": [-1, 0, 101, True], "momentum": [-0.1, 1, True],
             "seed": [-1, 0.5, True, 2**40], "data_seed": [-1, 0.5], "max_sweeps": [0, 10**6],
             "activation": ["softmax", 1, "LOGISTIC"], "grain": ["epoch", 0],
             "error": ["l1", 2], "bias": [1, "true"]}
    for key, values in wrong.items():
        for v in [*common, *values]:
            if key == "hidden" and v == []:  # no hidden group: a good setup
                continue
            setup = {"task": "spirals", key: v}
            bad.append(json.dumps({"type": "setup", "setup": setup}, allow_nan=True))
    for kind, field in [("step", "sweeps"), ("pattern", "index"), ("trace", "index"),
                        ("seeds", "count"), ("play", "speed")]:
        for v in (-1, 0.5, "2", None, [1], 10**9):
            if not (kind == "play" and v is None):  # play with no speed: as fast as it trains
                bad.append(json.dumps({"type": kind, field: v}))
    bad.append(json.dumps({"type": "step"}) + " " * LIMITS.message_bytes)  # too long
    return bad


def test_malformed_messages_get_errors_and_the_server_serves_on(open_page, port):
    page, other = open_page(), open_page()
    page.set_up({"task": "xor"})
    other.set_up({"task": "xor"})
    other.send({"type": "play", "speed": 1})
    messages = malformed()
    assert len(messages) >= 100
    for m in messages:
        reply = page.ask(m, "never")
        assert reply["type"] == "error" and reply["message"], (m[:80], reply)
    # the page's own run carries on, and so does the other page's
    assert page.ask({"type": "step"})["sweep"] == 1
    assert other.until(lambda m: m["type"] == "frame" and m["sweep"] >= 3)[-1]["sweep"] >= 3
    # a message beyond the socket's size limit closes that socket only
    page.send(json.dumps({"type": "step"}) + " " * 200_000)
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        page.until(lambda m: False, timeout=10)
    assert other.ask({"type": "pause"}, "state")["type"] == "state"
    status, _ = request(port, "GET", "/api/options")
    assert status == 200
    other.close()


def test_more_pages_than_the_limit_are_told_so(open_page, port):
    deadline = time.monotonic() + 10  # the pages of earlier tests are gone
    while request(port, "GET", "/api/options")[1]["pages_open"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pages = [open_page() for _ in range(LIMITS.sessions)]
    assert all(p.first["type"] == "hello" for p in pages)
    extra = open_page()
    assert extra.first["type"] == "error" and "3 pages at once" in extra.first["message"]
    extra.close()
    for p in pages:
        p.close()


def test_a_sweep_beyond_the_seed_limit_is_refused(open_page, port):
    page = open_page()
    page.set_up({"task": "xor"})
    reply = page.ask({"type": "seeds", "count": LIMITS.seeds + 1}, "seeds")
    assert reply["type"] == "error" and "from 1 to 1,000" in reply["message"]
    page.close()


# ------------------------------------------------------------------ the command


def _serve(*options: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "backprop86", "serve", "--port", "0",
                             *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_serve_prints_its_address_and_ctrl_c_ends_runs_cleanly():
    with _serve() as proc:
        try:
            line = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert match, line
            page = Page(int(match.group(1)))
            page.set_up({"task": "spirals", "max_sweeps": 100_000})
            page.send({"type": "play"})
            page.until(lambda m: m["type"] == "frame" and m["sweep"] > 0)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)  # Ctrl-C while the page plays
            code = proc.wait(timeout=20)
            assert code == 0 and time.monotonic() - started < 15
            assert "stopped; every run ended" in proc.stderr.read()
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                page.until(lambda m: False, timeout=10)
            page.close()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_serve_refuses_a_port_in_use_and_warns_off_localhost(capsys):
    with running() as busy:
        assert cli_main(["serve", "--port", str(busy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot listen on 127.0.0.1" in err[0]
    with _serve("--host", "127.0.0.2") as proc:
        try:
            assert "http://" in proc.stdout.readline()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
            lines = proc.stderr.read().splitlines()
            assert sum("warning: listening on 127.0.0.2" in x for x in lines) == 1
        finally:
            if proc.poll() is None:
                proc.kill()


def test_serve_without_the_ui_extra_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert cli_main(["serve"]) == 2
    assert "pip install 'backprop86[ui]'" in capsys.readouterr().err


def test_serve_refuses_an_empty_host_and_a_wildcard_answers_to_this_machines_names(capsys):
    from backprop86.cli.commands.serve import _names_of_this_machine
    from backprop86.serve.guard import Guard, allowed_hosts

    assert cli_main(["serve", "--host", " "]) == 2
    assert "--host must name an address" in capsys.readouterr().err
    assert _names_of_this_machine("127.0.0.2") == ()
    names = _names_of_this_machine("0.0.0.0")
    assert socket.gethostname() in names
    guard = Guard(None, allowed_hosts(8000, ("0.0.0.0", *names)))  # type: ignore[arg-type]
    assert guard.refusal(f"{socket.gethostname()}:8000", None) is None
    assert "names no Host" in guard.refusal(None, None)
    assert "names Host 'evil.example:8000'" in guard.refusal("evil.example:8000", None)


def test_the_page_may_open_a_websocket_to_its_own_server_only(port):
    """The policy admits the page's own origin ('self', which covers its ws: socket in CSP
    Level 3) and no scheme-wide source such as ``ws:`` (any host)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    answer = conn.getresponse()
    answer.read()
    policy = dict(p.strip().split(" ", 1) for p in
                  answer.getheader("content-security-policy").split(";") if " " in p.strip())
    conn.close()
    assert policy["connect-src"] == "'self'"
    assert not any(w in ("ws:", "wss:", "*", "http:", "https:") for v in policy.values()
                   for w in v.split())
