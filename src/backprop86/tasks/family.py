"""Hinton's family trees (Nature 1986 Figs 2–4; CogSci 1986): 104 (person1, relation) cases.

Two isomorphic three-generation trees, one English and one Italian, twelve
people each. A case gives person1 (one of 24 one-hot units) and a relation
(one of 12 one-hot units); its target has a 1 for **every** correct person2
(24 output units). The cases are generated from the trees by the kinship rule
of paper-experiments.md §4:

* husband/wife within each married couple;
* father/mother from child to parent, son/daughter from parent to child;
* brother/sister between siblings;
* uncle/aunt from a third-generation child to each sibling of each parent
  and to that sibling's spouse; nephew/niece the inverse;

which gives 104 cases holding 112 facts (8 cases — has-uncle and has-aunt of
Colin, Charlotte, Alfonso and Sophia — have two answers).

Inputs are ``(104, 36)``: columns 0–23 person1 (:data:`PEOPLE` order), columns
24–35 the relation (:data:`RELATIONS` order); a network with two input groups
(24 and 12 units) takes them in that order. Targets are ``(104, 24)``.
"""

from __future__ import annotations

import numpy as np

from backprop86.tasks.base import Task, register

#: CogSci Fig. 6 English order: the men, then the women.
ENGLISH: tuple[str, ...] = (
    "Christopher", "Andrew", "Arthur", "James", "Charles", "Colin",
    "Penelope", "Christine", "Victoria", "Jennifer", "Margaret", "Charlotte",
)

#: The isomorphism English → Italian, position by position (§4 table).
ISOMORPHISM: dict[str, str] = {
    "Christopher": "Roberto", "Penelope": "Maria", "Andrew": "Pierro",
    "Christine": "Francesca", "Arthur": "Emilio", "Margaret": "Gina",
    "Victoria": "Lucia", "James": "Marco", "Jennifer": "Angela",
    "Charles": "Tomaso", "Colin": "Alfonso", "Charlotte": "Sophia",
}

ITALIAN: tuple[str, ...] = tuple(ISOMORPHISM[p] for p in ENGLISH)

#: Unit order of person1 inputs and person2 outputs: English row, then Italian row.
PEOPLE: tuple[str, ...] = ENGLISH + ITALIAN

#: The 12 relation units in Nature's order.
RELATIONS: tuple[str, ...] = (
    "father", "mother", "husband", "wife", "son", "daughter",
    "uncle", "aunt", "brother", "sister", "nephew", "niece",
)

MALE: frozenset[str] = frozenset(ENGLISH[:6] + ITALIAN[:6])

#: The English tree: married couples (husband, wife) and the children of each couple.
COUPLES: tuple[tuple[str, str], ...] = (
    ("Christopher", "Penelope"),
    ("Andrew", "Christine"),
    ("Arthur", "Margaret"),
    ("James", "Victoria"),
    ("Charles", "Jennifer"),
)
CHILDREN: dict[tuple[str, str], tuple[str, ...]] = {
    ("Christopher", "Penelope"): ("Arthur", "Victoria"),
    ("Andrew", "Christine"): ("James", "Jennifer"),
    ("James", "Victoria"): ("Colin", "Charlotte"),
}

#: Generation (1 oldest … 3) and branch of each English person, as the spec's §4 lists them.
GENERATION: dict[str, int] = {
    **dict.fromkeys(("Christopher", "Penelope", "Andrew", "Christine"), 1),
    **dict.fromkeys(("Arthur", "Margaret", "Victoria", "James", "Jennifer", "Charles"), 2),
    **dict.fromkeys(("Colin", "Charlotte"), 3),
}
#: ``"left"`` (Christopher's side), ``"right"`` (Andrew's side) or ``"both"`` (Colin, Charlotte).
BRANCH: dict[str, str] = {
    **dict.fromkeys(("Christopher", "Penelope", "Arthur", "Margaret", "Victoria"), "left"),
    **dict.fromkeys(("Andrew", "Christine", "James", "Jennifer", "Charles"), "right"),
    **dict.fromkeys(("Colin", "Charlotte"), "both"),
}


def _gendered(person2: str, male: str, female: str) -> str:
    return male if person2 in MALE else female


def english_facts() -> list[tuple[str, str, str]]:
    """Every (person1, relation, person2) fact of the English tree, by the §4 rule (56 facts)."""
    facts: list[tuple[str, str, str]] = []
    parents: dict[str, tuple[str, str]] = {}
    spouse: dict[str, str] = {}
    for husband, wife in COUPLES:
        facts += [(wife, "husband", husband), (husband, "wife", wife)]
        spouse[husband], spouse[wife] = wife, husband
    for couple, kids in CHILDREN.items():
        for child in kids:
            parents[child] = couple
            for parent in couple:
                facts.append((child, _gendered(parent, "father", "mother"), parent))
                facts.append((parent, _gendered(child, "son", "daughter"), child))
            for sibling in kids:
                if sibling != child:
                    facts.append((child, _gendered(sibling, "brother", "sister"), sibling))
    for child, couple in parents.items():
        for parent in couple:
            if parent not in parents:
                continue
            for sibling in CHILDREN[parents[parent]]:
                if sibling == parent:
                    continue
                for relative in (sibling, spouse[sibling]):
                    facts.append((child, _gendered(relative, "uncle", "aunt"), relative))
                    facts.append((relative, _gendered(child, "nephew", "niece"), child))
    return facts


def all_facts() -> list[tuple[str, str, str]]:
    """All 112 facts: the English tree's and their images in the Italian tree."""
    english = english_facts()
    italian = [(ISOMORPHISM[a], r, ISOMORPHISM[b]) for a, r, b in english]
    return english + italian


def cases() -> list[tuple[str, str, tuple[str, ...]]]:
    """The 104 cases ``(person1, relation, answers)``, relation by relation in Nature's order,
    person1 in unit order; ``answers`` in unit order."""
    answers: dict[tuple[str, str], set[str]] = {}
    for a, r, b in all_facts():
        answers.setdefault((a, r), set()).add(b)
    out = []
    for r in RELATIONS:
        for a in PEOPLE:
            if (a, r) in answers:
                out.append((a, r, tuple(p for p in PEOPLE if p in answers[(a, r)])))
    return out


def _shape() -> tuple[int, int, int]:
    return len(cases()), len(PEOPLE) + len(RELATIONS), len(PEOPLE)


@register("family_trees", _shape)
def family_trees() -> Task:
    """All 104 family-tree cases: inputs ``(104, 24 + 12)``, targets ``(104, 24)``.

    Labels read ``"Colin has-uncle"``; the held-out split of the papers (100
    train / 4 test) is drawn by the experiment's ``[split]`` table, not here.
    """
    rows = cases()
    X = np.zeros((len(rows), len(PEOPLE) + len(RELATIONS)))
    D = np.zeros((len(rows), len(PEOPLE)))
    labels = []
    for i, (a, r, answers) in enumerate(rows):
        X[i, PEOPLE.index(a)] = 1.0
        X[i, len(PEOPLE) + RELATIONS.index(r)] = 1.0
        for b in answers:
            D[i, PEOPLE.index(b)] = 1.0
        labels.append(f"{a} has-{r}")
    return Task(
        "family_trees", X, D, tuple(labels),
        description="Hinton's two isomorphic family trees: person1 + relation -> every person2",
    )
