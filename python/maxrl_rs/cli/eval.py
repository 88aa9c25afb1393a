"""``maxrl eval``: pass@k and the MaxRL objective of trained policies on held-out prompts.

    maxrl eval RUN_DIR|MODEL_DIR|MODEL.gguf [RUN_DIR ...] --task maze --n 256 [--k 1,2,4] [--prompts P]
               [--json OUT.json] [--plot OUT.png]

Each policy samples n responses per held-out prompt; the table shows unbiased pass@k and J^(k)
(docs/estimators.md).
With several policies the curves share one plot and each one's test-time scaling efficiency over the first
is reported. A ``.json`` argument is a saved report, re-tabulated and re-plotted without sampling.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from maxrl_rs.cli.overrides import SetCommand, set_option


def _label(source: Any, path: Path) -> str:
    if source.run_dir is not None and source.step is not None:
        return f"{source.run_dir.name}@{source.step}"
    return path.resolve().name


def _task_config(first_run: Path | None, config_path: str | None, overrides: list[str]) -> Any:
    """The held-out set's configuration: the task section of ``first_run`` (the first policy from a training
    run), or --config/--task; then --set.

    Only the run's ``task`` and ``rollout`` sections are read: evaluation needs nothing else, and a run
    saved by another version may carry keys this one no longer knows.
    """
    from maxrl_rs import checkpoint as ckpt
    from maxrl_rs.config import Config, apply_override, load_config, merge, validate

    if first_run is not None and config_path is None:
        saved = ckpt.read_run_config(first_run)
        cfg = merge(Config(), {k: saved[k] for k in ("task", "rollout") if k in saved})
        for item in overrides:
            cfg = apply_override(cfg, item)
        validate(cfg)
        return cfg
    return load_config(config_path, overrides)


@click.command("eval", cls=SetCommand)
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--task",
    default=None,
    help="Task name (default: the task of the first RUN from a training run, else 'maze').",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Config file (TOML/JSON) defining the task and its held-out set (default: that of the first RUN "
    "from a training run).",
)
@set_option("Config override, repeatable.")
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Samples per held-out prompt.",
)
@click.option(
    "--k", "ks", default=None, help="Comma-separated k, each <= --n (default: powers of two up to n, and n)."
)
@click.option(
    "--prompts",
    type=click.IntRange(min=1),
    default=None,
    help="Number of held-out prompts (default task.eval_size).",
)
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Default: rollout.max_new_tokens or the task's.",
)
@click.option("--seed", type=int, default=None, help="Sampling seed (default task.eval_seed).")
@click.option("--device", default=None, help="auto, cpu or cuda[:i] (default: the config's).")
@click.option(
    "--max-sequences",
    type=click.IntRange(min=1),
    default=2048,
    show_default=True,
    help="Responses sampled per backend call (prompts per call = this // n); bounds memory.",
)
@click.option(
    "--name", "names", multiple=True, help="Label of each run, in order (default: directory names)."
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report (several runs: the comparison, with efficiencies) as JSON.",
)
@click.option(
    "--plot",
    "plot_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the pass@k curves and pass-rate histograms as a PNG.",
)
@click.option("--progress/--no-progress", default=True, show_default=True)
def eval_command(
    runs: tuple[Path, ...],
    task: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    n: int,
    ks: str | None,
    prompts: int | None,
    temperature: float,
    max_new_tokens: int | None,
    seed: int | None,
    device: str | None,
    max_sequences: int,
    names: tuple[str, ...],
    json_out: Path | None,
    plot_out: Path | None,
    progress: bool,
) -> None:
    """Sample N responses per held-out prompt from each RUN (run, checkpoint or model directory, or a
    saved report .json) and report pass@k and J^(k); several runs are compared against the first."""
    from maxrl_rs.atomic import NoSpaceError
    from maxrl_rs.errors import InvalidInputError
    from maxrl_rs.evaluation import check_comparable, format_table, load_reports, save_reports, unique_labels
    from maxrl_rs.progress_bars import quiet_library_bars

    with quiet_library_bars(not progress):  # transformers' loading bars follow --progress/--no-progress too
        ctx = None
        try:
            # Everything that can be checked without sampling is, so a mistake never costs a sampling run.
            saved = {p: load_reports(p) for p in runs if _is_report(p)}
            sampled = [p for p in runs if not _is_report(p)]
            if sampled:
                _check_ks(ks, n)
            else:
                _check_nothing_to_sample()
            count = len(sampled) + sum(len(r) for r in saved.values())
            if names and len(names) != count:
                raise click.BadParameter(
                    f"{len(names)} --name values for {count} reports ({len(sampled)} sampled, "
                    f"{count - len(sampled)} saved)",
                    param_hint="--name",
                )
            _check_output(json_out, "--json")
            _check_not_an_input(json_out, saved)
            if plot_out is not None:
                from maxrl_rs.plots import check_plot_path

                _check_output(plot_out, "--plot")
                check_plot_path(plot_out)
            # Saved reports must compare with each other, and with the prompts the policies will sample.
            saved_list = [(r, repr(str(p))) for p, rs in saved.items() for r in rs]
            check_comparable([r for r, _ in saved_list], [src for _, src in saved_list])
            if sampled:
                ctx = _SamplingContext.build(
                    sampled, task, config_path, overrides, prompts, device, n, max_sequences, temperature
                )
                if saved_list:
                    ctx.check_saved(*saved_list[0])
            reports, sources = [], []
            for path in runs:
                if path in saved:
                    reports.extend(saved[path])
                    sources.extend([repr(str(path))] * len(saved[path]))
                    continue
                assert ctx is not None
                reports.append(
                    ctx.evaluate(
                        path,
                        ks=ks,
                        temperature=temperature,
                        max_new_tokens=max_new_tokens,
                        seed=seed,
                        progress=progress,
                    )
                )
                sources.append(repr(str(path)))
            if names:
                reports = [replace(r, run=name) for r, name in zip(reports, names, strict=True)]
            reports = unique_labels(reports)
            check_comparable(reports, sources)  # before any efficiency, and before anything is written
            click.echo(format_table(reports))
            if json_out is not None:
                click.echo(f"wrote {save_reports(reports, json_out)}")
            if plot_out is not None:
                from maxrl_rs.plots import plot_pass_at_k

                click.echo(f"wrote {plot_pass_at_k(reports, plot_out)}")
        except (InvalidInputError, NoSpaceError) as e:  # ConfigError and FileError included
            raise click.ClickException(str(e)) from None
        finally:
            if ctx is not None:
                ctx.close()


def _is_report(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


#: Options that only shape sampling: given with saved reports alone, they would change nothing.
_SAMPLING_OPTIONS = {
    "task": "--task",
    "config_path": "--config",
    "overrides": "--set",
    "n": "--n",
    "ks": "--k",
    "prompts": "--prompts",
    "temperature": "--temperature",
    "max_new_tokens": "--max-new-tokens",
    "seed": "--seed",
    "device": "--device",
    "max_sequences": "--max-sequences",
}


def _check_nothing_to_sample() -> None:
    """Every RUN is a saved report: sampling options on the command line would be silently ignored."""
    ctx = click.get_current_context()
    given = [
        flag
        for name, flag in _SAMPLING_OPTIONS.items()
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} only {'applies' if len(given) == 1 else 'apply'} to sampling, and every RUN "
            "is a saved report, re-tabulated as it was sampled: drop "
            f"{'it' if len(given) == 1 else 'them'}, or add a run, checkpoint or model to sample"
        )


def _check_ks(ks: str | None, n: int) -> None:
    """--k: integers >= 1, none above --n (pass@k needs at least k samples per prompt)."""
    import sys

    from maxrl_rs.errors import InvalidInputError
    from maxrl_rs.evaluation.report import parse_ks

    if ks is None or not ks.strip():
        return  # the default: powers of two up to n, and n
    try:
        parse_ks(ks, n)
        return
    except InvalidInputError as e:
        error = e
    try:  # integers >= 1, some above --n: say which, and what to change
        above = [k for k in parse_ks(ks, sys.maxsize) if k > n]
    except InvalidInputError:
        raise click.BadParameter(f"{ks!r}: {error}", param_hint="--k") from None
    raise click.BadParameter(
        f"k = {', '.join(map(str, above))} is larger than --n {n}: pass@k needs at least k samples per "
        "prompt; lower --k or raise --n",
        param_hint="--k",
    )


def _check_not_an_input(path: Path | None, saved: dict[Path, Any]) -> None:
    """--json must not replace a saved report it reads (however the two paths are spelled)."""
    from maxrl_rs.atomic import same_file

    for report in saved:
        if path is not None and same_file(path, report):
            raise click.BadParameter(
                f"{str(path)!r} is the input report {str(report)!r}; writing would overwrite it: "
                "write elsewhere",
                param_hint="--json",
            )


def _check_output(path: Path | None, option: str) -> None:
    """An output whose directory cannot be made (a file stands in its way) is refused before sampling."""
    if path is None:
        return
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise click.BadParameter(
                    f"{str(path)!r}: {str(parent)!r} is a file, not a directory", param_hint=option
                )
            return


class _SamplingContext:
    """The task and held-out prompts shared by every sampled run, so all runs see the same prompts."""

    def __init__(self, cfg: Any, task: Any, examples: list[Any], device: Any, n: int, per_call: int) -> None:
        self.cfg, self.task, self.examples = cfg, task, examples
        self.device, self.n, self.per_call = device, n, per_call
        self.backend: Any = None

    def backend_for(self, model: Any, tokenizer: Any) -> Any:
        """The rollout backend sampling from ``model``: the previous run's when it can switch models (one
        vLLM engine for every run), else a new one."""
        from dataclasses import replace

        from maxrl_rs.rollout.base import backend_class

        if self.backend is not None and self.backend.reuse_for(model, tokenizer):
            return self.backend
        self.close()
        rollout_cfg = replace(self.cfg.rollout, batch_size=self.per_call)
        self.backend = backend_class(rollout_cfg.backend).from_config(model, tokenizer, rollout_cfg)
        return self.backend

    def check_saved(self, report: Any, source: str) -> None:
        """A saved report compared with the policies about to sample must be on their task and prompts."""
        from maxrl_rs.evaluation import check_comparable, passk_report

        ids = [ex.id for ex in self.examples]
        sampling = passk_report(
            1, [0] * len(ids), run="the sampled policies", task=self.task.name, prompt_ids=ids
        )
        check_comparable([report, sampling], [source, f"{len(ids)} held-out prompts"])

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    @classmethod
    def build(
        cls,
        runs: list[Path],
        task: str | None,
        config_path: str | None,
        overrides: tuple[str, ...],
        prompts: int | None,
        device: str | None,
        n: int,
        max_sequences: int,
        temperature: float,
    ) -> _SamplingContext:
        from maxrl_rs.evaluation.sampling import resolve_policy
        from maxrl_rs.options import check_temperature
        from maxrl_rs.run import make_task, resolve_device
        from maxrl_rs.tasks import DatasetTask

        # The task of the first policy that comes from a run: `maxrl eval RUN/sft RUN` or `maxrl eval
        # model.gguf RUN` compares the start with the trained policy on the task the run trained on.
        first = next((s.run_dir for s in map(resolve_policy, runs) if s.run_dir is not None), None)
        extra = list(overrides)
        if task is not None:
            extra.insert(0, f"task.name={task}")
        if prompts is not None:
            extra.append(f"task.eval_size={prompts}")
        cfg = _task_config(first, config_path, extra)
        if device is not None:
            cfg.device = device
        if cfg.rollout.backend == "vllm":
            check_temperature(temperature, "--temperature")
        t = make_task(cfg)
        if isinstance(t, DatasetTask):  # pass@k counts the responses scored 1; any other score is a miss
            t.binary_rewards = False
        examples = t.eval_examples()[: cfg.task.eval_size]
        t.check_grading()
        for path in runs:  # every policy can read the prompts, before the first one samples
            _check_encodes(path, t, examples)
        return cls(cfg, t, examples, resolve_device(cfg.device), n, max(1, max_sequences // n))

    def evaluate(
        self,
        path: Path,
        *,
        ks: str | None,
        temperature: float,
        max_new_tokens: int | None,
        seed: int | None,
        progress: bool,
    ) -> Any:
        from maxrl_rs.evaluation.sampling import evaluate_policy, resolve_policy
        from maxrl_rs.run import load_pretrained

        source = resolve_policy(path)
        model, tokenizer = load_pretrained(source.model_dir)
        model.to(self.device)
        backend = self.backend_for(model, tokenizer)
        budget = max_new_tokens or self.cfg.rollout.max_new_tokens or self.task.max_new_tokens
        return evaluate_policy(
            backend,
            self.task,
            tokenizer,
            self.examples,
            run=_label(source, path),
            n=self.n,
            ks=ks,
            max_new_tokens=budget,
            temperature=temperature,
            top_p=self.cfg.rollout.top_p,
            top_k=self.cfg.rollout.top_k,
            min_p=self.cfg.rollout.min_p,
            seed=self.cfg.task.eval_seed if seed is None else seed,
            prompts_per_call=self.per_call,
            progress=progress,
            meta={  # absolute: the report outlives the working directory it was sampled from
                "model_dir": str(source.model_dir.resolve()),
                "run_dir": str(source.run_dir.resolve()) if source.run_dir else None,
                "step": source.step,
                "eval_seed": self.cfg.task.eval_seed,
                "task_options": _task_options(self.cfg, budget),
            },
        )


def _check_encodes(path: Path, task: Any, examples: list[Any]) -> None:
    """ConfigError when the tokenizer of the policy at ``path`` cannot encode the held-out prompts; for a
    training run of another task, the message says which task to evaluate it on."""
    from maxrl_rs import checkpoint as ckpt
    from maxrl_rs.errors import FileError
    from maxrl_rs.evaluation.sampling import resolve_policy
    from maxrl_rs.run import pretrained_tokenizer
    from maxrl_rs.tasks.encoding import check_tokenizer

    source = resolve_policy(path)
    hint = None
    if source.run_dir is not None:
        try:
            trained = ckpt.read_run_config(source.run_dir)["task"].get("name")
        except (FileError, AttributeError):
            trained = None
        if trained is not None and trained != task.name:
            hint = f"{str(path)!r} was trained on task {trained!r}: evaluate it with --task {trained}"
    check_tokenizer(task, pretrained_tokenizer(source.model_dir), examples, model=source.model_dir, hint=hint)


def _task_options(cfg: Any, max_new_tokens: int) -> dict[str, Any]:
    """The task's options as sampled: a task budget shows the one used (``--max-new-tokens``,
    ``rollout.max_new_tokens`` or the task's own), not the configured default it overrode."""
    from dataclasses import asdict, is_dataclass

    options = getattr(cfg.task, cfg.task.name, None)
    out = asdict(options) if is_dataclass(options) and not isinstance(options, type) else {}
    if "max_new_tokens" in out:
        out["max_new_tokens"] = max_new_tokens
    return out
