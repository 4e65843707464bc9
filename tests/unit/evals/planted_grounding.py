"""A planted set of grounded and ungrounded answers about generated companies.

Each case has a three-sentence context. A grounded answer restates one fact in other words
(reordered, synonyms); an ungrounded answer either contradicts one slot of a fact in the
context's own words ("swapped": same sentence, wrong year, city or person, the hard case for
lexical overlap), changes the relation while keeping every name and number ("relation": "X sold
Y in 1990"; no offline method here can tell), or invents an unrelated claim ("invented").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = [
    "Norvik",
    "Talmera",
    "Quenby",
    "Arlow",
    "Brisca",
    "Celdon",
    "Dravia",
    "Elmont",
    "Fenwick",
    "Gorsa",
]
PEOPLE = [
    "Ada Moreau",
    "Ben Ortiz",
    "Chen Wei",
    "Dana Kim",
    "Emil Novak",
    "Farah Aziz",
    "Goran Ilic",
]
CITIES = ["Lyon", "Porto", "Bergen", "Graz", "Cork", "Brno", "Bilbao", "Patras"]
INVENTED = [
    "{e} was fined last year for polluting a river near its main factory.",
    "{e} sells mostly frozen food to schools and hospitals.",
    "{e} lost its biggest customer after a failed software launch.",
    "The chief executive of {e} resigned after a dispute with investors.",
]


@dataclass(frozen=True)
class Case:
    context: tuple[str, ...]
    answer: str
    grounded: bool
    kind: str  # paraphrase, swapped, relation, invented


def _facts(rng: random.Random) -> dict[str, str]:
    return {
        "e": rng.choice(NAMES), "y": str(rng.randint(1950, 2015)), "p": rng.choice(PEOPLE),
        "c": rng.choice(CITIES), "n": str(rng.choice([120, 450, 900, 2300, 7800])),
    }  # fmt: skip


def _other(rng: random.Random, pool: list[str], not_this: str) -> str:
    return rng.choice([x for x in pool if x != not_this])


def cases(n: int, seed: int = 13) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        f = _facts(rng)
        context = (
            f"{f['e']} was founded in {f['y']} by {f['p']}.",
            f"Its headquarters are in {f['c']}.",
            f"It employs about {f['n']} people.",
        )
        which = rng.randrange(3)
        if i % 2 == 0:
            answer = [
                f"{f['p']} started {f['e']} in {f['y']}.",
                f"The head office of {f['e']} is located in {f['c']}.",
                f"{f['e']} has roughly {f['n']} employees.",
            ][which]
            out.append(Case(context, answer, True, "paraphrase"))
        elif i % 6 == 5:
            answer = [
                f"{f['p']} sold {f['e']} in {f['y']}.",
                f"{f['e']} closed its office in {f['c']}.",
                f"{f['e']} cut {f['n']} jobs.",
            ][which]
            out.append(Case(context, answer, False, "relation"))
        elif i % 6 == 1:
            wrong = {
                0: f"{f['e']} was founded in {int(f['y']) + rng.randint(3, 30)} "
                f"by {_other(rng, PEOPLE, f['p'])}.",
                1: f"Its headquarters are in {_other(rng, CITIES, f['c'])}.",
                2: f"It employs about {int(f['n']) * 3 + 7} people.",
            }[which]
            out.append(Case(context, wrong, False, "swapped"))
        else:
            out.append(Case(context, rng.choice(INVENTED).format(e=f["e"]), False, "invented"))
    return out
