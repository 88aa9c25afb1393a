"""GGUF model files as ordinary transformers model directories.

``model.path`` may name a ``.gguf`` file (llama.cpp's format, e.g. a quantised SmolLM2). transformers reads
one with ``from_pretrained(dir, gguf_file=name)`` and dequantises it to float32, but a model loaded that way
cannot be saved again with ``save_pretrained``, and vLLM or a later run would have to dequantise it anew.
So a GGUF file is converted once into a safetensors HF directory in a cache and every consumer (training,
checkpoints, ``maxrl eval``, vLLM) then sees a plain model directory.

Cache: ``$MAXRL_CACHE/gguf/<key>`` (default ``~/.cache/maxrl-rs/gguf/<key>``), where the key is the file's
stem and the start of the SHA-256 of its whole content (the digest Hugging Face shows for LFS files): a
replaced file gets a new entry, while the same file reinstalled, copied or touched (a new path or
modification time) reuses its entry, so reinstalling a model package does not add another 0.5 GB. The
directory is written under a temporary name and renamed into place, so a crash never leaves a half-written
entry that a later run would trust.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError
from maxrl_rs.fingerprints import file_sha256
from maxrl_rs.options import missing_path

#: Sampling settings a GGUF's metadata (or transformers' defaults) may carry into generation_config.json
#: that would change what ``generate`` samples from; the trainer's log-probs assume plain temperature
#: sampling.
_SAMPLING_KEYS = ("repetition_penalty", "top_p", "top_k", "temperature", "do_sample", "typical_p", "min_p")
#: Cache entries this process has already named on stderr: a command that resolves the same file several
#: times (config check, tokenizer, weights) says where its model is once.
_announced: set[Path] = set()


def cache_root() -> Path:
    """``$MAXRL_CACHE/gguf`` or ``~/.cache/maxrl-rs/gguf``."""
    base = os.environ.get("MAXRL_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "maxrl-rs") / "gguf"


def cache_key(path: Path) -> str:
    """``<stem>-<first 16 hex digits of the file's SHA-256>``.

    Hashing reads the whole file (about 0.3 s per 100 MB here); a process hashes each unchanged file once
    (:func:`maxrl_rs.fingerprints.file_sha256`).
    """
    return f"{path.stem}-{file_sha256(path)[:16]}"


def is_gguf(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".gguf"


def gguf_model_dir(path: str | Path, *, cache: str | Path | None = None, log: Any = None) -> Path:
    """The HF model directory converted from GGUF file ``path`` (converting it on first use).

    Args:
        path: a ``.gguf`` file holding a causal LM and its tokenizer.
        cache: where converted models live (default :func:`cache_root`).
        log: called with one line saying where the model is (or is being written). Default: that line on
            stderr, once per converted model and process.

    Raises:
        ConfigError: the file does not exist or transformers cannot read it (the message names the file).
    """
    src = Path(path).expanduser()
    if not src.is_file():
        raise missing_path("model.path", path, "GGUF file")
    root = Path(cache) if cache is not None else cache_root()
    dest = root / cache_key(src)
    say = log if log is not None else _once_to_stderr(dest)
    if (dest / "config.json").is_file():
        say(f"model.path: using {src.name} converted earlier, in {dest}")
        return dest
    say(f"model.path: converting {src} to a safetensors model directory in {dest} (once)")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=root))
    try:
        convert_gguf(src, tmp)
        try:
            tmp.rename(dest)
        except OSError:  # another process finished the same conversion first: keep theirs
            if not (dest / "config.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _once_to_stderr(dest: Path) -> Any:
    """A logger printing to stderr unless this process has already named ``dest``."""

    def say(line: str) -> None:
        if dest not in _announced:
            _announced.add(dest)
            print(line, file=sys.stderr, flush=True)

    return say


def convert_gguf(src: Path, out: Path) -> None:
    """Write GGUF file ``src`` as a float32 safetensors model, its tokenizer and chat template to ``out``.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so its weights are copied into a fresh
    model of the same config, which is saved instead. Sampling settings are stripped from the generation
    config (see ``_SAMPLING_KEYS``).
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": src.name}
    try:
        loaded = AutoModelForCausalLM.from_pretrained(src.parent, dtype=torch.float32, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(src.parent, **kwargs)
        config = AutoConfig.from_pretrained(src.parent, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ConfigError(f"model.path: transformers cannot read GGUF file {str(src)!r}: {e}") from e
    config.dtype = torch.float32
    with torch.device("meta"):
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), assign=True, strict=True)
    fresh.tie_weights()
    fresh.generation_config = loaded.generation_config
    for key in _SAMPLING_KEYS:
        if hasattr(fresh.generation_config, key):
            setattr(fresh.generation_config, key, None)
    if tokenizer.pad_token_id is not None:
        fresh.generation_config.pad_token_id = tokenizer.pad_token_id
    fresh.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "maxrl_source.json").write_text(
        json.dumps({"gguf": str(src.resolve()), "size": src.stat().st_size}, indent=1) + "\n"
    )
