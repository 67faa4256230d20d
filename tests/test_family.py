"""Family trees: the 104 cases, the five-layer net, held-out splits, training, unit roles."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from backprop86 import experiments
from backprop86.analysis.checks import run_checks
from backprop86.analysis.checks.family import (
    RELATION_SEX,
    family_units,
    feature_values,
    person_codes,
    relation_codes,
    threshold_accuracy,
)
from backprop86.errors import ConfigError, ShapeError
from backprop86.experiments.holdout import correct, draw, make_split, score
from backprop86.experiments.runner import format_run, run
from backprop86.tasks import make_task
from backprop86.tasks.family import (
    ENGLISH,
    ISOMORPHISM,
    ITALIAN,
    PEOPLE,
    RELATIONS,
    all_facts,
    cases,
)
from backprop86.train import Trainer

# Paper-experiments.md §4 table, one entry per case: person1 → person2 (set).
SPEC_CASES: dict[str, str] = {
    "husband": (
        "Penelope>Christopher Christine>Andrew Victoria>James Jennifer>Charles "
        "Margaret>Arthur Maria>Roberto Francesca>Pierro Lucia>Marco Angela>Tomaso "
        "Gina>Emilio"
    ),
    "wife": (
        "Christopher>Penelope Andrew>Christine Arthur>Margaret James>Victoria "
        "Charles>Jennifer Roberto>Maria Pierro>Francesca Emilio>Gina Marco>Lucia "
        "Tomaso>Angela"
    ),
    "father": (
        "Arthur>Christopher James>Andrew Colin>James Victoria>Christopher Jennifer>Andrew "
        "Charlotte>James Emilio>Roberto Marco>Pierro Alfonso>Marco Lucia>Roberto "
        "Angela>Pierro Sophia>Marco"
    ),
    "mother": (
        "Arthur>Penelope James>Christine Colin>Victoria Victoria>Penelope "
        "Jennifer>Christine Charlotte>Victoria Emilio>Maria Marco>Francesca Alfonso>Lucia "
        "Lucia>Maria Angela>Francesca Sophia>Lucia"
    ),
    "son": (
        "Christopher>Arthur Andrew>James James>Colin Penelope>Arthur Christine>James "
        "Victoria>Colin Roberto>Emilio Pierro>Marco Marco>Alfonso Maria>Emilio "
        "Francesca>Marco Lucia>Alfonso"
    ),
    "daughter": (
        "Christopher>Victoria Andrew>Jennifer James>Charlotte Penelope>Victoria "
        "Christine>Jennifer Victoria>Charlotte Roberto>Lucia Pierro>Angela Marco>Sophia "
        "Maria>Lucia Francesca>Angela Lucia>Sophia"
    ),
    "brother": (
        "Victoria>Arthur Jennifer>James Charlotte>Colin Lucia>Emilio Angela>Marco "
        "Sophia>Alfonso"
    ),
    "sister": (
        "Arthur>Victoria James>Jennifer Colin>Charlotte Emilio>Lucia Marco>Angela "
        "Alfonso>Sophia"
    ),
    "uncle": (
        "Colin>Arthur+Charles Charlotte>Arthur+Charles Alfonso>Emilio+Tomaso "
        "Sophia>Emilio+Tomaso"
    ),
    "aunt": (
        "Colin>Jennifer+Margaret Charlotte>Jennifer+Margaret Alfonso>Angela+Gina "
        "Sophia>Angela+Gina"
    ),
    "nephew": (
        "Arthur>Colin Charles>Colin Jennifer>Colin Margaret>Colin Emilio>Alfonso "
        "Tomaso>Alfonso Angela>Alfonso Gina>Alfonso"
    ),
    "niece": (
        "Arthur>Charlotte Charles>Charlotte Jennifer>Charlotte Margaret>Charlotte "
        "Emilio>Sophia Tomaso>Sophia Angela>Sophia Gina>Sophia"
    ),
}


def spec_cases() -> dict[tuple[str, str], set[str]]:
    out = {}
    for rel, text in SPEC_CASES.items():
        for item in text.split():
            a, b = item.split(">")
            out[(a, rel)] = set(b.split("+"))
    return out


@pytest.fixture(scope="module")
def task():
    return make_task("family_trees")


# ---------------------------------------------------------------------------- the task


def test_104_cases_112_facts(task):
    assert task.n_cases == 104
    assert (task.n_inputs, task.n_outputs) == (36, 24)
    assert len(all_facts()) == 112
    assert task.targets.sum() == 112
    assert len(set(task.labels)) == 104


def test_cases_match_the_spec_table_exactly(task):
    expected = spec_cases()
    got = {(a, r): set(b) for a, r, b in cases()}
    assert got == expected
    # and the arrays say the same: person1 unit, relation unit, every person2 unit
    for i, label in enumerate(task.labels):
        person, rel = label.split(" has-")
        assert task.inputs[i, PEOPLE.index(person)] == 1
        assert task.inputs[i, 24 + RELATIONS.index(rel)] == 1
        assert task.inputs[i].sum() == 2
        assert {PEOPLE[j] for j in np.flatnonzero(task.targets[i])} == expected[(person, rel)]


def test_per_relation_counts(task):
    counts = Counter(label.split(" has-")[1] for label in task.labels)
    assert counts == {
        "husband": 10, "wife": 10, "father": 12, "mother": 12, "son": 12, "daughter": 12,
        "brother": 6, "sister": 6, "uncle": 4, "aunt": 4, "nephew": 8, "niece": 8,
    }


def test_two_answers_exactly_for_the_uncles_and_aunts_of_the_third_generation(task):
    multi = {task.labels[i] for i in np.flatnonzero(task.targets.sum(axis=1) == 2)}
    assert multi == {
        f"{p} has-{r}" for p in ("Colin", "Charlotte", "Alfonso", "Sophia")
        for r in ("uncle", "aunt")
    }
    assert task.targets.sum(axis=1).max() == 2


def test_pierro_and_francesca_son_is_marco():
    answers = {(a, r): b for a, r, b in cases()}
    assert answers[("Pierro", "son")] == ("Marco",)
    assert answers[("Francesca", "son")] == ("Marco",)


def test_the_trees_are_isomorphic():
    facts = set(all_facts())
    english = {f for f in facts if f[0] in ENGLISH}
    italian = {f for f in facts if f[0] in ITALIAN}
    assert len(english) == len(italian) == 56
    assert {(ISOMORPHISM[a], r, ISOMORPHISM[b]) for a, r, b in english} == italian
    assert all((a in ENGLISH) == (b in ENGLISH) for a, _, b in facts)  # no cross-tree facts


# ---------------------------------------------------------------------------- the network


def test_five_layer_net_with_separate_encodings():
    net = experiments.load("family-trees").network(replicas=3)
    sizes = {g.name: g.size for g in net.groups}
    assert sizes == {"person1": 24, "relation": 12, "person_code": 6, "relation_code": 6,
                     "central": 12, "output_code": 6, "person2": 24}
    assert net.inputs == ("person1", "relation")
    assert (net.n_inputs, net.n_outputs) == (36, 24)
    links = {(p.source, p.target) for p in net.projections}
    assert links == {("person1", "person_code"), ("relation", "relation_code"),
                     ("person_code", "central"), ("relation_code", "central"),
                     ("central", "output_code"), ("output_code", "person2")}
    assert net.params["w:person1->person_code"].shape == (3, 24, 6)
    assert net.params["w:output_code->person2"].shape == (3, 6, 24)
    assert all(g.bias for g in net.groups if not g.is_input)


def test_recipe_settings_as_printed():
    cfg = experiments.load("family-trees").config
    assert (cfg.lr, cfg.momentum) == (0.005, 0.5)
    assert cfg.lr_schedule == ((20, 0.01),) and cfg.momentum_schedule == ((20, 0.9),)
    assert (cfg.decay, cfg.decay_mode) == (0.002, "shrink")
    assert (cfg.init, cfg.init_scale) == ("uniform", 0.3)
    assert (cfg.error, cfg.dead_zone, cfg.grain, cfg.reduction) == (
        "dead_zone", (0.2, 0.8), "sweep", "sum")
    assert cfg.max_sweeps == 1500


def test_tuned_variant_extends_the_recipe_and_adds_its_deviations():
    base, tuned = experiments.load("family-trees"), experiments.load("family-trees-tuned")
    assert tuned.config == base.config.replace(init_scale=1.5, lr_schedule=((20, 0.1),))
    assert tuned.network_spec == base.network_spec and tuned.split == base.split
    assert tuned.deviations[: len(base.deviations)] == base.deviations
    assert len(tuned.deviations) == len(base.deviations) + 2


def test_extends_loop_is_refused(tmp_path):
    (tmp_path / "a.toml").write_text(f'name = "a"\nextends = "{tmp_path / "b.toml"}"\n')
    (tmp_path / "b.toml").write_text(f'name = "b"\nextends = "{tmp_path / "a.toml"}"\n')
    with pytest.raises(ConfigError, match="loop"):
        experiments.load(tmp_path / "a.toml")


# ---------------------------------------------------------------------------- held-out split


def test_split_is_reproducible_and_differs_between_seeds(task):
    spec = {"holdout": 4, "pool": "single"}
    a = make_split(task, [0, 1, 2, 3], spec)
    b = make_split(task, [0, 1, 2, 3], spec)
    assert np.array_equal(a.test_index, b.test_index)
    assert len({tuple(row) for row in a.test_index}) == 4
    for train, test, idx in zip(a.train, a.test, a.test_index, strict=True):
        assert (train.n_cases, test.n_cases) == (100, 4)
        assert set(train.labels).isdisjoint(test.labels)
        assert set(train.labels) | set(test.labels) == set(task.labels)
        assert np.all(task.targets[idx].sum(axis=1) == 1)  # one correct answer each
        assert list(test.labels) == [task.labels[i] for i in idx]
    fixed = make_split(task, [0, 1, 2], {**spec, "seed": 7})
    assert np.all(fixed.test_index == draw(task, 4, 7, "single"))
    assert make_split(task, [0], {**spec, "holdout": 0}) is None  # train on all 104


def test_split_rejects_bad_settings(task):
    with pytest.raises(ConfigError, match="holdout"):
        make_split(task, [0], {"holdout": 104, "pool": "all"})
    with pytest.raises(ConfigError, match="pool"):
        make_split(task, [0], {"holdout": 4, "pool": "some"})
    with pytest.raises(ConfigError, match="unknown keys"):
        make_split(task, [0], {"holdout": 4, "size": 3})


def test_per_replica_tasks_train_like_single_runs(task):
    """Replica r of a batch with one training set per replica = a single run on its own set."""
    exp = experiments.load("family-trees-tuned")
    split = make_split(task, [3, 4], exp.split_spec())
    shuffled = {"max_sweeps": 3, "grain": "pattern", "order": "shuffled"}
    for overrides in ({"max_sweeps": 25}, shuffled):
        cfg = exp.config.replace(**overrides)
        net = exp.network(replicas=2)
        batch = Trainer(net, split.train, cfg, [3, 4]).train()
        for r, seed in enumerate([3, 4]):
            one = exp.network(replicas=1)
            single = Trainer(one, split.train[r], cfg, [seed]).train()
            np.testing.assert_allclose(batch.history[r], single.history[0], rtol=1e-10)
            for name, w in net.params.items():
                np.testing.assert_allclose(w[r], one.params[name][0], rtol=1e-10, atol=1e-13)


def test_per_replica_tasks_must_match(task):
    exp = experiments.load("family-trees")
    with pytest.raises(ShapeError, match="same number of cases"):
        Trainer(exp.network(replicas=2), [task.subset(np.arange(100)), task.subset(np.arange(99))],
                exp.config, [0, 1])
    with pytest.raises(ShapeError, match="one per replica"):
        Trainer(exp.network(replicas=3), [task, task], exp.config, [0, 1, 2])


def test_heldout_score_counts_cases_with_every_output_on_the_right_side(task):
    split = make_split(task, [0, 1], {"holdout": 4, "pool": "single"})

    class Oracle:  # answers every case perfectly except replica 1's first held-out case
        replicas = 2

        def predict(self, X):
            out = np.stack([task.targets[split.test_index[r]] * 0.9 + 0.05 for r in range(2)])
            out[1, 0] = 1 - out[1, 0]
            return out

    h = score(Oracle(), split, 0.5)
    assert h["correct"] == [4, 3] and h["mean"] == 3.5 and h["fraction"] == 7 / 8
    assert h["distribution"] == [0, 0, 0, 1, 1] and h["all_correct_rate"] == 0.5
    y = np.array([[0.6, 0.4], [0.6, 0.6]])
    assert correct(y, np.array([[1.0, 0.0], [1.0, 0.0]])).tolist() == [True, False]


# ---------------------------------------------------------------------------- training


def test_short_training_reduces_the_error_and_the_runner_scores_held_out_cases():
    exp = experiments.load("family-trees-tuned").with_settings(["max_sweeps=300"])
    r = run(exp, [0, 1], history="log")
    h = r.result.history
    assert np.all(h[:, -1] < 0.5 * h[:, 0])  # dead-zone E at least halved in 300 sweeps
    assert r.summary["heldout"]["cases"] == 4 and len(r.summary["heldout"]["correct"]) == 2
    text = format_run(r)
    assert "held-out correct" in text and "held-out cases answered correctly" in text
    heldout_claim = next(v for v in r.verdicts if v["metric"] == "heldout")
    assert heldout_claim["measured"]["count"] == [sum(r.summary["heldout"]["correct"]), 8]
    replicas = r.to_json()["replicas"]
    assert len(replicas[0]["heldout_cases"]) == 4


@pytest.mark.slow
def test_recipe_stalls_and_the_tuned_variant_trains():
    """1,500 sweeps each. Over 20 seeds the recipe trained 0/20 (outputs ≈ 0.2 everywhere) and
    the variant 20/20 at ±1.5 / ε 0.1 in our runs (96/100 over seeds 0-99); requiring ≥ 6 of 8
    fails by chance with probability < 0.04 even if the true rate were as low as 0.9."""
    recipe = run(experiments.load("family-trees"), [0, 1, 2, 3])
    assert recipe.summary["solved"] == 0
    assert np.all(recipe.result.final_outputs.max(axis=(1, 2)) < 0.5)
    tuned = run(experiments.load("family-trees-tuned"), list(range(8)))
    assert tuned.summary["solved"] >= 6
    units = run_checks(["family_units"], tuned.net, tuned.task)["family_units"].numbers
    # Nature Fig. 4: one unit tells English from Italian and none encodes sex. Measured on
    # these 8 nets: the nationality unit's one-cut accuracy ≥ 0.917 in 8/8, the largest |r|
    # of any unit with sex 0.05-0.23 (median 0.14); requiring 6/8 and a median < 0.3 leaves
    # room for two nets to move on another platform.
    assert np.sum(units["accuracy"][:, 0] >= 0.9) >= 6
    assert np.median(units["sex_max_abs_r"]) < 0.3


# ---------------------------------------------------------------------------- unit roles


def hand_built(codes: np.ndarray):
    """A family-trees net whose person encoding is exactly ``logistic(codes)`` ``(R, 24, 6)``."""
    net = experiments.load("family-trees").network(replicas=codes.shape[0])
    net.set_params({"w:person1->person_code": codes, "b:person_code": np.zeros((1, 6))})
    return net


def feature_code(scale: float = 4.0) -> np.ndarray:
    """Unit 0 nationality, unit 1 generation (three levels), unit 2 branch; units 3-5 silent."""
    f = feature_values()
    nat, gen, branch = f["nationality"][0], f["generation"][0], f["branch"][0]
    both = ~f["branch"][1]
    w = np.zeros((24, 6))
    w[:, 0] = scale * (2 * nat - 1)
    w[:, 1] = scale * (gen - 2)
    w[:, 2] = np.where(both, 0.0, scale * (2 * branch - 1))
    return w


def test_person_codes_are_the_encoding_of_each_person_alone():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 24, 6))
    codes = person_codes(hand_built(w))
    np.testing.assert_allclose(codes, 1 / (1 + np.exp(-w)))


def test_family_units_check_finds_the_hand_built_units_in_any_order():
    perm = [4, 0, 5, 1, 2, 3]  # new unit j is old unit perm[j]: old 0, 1, 2 → new 1, 3, 4
    codes = np.stack([feature_code(), feature_code()[:, perm]])
    res = family_units(hand_built(codes))
    assert res["summary"]["all_found"] == 2
    first, second = res["replicas"]
    roles = ("nationality", "generation", "branch")
    assert [first["roles"][f]["unit"] for f in roles] == [0, 1, 2]
    assert [second["roles"][f]["unit"] for f in roles] == [1, 3, 4]
    for rec in res["replicas"]:
        assert all(v["accuracy"] == 1.0 and abs(v["r"]) > 0.9 for v in rec["roles"].values())
        assert rec["sex_max_r"] < 0.2
        # twins differ by nationality only
        assert rec["twin_ratio"] == pytest.approx(0.0, abs=1e-12)
    check = run_checks(["family_units"], hand_built(codes), make_task("family_trees"))
    assert check["family_units"].passed.tolist() == [True, True]


def test_family_units_check_fails_on_counterexamples():
    f = feature_values()
    sex = f["sex"][0]
    rng = np.random.default_rng(1)
    sex_code = np.zeros((24, 6))
    sex_code[:, 0] = 4 * (2 * sex - 1)  # a sex unit (the paper: none) and noise elsewhere
    sex_code[:, 1:] = rng.normal(scale=0.3, size=(24, 5))
    no_generation = feature_code()
    no_generation[:, 1] = 0.0  # nationality and branch only
    res = family_units(hand_built(np.stack([sex_code, no_generation])))
    sexy, partial = res["replicas"]
    assert not sexy["all_found"] and sexy["sex_max_r"] > 0.95
    assert not partial["all_found"]
    assert partial["roles"]["nationality"]["found"] and partial["roles"]["branch"]["found"]
    assert not partial["roles"]["generation"]["found"]


def test_threshold_accuracy_two_and_three_levels():
    assert threshold_accuracy(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert threshold_accuracy(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 1.0
    assert threshold_accuracy(np.array([0.1, 0.9, 0.2, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    a = np.array([0.9, 0.5, 0.1, 0.5])
    assert threshold_accuracy(a, np.array([1, 2, 3, 2])) == 1.0
    assert threshold_accuracy(a, np.array([2, 1, 3, 2])) == 0.75


def test_family_units_check_needs_the_person_groups():
    net = experiments.load("xor").network()
    with pytest.raises(ConfigError, match="no group"):
        person_codes(net)


def test_fig4_puts_each_italian_twin_under_the_english_person(tmp_path):
    from backprop86.plots.family import nature_fig4, person_weights

    codes = np.stack([feature_code()])
    net = hand_built(codes)
    grid, bias = person_weights(net)
    assert grid.shape == (6, 2, 12) and bias.shape == (6,)
    np.testing.assert_array_equal(grid[0, 0], codes[0, :12, 0])  # English row
    np.testing.assert_array_equal(grid[0, 1], codes[0, 12:, 0])  # their Italian twins
    assert ISOMORPHISM[ENGLISH[3]] == ITALIAN[3] == PEOPLE[15]
    files = nature_fig4(tmp_path / "fig4", net, title="hand-built")
    assert {f.suffix for f in files} == {".png", ".svg"} and all(f.stat().st_size for f in files)


# ---------------------------------------------------------------------------- one claim each


def with_relation_code(net, w: np.ndarray):
    """``net`` with its relation encoding exactly ``logistic(w)`` ``(R, 12, 6)``."""
    net.set_params({"w:relation->relation_code": w, "b:relation_code": np.zeros((1, 6))})
    return net


def test_relation_sex_unit_is_found_and_missed():
    rng = np.random.default_rng(3)
    devoted = rng.normal(scale=0.3, size=(12, 6))
    devoted[:, 4] = 4 * (2 * RELATION_SEX - 1)  # unit 4: male relations on, female off
    mixed = devoted.copy()
    mixed[[0, 1], 4] = mixed[[1, 0], 4]  # father and mother swapped: one cut errs on two
    noise = rng.normal(scale=0.3, size=(12, 6))
    net = with_relation_code(hand_built(np.stack([feature_code()] * 3)),
                             np.stack([devoted, mixed, noise]))
    np.testing.assert_allclose(relation_codes(net)[0], 1 / (1 + np.exp(-devoted)))
    res = run_checks(["family_relation_sex_unit"], net, make_task("family_trees"))
    check = res["family_relation_sex_unit"]
    assert check.passed.tolist() == [True, False, False]
    assert check.numbers["accuracy"][0] == 1.0 and check.numbers["accuracy"][1] < 1.0


def test_no_sex_unit_and_each_feature_unit_are_their_own_checks():
    f = feature_values()
    sex_code = feature_code()
    sex_code[:, 3] = 4 * (2 * f["sex"][0] - 1)  # the three features and a sex unit
    no_branch = feature_code()
    no_branch[:, 2] = 0.0
    net = hand_built(np.stack([feature_code(), sex_code, no_branch]))
    specs = ["family_no_sex_unit", *(
        {"check": "family_feature", "feature": k, "label": k}
        for k in ("nationality", "generation", "branch"))]
    res = run_checks(specs, net, make_task("family_trees"))
    assert res["family_no_sex_unit"].passed.tolist() == [True, False, True]
    assert res["nationality"].passed.tolist() == [True, True, True]
    assert res["generation"].passed.tolist() == [True, True, True]
    assert res["branch"].passed.tolist() == [True, True, False]
    with pytest.raises(ConfigError, match="feature must be one of"):
        run_checks([{"check": "family_feature", "feature": "sex"}], net,
                   make_task("family_trees"))


def test_apart_pool_holds_out_cases_that_share_no_person_and_no_relation(task):
    split = make_split(task, list(range(20)), {"holdout": 4, "pool": "apart"})
    for idx in split.test_index:
        on = task.inputs[idx] != 0  # (4, 36)
        assert on.sum(axis=0).max() == 1, "two held-out cases share an input unit"
        assert np.all((task.targets[idx] >= 0.5).sum(axis=1) == 1)
    again = make_split(task, list(range(20)), {"holdout": 4, "pool": "apart"})
    assert np.array_equal(split.test_index, again.test_index)
    with pytest.raises(ConfigError, match="no two share an input unit"):
        draw(task, 13, 0, "apart")  # 12 relations: a 13th case must repeat one


def test_biases_and_pool_are_parameters_of_the_experiment():
    exp = experiments.load("family-trees").with_settings(["biases=false", "pool=apart"])
    assert all(not g.bias for g in exp.network().groups)
    assert exp.split_spec()["pool"] == "apart"
    base = experiments.load("family-trees").network()
    assert [g.bias for g in base.groups] == [False, False, True, True, True, True, True]
