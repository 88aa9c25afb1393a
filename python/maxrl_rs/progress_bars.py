"""The progress bars of the libraries maxrl-rs calls, off for the length of a call asked to be quiet.

transformers draws "Loading weights" and "Writing model shards" bars (and turns huggingface_hub's on and off
with its own), ``datasets`` draws "Generating train split" bars. Their switches are process-wide, so
:func:`quiet_library_bars` records each one, switches it off for the block and puts it back as it was: a
program that imports maxrl-rs keeps its own setting outside the calls that were asked to be quiet
(``maxrl train --quiet``, ``maxrl eval --no-progress``, ``progress=False`` in the Python API).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

#: ``library -> (is it on?, switch on, switch off)``, imported only when asked for.
_Switch = tuple[Callable[[], bool], Callable[[], None], Callable[[], None]]


def _switches(library: str) -> list[_Switch]:
    if library == "transformers":
        from huggingface_hub import utils as hub
        from transformers.utils import logging as hf

        return [
            (hf.is_progress_bar_enabled, hf.enable_progress_bar, hf.disable_progress_bar),
            # transformers switches the hub's bars with its own: put them back after it.
            (
                lambda: not hub.are_progress_bars_disabled(),
                hub.enable_progress_bars,
                hub.disable_progress_bars,
            ),
        ]
    if library == "datasets":
        import datasets

        return [
            (
                lambda: not datasets.are_progress_bars_disabled(),
                datasets.enable_progress_bars,
                datasets.disable_progress_bars,
            )
        ]
    raise ValueError(f"unknown library {library!r}: 'transformers' or 'datasets'")


@contextlib.contextmanager
def quiet_library_bars(quiet: bool = True, *libraries: str) -> Iterator[None]:
    """Switch off the progress bars of ``libraries`` (default ``"transformers"``) for the block when
    ``quiet``, then restore each switch as it was (also on an exception). With ``quiet`` False, nothing
    changes."""
    if not quiet:
        yield
        return
    switches = [s for lib in libraries or ("transformers",) for s in _switches(lib)]
    before = [is_on() for is_on, _, _ in switches]
    with warnings.catch_warnings():  # an environment variable that forces a switch warns; it still holds
        warnings.simplefilter("ignore")
        for _, _, off in switches:
            off()
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for (_, on, off), was_on in zip(switches, before, strict=True):
                (on if was_on else off)()
