"""Stable person IDs across nightly runs.

The state folder keeps natural key -> person_id (``StateStore.person_keys``). A cluster takes the
person_id its keys had before (the smallest, when a merge brought two together); a cluster with no
known key gets the next new number. New records therefore never renumber existing people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PREFIX = "P"
WIDTH = 10


def assign(clusters: pd.Series, keys: pd.Series, known: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """person_id per record, and the updated key table.

    ``clusters`` and ``keys`` are aligned per record (cluster label, natural key); ``known`` has
    one row per key. The keys are factorized once, so every join below is on integers.
    """
    cluster = clusters.to_numpy()
    n = len(cluster)
    codes, uniques = pd.factorize(
        np.concatenate([keys.to_numpy(dtype=object), known["key"].to_numpy(dtype=object)])
    )
    mine, theirs = codes[:n], codes[n:]
    previous = np.full(len(uniques), None, dtype=object)
    previous[theirs] = known["person_id"].to_numpy(dtype=object)
    had = previous[mine]
    hit = pd.notna(had)
    hits = pd.DataFrame({"cluster": cluster[hit], "person_id": had[hit]})
    # Each cluster claims its smallest previous ID; an ID claimed by two clusters (a person split
    # since last night) stays with the cluster holding most of its keys, the other gets a new one.
    votes = hits.groupby(["cluster", "person_id"]).size().rename("n").reset_index()
    votes = votes.sort_values(["person_id", "n", "cluster"], ascending=[True, False, True])
    owner = votes.drop_duplicates("person_id")
    owner = owner.sort_values(["cluster", "person_id"]).drop_duplicates("cluster")
    mapping = dict(zip(owner["cluster"].tolist(), owner["person_id"].to_numpy(dtype=object), strict=True))
    ids = known["person_id"].astype("str").drop_duplicates()
    numbers = pd.to_numeric(ids.str.slice(len(PREFIX)), errors="coerce")
    next_no = int(numbers.max()) + 1 if len(known) and numbers.notna().any() else 1
    # New people numbered in a stable order: by their smallest key.
    frame = pd.DataFrame({"cluster": cluster, "key": keys.to_numpy(dtype=object)})
    new = frame[~frame["cluster"].isin(mapping)].groupby("cluster")["key"].min().sort_values()
    for i, c in enumerate(new.index):
        mapping[c] = f"{PREFIX}{next_no + i:0{WIDTH}d}"
    lookup = pd.Series(list(mapping.values()), index=list(mapping.keys()), dtype=object)
    person = pd.Series(lookup.reindex(cluster).to_numpy(), dtype=object)
    # The key table: the keys not seen tonight as they were, then tonight's (a key's last record).
    seen = np.zeros(len(uniques), dtype=bool)
    seen[mine] = True
    last = ~pd.Series(mine).duplicated(keep="last").to_numpy()
    updated = pd.concat(
        [
            known[~seen[theirs]],
            pd.DataFrame({"key": frame["key"].to_numpy()[last], "person_id": person.to_numpy()[last]}),
        ]
    )
    return pd.Series(person.to_numpy(), index=clusters.index), updated.reset_index(drop=True)
