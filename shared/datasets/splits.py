"""Splits by identity, never by frame or file: a group (person, speaker, source video) lives in one split.

``split_by_group`` is deterministic for a given seed and balances two things greedily: each split's
share of samples tracks its target fraction, separately for groups that are mostly real and mostly
fake, so validation and test sets get both classes whenever the data allows.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from shared.datasets.base import SPLITS, Dataset, Sample
from shared.errors import InvalidArgument

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def split_by_group(
    samples: Sequence[Sample],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    seed: int = 0,
    names: Sequence[str] = SPLITS,
) -> dict[str, list[Sample]]:
    """Assign whole groups to splits.

    Args:
        samples: the samples to split.
        fractions: target share of samples per split, in the order of ``names``; normalised.
        seed: shuffles the groups; the same seed gives the same split.
        names: split names.

    Returns:
        ``{name: samples}`` with every name present (possibly empty).
    """
    if len(fractions) != len(names) or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise InvalidArgument(f"split fractions {list(fractions)} must be {len(names)} non-negative numbers")
    total_f = float(sum(fractions))
    targets = [f / total_f for f in fractions]
    by_group: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_group[s.group].append(s)
    # stratum = majority label of the group, so both classes spread over every split
    strata: dict[int, list[str]] = defaultdict(list)
    for g, members in by_group.items():
        strata[int(2 * sum(m.label for m in members) >= len(members))].append(g)
    rng = random.Random(seed)
    out: dict[str, list[Sample]] = {n: [] for n in names}
    for label in sorted(strata):
        groups = sorted(strata[label])
        rng.shuffle(groups)
        n_total = sum(len(by_group[g]) for g in groups)
        counts = [0] * len(names)
        for g in groups:
            # the split furthest below its target takes the group (ties: the earlier split)
            deficits = [targets[i] * n_total - counts[i] for i in range(len(names))]
            i = max(range(len(names)), key=lambda k: (deficits[k], -k))
            counts[i] += len(by_group[g])
            out[names[i]].extend(by_group[g])
    return out


def assign_splits(
    dataset: Dataset,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    use_dataset_split: bool = True,
) -> dict[str, list[Sample]]:
    """The dataset's own split when it has one for every sample, else a group split.

    Raises:
        InvalidArgument: when the dataset's own split would put one group in two splits.
    """
    if use_dataset_split and dataset.samples and all(s.split for s in dataset.samples):
        out: dict[str, list[Sample]] = {n: [] for n in SPLITS}
        for s in dataset.samples:
            out.setdefault(s.split or "", []).append(s)
        return out
    return split_by_group(dataset.samples, fractions, seed=seed)


def check_disjoint(splits: dict[str, list[Sample]]) -> list[str]:
    """Groups found in more than one split (empty when the split is clean)."""
    seen: dict[str, str] = {}
    leaks = set()
    for name, members in splits.items():
        for s in members:
            if seen.setdefault(s.group, name) != name:
                leaks.add(s.group)
    return sorted(leaks)


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"80/10/10"`` or ``"0.8,0.1,0.1"`` → normalised fractions."""
    parts = [p for p in text.replace("/", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidArgument(f"split fractions {text!r}: expected three numbers like 80/10/10") from None
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise InvalidArgument(f"split fractions {text!r}: expected three non-negative numbers like 80/10/10")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total
