"""Maze navigation: find a path from S (top-left) to G (bottom-right) of a random maze.

Mazes are randomised Prim's mazes on an odd ``size × size`` grid: cells sit at even (row, column), the
odd positions between them are walls or carved passages, and there is no outer wall (leaving the grid is
as wrong as entering a wall). A perfect maze has exactly one path between any two cells, found by BFS
for the SFT warm-start.

Prompt tokens are the grid cells row by row, each row ended by ``<nl>``, then ``<sep>``; the response is
moves ``UP DOWN LEFT RIGHT`` ended by ``DONE`` (and EOS). The reference is the grid as text rows joined by
``"\\n"``, graded by ``maxrl_rs.grade(..., verifier="maze")``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError
from maxrl_rs.models import word_level_tokenizer
from maxrl_rs.tasks.base import SFT_STREAM, Example, GeneratedTask, register_task

WALL, OPEN, START, GOAL = "#", ".", "S", "G"
NEWLINE, SEP = "<nl>", "<sep>"
MOVES = {"UP": (-1, 0), "DOWN": (1, 0), "LEFT": (0, -1), "RIGHT": (0, 1)}
DONE = "DONE"


@dataclass
class MazeOptions:
    """``[task.maze]``: ``size`` is the grid side including the walls between cells (odd, >= 3)."""

    size: int = 7


def prim_maze(size: int, rng: np.random.Generator) -> list[str]:
    """Randomised Prim's maze as text rows; S at (0, 0), G at (size − 1, size − 1)."""
    if size < 3 or size % 2 == 0:
        raise ConfigError(f"task.maze.size must be odd and >= 3, got {size}")
    grid = [[WALL] * size for _ in range(size)]
    cells = (size + 1) // 2
    first = (2 * int(rng.integers(cells)), 2 * int(rng.integers(cells)))
    grid[first[0]][first[1]] = OPEN
    frontier: list[tuple[int, int, int, int]] = []  # (passage row, col, cell row, col)

    def add_frontier(r: int, c: int) -> None:
        for dr, dc in MOVES.values():
            nr, nc = r + 2 * dr, c + 2 * dc
            if 0 <= nr < size and 0 <= nc < size and grid[nr][nc] == WALL:
                frontier.append((r + dr, c + dc, nr, nc))

    add_frontier(*first)
    while frontier:
        i = int(rng.integers(len(frontier)))
        frontier[i], frontier[-1] = frontier[-1], frontier[i]
        pr, pc, r, c = frontier.pop()
        if grid[r][c] == WALL:
            grid[pr][pc] = grid[r][c] = OPEN
            add_frontier(r, c)
    grid[0][0], grid[size - 1][size - 1] = START, GOAL
    return ["".join(row) for row in grid]


def shortest_path(rows: list[str]) -> list[str]:
    """BFS moves from S to G (a perfect maze has just one path); raises if G is unreachable."""
    h, w = len(rows), len(rows[0])
    start = next((r, c) for r in range(h) for c in range(w) if rows[r][c] == START)
    prev: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if rows[r][c] == GOAL:
            moves: list[str] = []
            node = (r, c)
            while prev[node] is not None:
                node, move = prev[node]  # type: ignore[misc]
                moves.append(move)
            return moves[::-1]
        for move, (dr, dc) in MOVES.items():
            nxt = (r + dr, c + dc)
            if 0 <= nxt[0] < h and 0 <= nxt[1] < w and rows[nxt[0]][nxt[1]] != WALL and nxt not in prev:
                prev[nxt] = ((r, c), move)
                queue.append(nxt)
    raise ValueError("maze has no path from S to G")


def maze_example(rows: list[str], example_id: str) -> Example:
    prompt = " ".join([tok for row in rows for tok in (*row, NEWLINE)] + [SEP])
    return Example(
        id=example_id,
        prompt=prompt,
        reference="\n".join(rows),
        verifier="maze",
        solution=" ".join([*shortest_path(rows), DONE]),
    )


@register_task
class MazeTask(GeneratedTask[list[str]]):
    """Random Prim's mazes; training mazes never equal a held-out maze (the streams are also seeded apart)."""

    name = "maze"
    Options = MazeOptions
    sft_steps = 300

    def _draw(self, rng: np.random.Generator) -> list[str]:
        return prim_maze(self.options.size, rng)

    def _identity(self, problem: list[str]) -> str:
        return "\n".join(problem)

    def _example(self, problem: list[str], example_id: str) -> Example:
        return maze_example(problem, example_id)

    def sft_example(self, index: int) -> Example:
        return self._outside_eval(SFT_STREAM, index, f"sft-{index}")

    def _exhausted(self) -> str:
        return f"task.maze.size={self.options.size} has too few distinct mazes besides the held-out set"

    @property
    def builtin_model(self) -> bool:
        return True

    def build_tokenizer(self) -> Any:
        return word_level_tokenizer([WALL, OPEN, START, GOAL, NEWLINE, SEP, *MOVES, DONE], join=" ")

    @property
    def max_new_tokens(self) -> int:
        # The unique path visits each open cell at most once: at most 2·cells² − 2 moves, then DONE and EOS.
        cells = (self.options.size + 1) // 2
        return 2 * cells * cells

    def prompt_ids(self, example: Example, tokenizer: Any) -> list[int]:
        return [tokenizer.bos_token_id, *tokenizer(example.prompt, add_special_tokens=False)["input_ids"]]
