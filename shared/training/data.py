"""Turning ``--data`` arguments into train/val/test sample lists (shared by train and evaluate)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from shared.datasets import Dataset, Sample, assign_splits, check_disjoint, load_dataset
from shared.datasets.splits import DEFAULT_FRACTIONS
from shared.errors import InvalidArgument


def load_many(paths: list[Path], fmt: str = "auto", **options: Any) -> Dataset:
    """Read one or several datasets and concatenate them (each keeps its own groups and splits)."""
    if not paths:
        raise InvalidArgument("no --data given")
    sets = [load_dataset(Path(p), fmt, **options) for p in paths]
    if len(sets) == 1:
        return sets[0]
    samples = [s for d in sets for s in d.samples]
    notes = "; ".join(f"{d.name}: {d.notes}" for d in sets if d.notes)
    return Dataset("+".join(d.name for d in sets), sets[0].root, "+".join(d.reader for d in sets), samples, notes)


def filter_sources(dataset: Dataset, only: list[str] | None = None, exclude: list[str] | None = None) -> Dataset:
    """Keep samples whose ``source`` is in ``only`` (when given) and not in ``exclude``.

    Raises:
        InvalidArgument: a named source that the dataset does not have (a typo would silently do nothing).
    """
    only, exclude = list(only or []), list(exclude or [])
    if not only and not exclude:
        return dataset
    known = {s.source for s in dataset.samples}
    unknown = sorted(set(only + exclude) - known)
    if unknown:
        raise InvalidArgument(f"unknown source(s) {', '.join(unknown)}; {dataset.name} has: {', '.join(sorted(known))}")
    kept = [s for s in dataset.samples if (not only or s.source in only) and s.source not in exclude]
    label = "+".join(only) if only else "without " + "+".join(exclude)
    return dataset.subset(kept, label)


def make_splits(
    dataset: Dataset,
    *,
    split_by: str = "dataset",
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, list[Sample]]:
    """train/val/test by the dataset's own split (``split_by="dataset"``, when every sample has one) or
    by identity group (``"group"``). A dataset split that puts one identity in two parts is kept, with a
    warning on stderr."""
    if split_by not in ("dataset", "group"):
        raise InvalidArgument(f"--split-by must be 'dataset' or 'group', not {split_by!r}")
    splits = assign_splits(dataset, fractions=fractions, seed=seed, use_dataset_split=split_by == "dataset")
    leaks = check_disjoint(splits)
    if leaks:
        # only the dataset's own split can do this; it is the user's (or the benchmark's) choice, so it
        # stands, but nobody should read its numbers without knowing
        import sys

        print(f"warning: {len(leaks)} identity groups appear in more than one split of {dataset.name} "
              f"(first: {', '.join(leaks[:3])}); --split-by group keeps identities apart", file=sys.stderr)
    return splits


def describe_split(splits: dict[str, list[Sample]]) -> dict[str, dict[str, int]]:
    return {name: dict(Counter("fake" if s.label else "real" for s in members)) for name, members in splits.items()}


def limit_samples(samples: list[Sample], limit: int | None, seed: int = 0) -> list[Sample]:
    """At most ``limit`` samples, the same share of each label, chosen reproducibly (quick runs)."""
    import random

    if not limit or len(samples) <= limit:
        return samples
    rng = random.Random(seed)
    by_label: dict[int, list[Sample]] = {}
    for s in samples:
        by_label.setdefault(s.label, []).append(s)
    out: list[Sample] = []
    for _label, members in sorted(by_label.items()):
        k = max(1, round(limit * len(members) / len(samples)))
        out.extend(rng.sample(members, min(k, len(members))))
    return out
