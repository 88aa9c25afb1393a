"""The RL training step: sample, grade, compute advantages, update.

One step takes ``train.prompts_per_step`` prompts, samples ``rollout.n`` responses for each, grades them
with the task's verifier (rollouts without a verdict, ``Grades.mask``: limit, error, invalid reference, are
masked; docs/grading.md), computes
per-rollout advantages with :func:`maxrl_rs.advantages` (MaxRL by default: successes N/K − 1, failures −1,
all-fail and all-success groups 0; Tajwar et al. 2026, Algorithm 1) and takes ``algo.ppo_epochs ×
algo.minibatches`` AdamW steps on the token-level loss of :mod:`maxrl_rs.losses`, accumulating gradients
over micro-batches.

Distributed training plugs in here: a trainer is told its ``rank`` and ``world_size``, samples only its own
share of each step's prompts (whole groups, so advantages stay local), and sums the loss denominators
over ranks (:meth:`Trainer.global_sum`); the process-group setup and model wrapping live elsewhere.

The loss's log-probs are those of the distribution the rollouts were drawn from: the same temperature and
top-k / top-p / min-p truncation (:func:`maxrl_rs.rollout.logprobs.shape_logits`), and dropout switched off
in the policy and the reference (:func:`disable_dropout`), so the PPO ratio is exactly 1 before the first
update.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import maxrl_rs
from maxrl_rs import checkpoint as ckpt
from maxrl_rs import distributed
from maxrl_rs.config import Config
from maxrl_rs.losses import LossConfig, policy_loss
from maxrl_rs.rollout.base import RolloutBackend, Rollouts, SamplingParams
from maxrl_rs.rollout.logprobs import response_logprobs, token_logprobs
from maxrl_rs.tasks.base import Example, PromptSampler, Task

if TYPE_CHECKING:
    import torch


@dataclass
class StepBatch:
    """Everything a step computed before its update (handed to hooks and returned by :meth:`Trainer.step`).

    Attributes:
        step: the step number (1 for the first step).
        examples: this rank's prompts, in group order.
        rollouts: their responses, prompt-major; ``rollouts.group_ids`` are the examples' global indices.
        rewards: ``[R]`` float32 verifier scores.
        status: ``[R]`` uint8 grading status codes (``maxrl_rs.STATUS_NAMES``).
        mask: ``[R]`` bool, rollouts that take part: graded (not limit/error) and, with
            ``algo.mask_truncated``, ended by EOS.
        advantages: ``[R]`` float64, exactly ``maxrl_rs.advantages(rewards, rollouts.group_ids,
            algo.estimator, order=algo.order, clamp_order=algo.order is not None,
            drop_all_fail=algo.drop_all_fail, mask=mask)``: a group left with N_g < ``algo.order`` unmasked
            rollouts uses order N_g.
    """

    step: int
    examples: list[Example]
    rollouts: Rollouts
    rewards: np.ndarray
    status: np.ndarray
    mask: np.ndarray
    advantages: np.ndarray


Hook = Callable[[StepBatch], None]

#: Consecutive steps without any nonzero advantage after which the trainer warns (once).
NO_SIGNAL_STEPS = 3


def disable_dropout(model: torch.nn.Module) -> None:
    """Switch dropout off in ``model`` (and its wrappers): every ``nn.Dropout``'s ``p``, and every float
    attribute named ``*dropout*`` / ``*pdrop*`` of its modules and config (attention implementations read
    ``self.attention_dropout`` in train mode). RL needs π in the loss to be the π that sampled (in eval
    mode): with dropout the ratio differs from 1 before the policy has moved. TRL's
    ``disable_dropout_in_model`` does the same for ``nn.Dropout``.
    """
    import torch

    def zero_fields(obj: object) -> None:
        for name, value in list(vars(obj).items()):
            low = name.lower()
            if ("dropout" in low or "pdrop" in low) and isinstance(value, float) and value != 0.0:
                setattr(obj, name, 0.0)

    for module in model.modules():
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            module.p = 0.0
        zero_fields(module)
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "__dict__"):
            zero_fields(config)
            for sub in ("text_config", "decoder"):
                if hasattr(getattr(config, sub, None), "__dict__"):
                    zero_fields(getattr(config, sub))


def check_world_size(config: Config, world_size: int) -> None:
    """ConfigError unless ``train.prompts_per_step`` splits into whole groups over ``world_size`` ranks, with
    at least ``algo.minibatches`` per rank. Checked by :func:`maxrl_rs.run.train` as soon as the world size
    is known, before the run directory, the model or the warm-start."""
    per_rank, rest = divmod(config.train.prompts_per_step, world_size)
    if rest or per_rank < config.algo.minibatches:
        raise maxrl_rs.ConfigError(
            f"train.prompts_per_step ({config.train.prompts_per_step}) must be a multiple of the "
            f"{world_size} ranks, with at least algo.minibatches ({config.algo.minibatches}) per rank"
        )


class Trainer:
    """RL on one task with one model.

    Args:
        config: the run configuration.
        model: the policy (a transformers causal LM), already on its device.
        tokenizer: its tokenizer.
        task: the task (examples and grading).
        backend: the rollout backend sampling from ``model``.
        ref_model: frozen reference model for the KL term (needed when ``algo.kl_coef > 0``).
        rank, world_size: this process's place among data-parallel trainers.
        dist: the process group (:func:`maxrl_rs.distributed.setup`); sets ``rank`` and ``world_size``.
            ``model`` is then the DDP- or FSDP-wrapped policy.
        hooks: called with each step's :class:`StepBatch` after advantages, before the update.
    """

    def __init__(
        self,
        config: Config,
        model: torch.nn.Module,
        tokenizer: Any,
        task: Task,
        backend: RolloutBackend,
        *,
        ref_model: torch.nn.Module | None = None,
        rank: int = 0,
        world_size: int = 1,
        hooks: Sequence[Hook] = (),
        dist: distributed.DistContext | None = None,
    ) -> None:
        import torch

        if dist is not None:
            rank, world_size = dist.rank, dist.world_size
        elif world_size > 1:
            raise maxrl_rs.ConfigError("world_size > 1 needs the process group (dist=...)")
        self.dist = dist or distributed.SINGLE
        check_world_size(config, world_size)

        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.task = task
        self.backend = backend
        self.ref_model = ref_model
        self.rank = rank
        self.world_size = world_size
        self.hooks = list(hooks)
        self.step_count = 0
        self.device = next(model.parameters()).device
        t, a = config.train, config.algo
        if a.kl_coef > 0 and ref_model is None:
            raise maxrl_rs.ConfigError("algo.kl_coef > 0 needs a reference model")
        disable_dropout(model)
        if ref_model is not None:
            disable_dropout(ref_model)
        self.max_new_tokens = config.rollout.max_new_tokens or task.max_new_tokens
        self.sampling = SamplingParams(
            n=config.rollout.n,
            temperature=config.rollout.temperature,
            top_p=config.rollout.top_p,
            top_k=config.rollout.top_k,
            min_p=config.rollout.min_p,
            max_new_tokens=self.max_new_tokens,
            logprobs=a.tis_cap is not None,
        )
        self.loss_config = LossConfig(
            agg=a.loss_agg,
            clip_low=a.clip_low,
            clip_high=a.clip_high,
            dual_clip=a.dual_clip,
            kl_coef=a.kl_coef,
            entropy_coef=a.entropy_coef,
            max_len=self.max_new_tokens,
            tis_cap=a.tis_cap,
        )
        # Metrics of the last steps of the current run of steps whose advantages are all 0.
        self._no_signal: deque[dict[str, float]] = deque(maxlen=NO_SIGNAL_STEPS)
        self._warned_no_signal = False
        self.sampler = PromptSampler(task.num_train, seed=config.seed, rank=rank, world_size=world_size)
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=t.lr,
            betas=(t.adam_beta1, t.adam_beta2),
            weight_decay=t.weight_decay,
        )
        warmup = t.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup > 0 else 1.0
        )
        # bf16 autocast of the forward passes on CUDA (float32 master weights, AdamW state and log-probs);
        # under FSDP2, FSDP itself computes in bf16 (distributed.fsdp_bf16).
        self.autocast = self.device.type == "cuda" and t.bf16 and self.dist.strategy != "fsdp"

    # -- one step --------------------------------------------------------------------------------------------
    def step(self) -> tuple[StepBatch, dict[str, float]]:
        """Run one training step; returns its batch and its metrics."""
        start = time.perf_counter()
        batch, timings = self.collect()
        for hook in self.hooks:
            hook(batch)
        t0 = time.perf_counter()
        update_stats = self.update(batch)
        timings["time_update"] = time.perf_counter() - t0
        timings["time_step"] = time.perf_counter() - start
        metrics = {**self.batch_metrics(batch, timings), **update_stats}
        metrics = distributed.reduce_step_metrics(self.dist, metrics, batch)
        self._check_signal(metrics)
        return batch, metrics

    def _check_signal(self, metrics: dict[str, float]) -> None:
        """Warn once when :data:`NO_SIGNAL_STEPS` steps in a row had no nonzero advantage (over all ranks):
        the policy-gradient term was 0, saying why (all-fail, all-success or masked groups)."""
        if metrics.get("adv_nonzero_frac", 1.0) > 0:
            self._no_signal.clear()
            return
        self._no_signal.append(metrics)
        if self._warned_no_signal or len(self._no_signal) < NO_SIGNAL_STEPS:
            return
        self._warned_no_signal = True
        if not self.dist.is_main:
            return

        def avg(key: str) -> float:
            return float(np.mean([m.get(key, 0.0) for m in self._no_signal]))

        first = self.step_count - NO_SIGNAL_STEPS + 1
        warnings.warn(
            f"steps {first}-{self.step_count}: every advantage was 0, so the policy gradient was 0 "
            f"(groups all-fail {avg('frac_all_fail'):.0%}, all-success {avg('frac_all_success'):.0%}; "
            f"rollouts masked {avg('masked_frac'):.0%}, truncated {avg('truncated_frac'):.0%}). "
            "All-fail: the model solves none of its N tries (a longer SFT warm-up, an easier task, a larger "
            "rollout.n or longer rollout.max_new_tokens); all-success: the prompts are too easy; masked: the "
            "verifier gives no verdict (limit/error) or algo.mask_truncated drops truncated responses",
            RuntimeWarning,
            stacklevel=3,
        )

    def collect(self) -> tuple[StepBatch, dict[str, float]]:
        """Sample this rank's prompts, their rollouts, grades and advantages.

        All or nothing: when sampling or grading raises (a user's reward function), the step count, data
        position and RNG states are put back, so the trainer is as it was before the call.
        """
        before = (self.step_count, self.sampler.state_dict(), ckpt.rng_state())
        try:
            return self._collect()
        except BaseException:
            self.step_count = before[0]
            self.sampler.load_state_dict(before[1])
            ckpt.set_rng_state(before[2])
            raise

    def _collect(self) -> tuple[StepBatch, dict[str, float]]:
        a = self.config.algo
        self.step_count += 1
        indices = self.sampler.next_batch(self.config.train.prompts_per_step)
        examples = [self.task.train_example(i) for i in indices]
        t0 = time.perf_counter()
        prompts = [self.task.prompt_ids(ex, self.tokenizer) for ex in examples]
        with self.generation_context():
            if self.dist.seed_per_prompt or self.backend.seeds_per_prompt:
                # Each prompt under its own seed: the same rollouts on any number of ranks.
                rollouts = distributed.generate_per_prompt(
                    self.backend,
                    prompts,
                    indices,
                    self.sampling,
                    base_seed=self.config.seed,
                    step=self.step_count,
                    pad_id=_pad_id(self.tokenizer),
                )
            else:
                rollouts = self.backend.generate(prompts, indices, self.sampling)
        t1 = time.perf_counter()
        by_index = dict(zip(indices, examples, strict=True))
        graded = self.task.grade(rollouts.texts, [by_index[int(g)] for g in rollouts.group_ids])
        mask = graded.mask & rollouts.finished if a.mask_truncated else graded.mask
        # Masks are decided here, at run time: a group may keep fewer than algo.order rollouts.
        adv = maxrl_rs.advantages(
            graded.rewards,
            rollouts.group_ids,
            a.estimator,
            order=a.order,
            clamp_order=a.order is not None,
            drop_all_fail=a.drop_all_fail,
            mask=mask,
        )
        t2 = time.perf_counter()
        batch = StepBatch(self.step_count, examples, rollouts, graded.rewards, graded.status, mask, adv)
        return batch, {"time_rollout": t1 - t0, "time_grade": t2 - t1}

    def generation_context(self) -> contextlib.AbstractContextManager[None]:
        """Context for sampling from the training model: under FSDP2 its layers stay gathered meanwhile
        (:func:`distributed.gathered_for_generation`); nothing to do when the backend samples elsewhere."""
        if getattr(self.backend, "model", None) is not distributed.unwrap(self.model):
            return contextlib.nullcontext()
        return distributed.gathered_for_generation(self.model, self.dist, self.config.distributed)

    def update(self, batch: StepBatch) -> dict[str, float]:
        """``ppo_epochs × minibatches`` optimizer steps on the batch; then the LR schedule takes one step."""
        import torch

        a, t = self.config.algo, self.config.train
        r = batch.rollouts
        loss_mask = r.response_mask * torch.as_tensor(batch.mask, device=self.device).unsqueeze(1)
        adv = torch.as_tensor(batch.advantages, dtype=torch.float32, device=self.device)
        updates = a.ppo_epochs * a.minibatches
        old_logp = ref_logp = None
        if a.tis_cap is not None and r.sampler_logp is None:
            raise maxrl_rs.ConfigError(
                "algo.tis_cap needs the sampler's own log-probs; rollout backend "
                f"{type(self.backend).__name__} returned none (the hf and vllm backends do)"
            )
        if updates > 1:  # off-policy after the first update: ratios against the sampling policy
            old_logp = self._no_grad_logprobs(self.model, r)
        if a.kl_coef > 0 and self.ref_model is not None:  # __init__ checks it is given
            # The reference under the same temperature and truncation (its own kept set, plus the sampled
            # token so the log-ratio stays finite): equal weights give KL 0.
            ref_logp = self._no_grad_logprobs(self.ref_model, r)
        # Rollouts with A = 0 contribute nothing to the gradient unless KL or entropy terms are on: skip their
        # forward pass, but keep their tokens in the denominators so the loss is the full batch's.
        every_row = a.kl_coef > 0 or a.entropy_coef > 0
        has_tokens = (loss_mask.sum(dim=1) > 0).cpu().numpy()
        active = has_tokens & (every_row | (batch.advantages != 0))
        # The optimizer's own parameters: under FSDP2 the module may hold unsharded stand-ins after a forward
        # pass that did not reshard (generation), while the sharded ones receive the gradients.
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        totals: dict[str, float] = {}
        losses, norms = [], []
        self.model.train()
        for _ in range(a.ppo_epochs):
            for rows in _minibatch_rows(r.group_ids, a.minibatches):
                self.optimizer.zero_grad(set_to_none=True)
                num_tokens = self.global_sum(float(loss_mask[rows].sum()))
                num_seqs = self.global_sum(float(has_tokens[rows].sum()))
                work = rows[active[rows]]
                loss_sum = 0.0
                chunks = [work[i : i + t.micro_batch_size] for i in range(0, len(work), t.micro_batch_size)]
                real = len(chunks)
                if self.world_size > 1:
                    # Every rank runs as many forward/backward passes (collectives under DDP and FSDP):
                    # a rank with fewer rows to train on adds passes of weight 0 on one row.
                    need = max(1, int(distributed.all_reduce_max(self.dist, [real])[0]))
                    chunks += [rows[:1]] * (need - real)
                for j, micro in enumerate(chunks):
                    with self.accumulation_context(last=j == len(chunks) - 1):
                        loss, stats = self._micro_loss(
                            r.select(micro), adv, loss_mask, micro, old_logp, ref_logp, num_tokens, num_seqs
                        )
                        (loss * (distributed.loss_scale(self.dist) if j < real else 0.0)).backward()
                    if j >= real:
                        continue
                    loss_sum += loss.item()
                    for k, v in stats.items():
                        w = stats["tokens"] if k != "tokens" else 1.0
                        totals[k] = totals.get(k, 0.0) + v * w
                for p in params:  # an all-zero-advantage minibatch still takes its (momentum-only) step
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                norm = torch.nn.utils.clip_grad_norm_(params, t.grad_clip)
                norms.append(float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm))  # FSDP
                self.optimizer.step()
                losses.append(loss_sum)
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.backend.sync_weights(self.model)
        tokens = max(totals.pop("tokens", 0.0), 1.0)
        out = {k: v / tokens for k, v in totals.items()}
        out["update_tokens"] = tokens
        out.update(
            loss=float(np.mean(losses)),
            grad_norm=float(np.mean(norms)),
            lr=float(self.scheduler.get_last_lr()[0]),
        )
        return out

    def _micro_loss(self, mb, adv, loss_mask, rows, old_logp, ref_logp, num_tokens, num_seqs) -> tuple:
        import torch

        idx = torch.as_tensor(rows, device=self.device)
        want_entropy = self.config.algo.entropy_coef > 0
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            logp, ent = token_logprobs(self.model, mb, sampling=self.sampling, entropy=True)
        assert ent is not None  # asked for with entropy=True
        return policy_loss(
            logp,
            adv[idx],
            loss_mask[idx],
            self.loss_config,
            old_logp=None if old_logp is None else old_logp[idx],
            ref_logp=None if ref_logp is None else ref_logp[idx],
            entropy=ent if want_entropy else ent.detach(),
            sampler_logp=mb.sampler_logp,
            num_tokens=num_tokens,
            num_seqs=num_seqs,
        )

    def _no_grad_logprobs(self, model: torch.nn.Module, rollouts: Rollouts) -> torch.Tensor:
        import torch

        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return response_logprobs(
                model, rollouts, micro_batch_size=self.config.train.micro_batch_size, sampling=self.sampling
            ).float()

    def batch_metrics(self, batch: StepBatch, timings: dict[str, float]) -> dict[str, float]:
        """Reward and group statistics of a step's batch, plus its timings."""
        stats = maxrl_rs.group_stats(batch.rewards, batch.rollouts.group_ids, mask=batch.mask)
        groups = stats.summary()
        lengths = batch.rollouts.response_lengths
        kept = batch.mask
        return {
            "reward": float(batch.rewards[kept].mean()) if kept.any() else float("nan"),
            "pass_rate": float(np.mean(batch.status == maxrl_rs.STATUS_NAMES.index("correct"))),
            "frac_all_fail": groups["frac_all_fail"],
            "frac_all_success": groups["frac_all_success"],
            "solved_frac": groups["solved_fraction"],
            "masked_frac": float(1.0 - kept.mean()),
            "truncated_frac": float(1.0 - batch.rollouts.finished.mean()),
            "adv_nonzero_frac": float(np.mean(batch.advantages != 0)),
            "order_clamped_groups": stats.order_clamped(self.config.algo.order),
            "response_len": float(lengths.mean()),
            "tokens_per_s": float(lengths.sum() / max(timings["time_step"], 1e-9)),
            **timings,
        }

    # -- seams for data-parallel training --------------------------------------------------------------------
    def global_sum(self, value: float) -> float:
        """Sum of ``value`` over ranks (the loss denominators of a whole step's batch).

        Each rank's loss is its share of the global sum divided by the global denominator; it is multiplied by
        ``world_size`` before backward because DDP/FSDP average gradients over ranks.
        """
        return distributed.global_sum(self.dist, value)

    def accumulation_context(self, last: bool) -> contextlib.AbstractContextManager:
        """Context of one micro-batch's forward and backward (DDP: ``no_sync()`` unless ``last``)."""
        return distributed.gradient_sync(self.model, enabled=last)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Optimizer, schedule and data state. Distributed: a collective, complete on rank 0 only, with every
        rank's RNG and data position under ``ranks``."""
        state = {
            "step": self.step_count,
            "optimizer": (
                distributed.full_optimizer_state_dict(self.model, self.optimizer, self.dist)
                if self.dist.distributed
                else self.optimizer.state_dict()
            ),
            "scheduler": self.scheduler.state_dict(),
            "sampler": self.sampler.state_dict(),
        }
        if self.dist.distributed:
            state["ranks"] = distributed.all_gather_object(
                self.dist, {"rng": ckpt.rng_state(), "sampler": self.sampler.state_dict()}
            )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (a distributed run's with the same number of ranks)."""
        ranks = state.get("ranks")
        written = "a single process" if ranks is None else f"{len(ranks)} data-parallel rank(s)"
        running = (
            "a single process" if not self.dist.distributed else f"{self.world_size} data-parallel rank(s)"
        )
        if written != running:
            raise maxrl_rs.ConfigError(
                f"resume: the checkpoint was written by {written}; resume it the same way (not {running})"
            )
        self.step_count = int(state["step"])
        if self.dist.distributed:
            # Rank 0's copy is broadcast and resharded; the others need not hold a second full copy.
            distributed.load_full_optimizer_state_dict(
                self.model, self.optimizer, state["optimizer"] if self.dist.is_main else {}, self.dist
            )
        else:
            self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.sampler.load_state_dict(ranks[self.rank]["sampler"] if ranks is not None else state["sampler"])

    def rng_state_of_rank(self, state: dict[str, Any]) -> dict[str, Any]:
        """This rank's RNG state in a checkpoint's trainer state."""
        ranks = state.get("ranks")
        return ranks[self.rank]["rng"] if ranks is not None else state["rng"]


def _minibatch_rows(group_ids: np.ndarray, minibatches: int) -> list[np.ndarray]:
    """Row indices of ``minibatches`` parts holding whole groups (rollouts are prompt-major)."""
    _, first = np.unique(group_ids, return_index=True)
    starts = np.sort(first)
    bounds = [*starts[np.linspace(0, len(starts), minibatches + 1).astype(int)[:-1]], len(group_ids)]
    return [np.arange(bounds[i], bounds[i + 1]) for i in range(minibatches)]


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
