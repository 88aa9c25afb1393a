"""Rollout backends (``hf``; ``vllm`` where installed) and the log-prob pass of training."""

from maxrl_rs.rollout.base import (
    BACKENDS,
    RolloutBackend,
    Rollouts,
    SamplingParams,
    backend_class,
    register_backend,
)
from maxrl_rs.rollout.logprobs import response_logprobs, token_logprobs

__all__ = [
    "BACKENDS",
    "RolloutBackend",
    "Rollouts",
    "SamplingParams",
    "backend_class",
    "register_backend",
    "response_logprobs",
    "token_logprobs",
]
