"""Stable person IDs across nightly runs.

The state folder keeps natural key -> person_id (``StateStore.person_keys``). A cluster takes the
person_id its keys had before (the smallest, when a merge brought two together); a cluster with no
known key gets the next new number. New records therefore never renumber existing people. A key
that several clusters share tonight (namesakes without an ID) is told apart per cluster, so each
keeps its id; from the table it saves, the same clusters get the same ids and the same table again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PREFIX = "P"
WIDTH = 10


def assign(clusters: pd.Series, keys: pd.Series, known: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """person_id per record, and the updated key table.

    ``clusters`` and ``keys`` are aligned per record (cluster label, natural key); ``known`` has
    one row per key. The keys are factorized once, so every join below is on integers.
    """
    cluster = clusters.to_numpy()
    n = len(cluster)
    keys = _one_cluster_per_key(keys, cluster)
    codes, uniques = pd.factorize(
        np.concatenate([keys.to_numpy(dtype=object), known["key"].to_numpy(dtype=object)])
    )
    mine, theirs = codes[:n], codes[n:]
    # Person ids as integer codes ranked in the ids' sorted order (so sorting codes sorts ids): the
    # votes below group and sort a million rows, several seconds on the id strings themselves.
    pid, distinct = pd.factorize(known["person_id"])
    pids = np.asarray(distinct, dtype=object)
    order = pc.sort_indices(pa.array(pids, type=pa.string())).to_numpy()  # Arrow's sort: 3x numpy's
    rank = np.empty(len(pids), dtype=np.int64)
    rank[order] = np.arange(len(pids))
    pid, pids = rank[pid], pids[order]
    previous = np.full(len(uniques), -1, dtype=np.int64)
    previous[theirs] = pid
    had = previous[mine]
    hit = had >= 0
    ccodes, clabels = pd.factorize(cluster, sort=True)
    # Each cluster claims its smallest previous ID; an ID claimed by two clusters (a person split
    # since last night) stays with the cluster holding most of its keys, the other gets a new one.
    width = len(pids) + 1
    pairs, n_votes = np.unique(ccodes[hit].astype(np.int64) * width + had[hit], return_counts=True)
    vc, vp = pairs // width, pairs % width
    order = np.lexsort((vc, -n_votes, vp))  # by id, most votes first, then the smallest cluster
    first = order[np.r_[True, vp[order][1:] != vp[order][:-1]]] if len(order) else order
    oc, op = vc[first], vp[first]
    order = np.lexsort((op, oc))  # by cluster, then the smallest id
    first = order[np.r_[True, oc[order][1:] != oc[order][:-1]]] if len(order) else order
    # person_id per cluster code: the claimed ones, then new numbers.
    by_code = np.full(len(clabels), None, dtype=object)
    by_code[oc[first]] = pids[op[first]]
    numbers = pd.to_numeric(pd.Series(pids, dtype="str").str.slice(len(PREFIX)), errors="coerce")
    next_no = int(numbers.max()) + 1 if len(known) and numbers.notna().any() else 1
    # New people numbered in a stable order: by their smallest key.
    unclaimed = pd.isna(by_code)[ccodes]
    new = (
        pd.Series(keys.to_numpy(dtype=object)[unclaimed])
        .groupby(ccodes[unclaimed])
        .min()
        .sort_values(kind="stable")
    )
    by_code[new.index.to_numpy()] = [f"{PREFIX}{next_no + i:0{WIDTH}d}" for i in range(len(new))]
    person = pd.Series(by_code[ccodes], dtype=object)
    # The key table: the keys not seen tonight as they were, then tonight's (a key's last record).
    seen = np.zeros(len(uniques), dtype=bool)
    seen[mine] = True
    last = ~pd.Series(mine).duplicated(keep="last").to_numpy()
    updated = pd.concat(
        [
            known[~seen[theirs]],
            pd.DataFrame({"key": keys.to_numpy(dtype=object)[last], "person_id": person.to_numpy()[last]}),
        ]
    )
    return pd.Series(person.to_numpy(), index=clusters.index), updated.reset_index(drop=True)


def _one_cluster_per_key(keys: pd.Series, cluster: np.ndarray) -> pd.Series:
    """The records' keys, those that several clusters share told apart: the first cluster (in
    record order) keeps the key, the n-th gets ``key#n``.

    A record without an ID is keyed by its source, name and township (prepare.natural_keys), and
    two namesakes there may be two people. The key table keeps one id per key, so the other
    cluster lost its id and took a new number on every night (20 records at 1M records).
    """
    k = keys.to_numpy(dtype=object)
    kc, _ = pd.factorize(k)
    cc, _ = pd.factorize(cluster)
    if len(k) == 0:
        return keys
    width = int(cc.max()) + 1
    pair, first, inverse = np.unique(kc.astype(np.int64) * width + cc, return_index=True, return_inverse=True)
    owner = pair // width
    order = np.lexsort((first, owner))  # each key's clusters in order of their first record
    start = np.r_[True, owner[order][1:] != owner[order][:-1]]
    group = np.cumsum(start) - 1
    rank = np.empty(len(pair), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.flatnonzero(start)[group]
    nth = rank[inverse.ravel()]
    shared = (nth > 0) & (kc >= 0)
    if not shared.any():
        return keys
    out = k.copy()
    out[shared] = [f"{key}#{r + 1}" for key, r in zip(k[shared], nth[shared], strict=True)]
    return pd.Series(out, index=keys.index, dtype=object)
