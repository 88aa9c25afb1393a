"""The implementations a user would otherwise reach for, used as benchmark baselines.

* ``numpy_*``: vectorised NumPy (np.unique + bincount), the fastest pure-Python-stack way.
* ``loop_*``: the per-uid Python loop of verl's estimators and the official MaxRL code (dicts of lists of
  torch scalars), as it runs inside those trainers today.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def numpy_maxrl(rewards: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Algorithm 1 (T = N): successes N/K − 1, failures −1, all-fail groups 0."""
    _, inv = np.unique(ids, return_inverse=True)
    n = np.bincount(inv)
    k = np.bincount(inv, weights=rewards)
    mean = (k / n)[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(mean > 0, (rewards - mean) / mean, 0.0)
    return a


def numpy_grpo(rewards: np.ndarray, ids: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    _, inv = np.unique(ids, return_inverse=True)
    n = np.bincount(inv)
    mean = np.bincount(inv, weights=rewards) / n
    d = rewards - mean[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.sqrt(np.bincount(inv, weights=d * d) / (n - 1))
        a = np.where(n[inv] > 1, d / (std[inv] + eps), 0.0)
    return a


def loop_maxrl(rewards: np.ndarray, ids: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The official MaxRL advantage loop (verl style): per uid, (r − mean)/(mean + eps)."""
    import torch

    scores = torch.from_numpy(rewards)
    id2score: dict = defaultdict(list)
    id2mean = {}
    bsz = scores.shape[0]
    for i in range(bsz):
        id2score[ids[i]].append(scores[i])
    for idx in id2score:
        id2mean[idx] = torch.mean(torch.stack(id2score[idx]))
    for i in range(bsz):
        m = id2mean[ids[i]]
        scores[i] = (scores[i] - m) / (m + eps) if m > 0 else 0.0
    return scores.numpy()


def loop_grpo(rewards: np.ndarray, ids: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """verl's compute_grpo_outcome_advantage loop."""
    import torch

    scores = torch.from_numpy(rewards)
    id2score: dict = defaultdict(list)
    id2mean, id2std = {}, {}
    bsz = scores.shape[0]
    for i in range(bsz):
        id2score[ids[i]].append(scores[i])
    for idx in id2score:
        stacked = torch.stack(id2score[idx])
        id2mean[idx] = torch.mean(stacked)
        id2std[idx] = torch.std(stacked)
    for i in range(bsz):
        scores[i] = (scores[i] - id2mean[ids[i]]) / (id2std[ids[i]] + eps)
    return scores.numpy()
