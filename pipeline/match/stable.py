"""Stable person IDs across nightly runs.

The state folder keeps natural key -> person_id (``StateStore.person_keys``). A cluster takes the
person_id its keys had before (the smallest, when a merge brought two together); a cluster with no
known key gets the next new number. New records therefore never renumber existing people.
"""

from __future__ import annotations

import pandas as pd

from pipeline.normalize.common import member

PREFIX = "P"
WIDTH = 10


def assign(clusters: pd.Series, keys: pd.Series, known: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """person_id per record, and the updated key table.

    ``clusters`` and ``keys`` are aligned per record (cluster label, natural key).
    """
    frame = pd.DataFrame({"cluster": clusters.to_numpy(), "key": keys.to_numpy()})
    hits = frame.merge(known, on="key", how="inner")
    # Each cluster claims its smallest previous ID; an ID claimed by two clusters (a person split
    # since last night) stays with the cluster holding most of its keys, the other gets a new one.
    votes = hits.groupby(["cluster", "person_id"]).size().rename("n").reset_index()
    votes = votes.sort_values(["person_id", "n", "cluster"], ascending=[True, False, True])
    owner = votes.drop_duplicates("person_id")
    owner = owner.sort_values(["cluster", "person_id"]).drop_duplicates("cluster")
    mapping = dict(zip(owner["cluster"], owner["person_id"], strict=True))
    numbers = pd.to_numeric(known["person_id"].astype(str).str.slice(len(PREFIX)), errors="coerce")
    next_no = int(numbers.max()) + 1 if len(known) and numbers.notna().any() else 1
    # New people numbered in a stable order: by their smallest key.
    new = frame[~frame["cluster"].isin(mapping)].groupby("cluster")["key"].min().sort_values()
    for i, cluster in enumerate(new.index):
        mapping[cluster] = f"{PREFIX}{next_no + i:0{WIDTH}d}"
    person = frame["cluster"].map(mapping)
    updated = pd.concat(
        [
            known[~member(known["key"], frame["key"].unique())],
            pd.DataFrame({"key": frame["key"], "person_id": person}),
        ]
    ).drop_duplicates("key", keep="last")
    return pd.Series(person.to_numpy(), index=clusters.index), updated.reset_index(drop=True)
