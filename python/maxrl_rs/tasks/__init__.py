"""Training tasks: built-in generated ones (``maze``, ``arithmetic``) and user data files (``dataset``, and
``jsonl`` for JSON Lines of ``{prompt, answer, verifier?}``)."""

from maxrl_rs.tasks.arithmetic import ArithmeticOptions, ArithmeticTask
from maxrl_rs.tasks.base import Example, Graded, PromptSampler, Task, register_task, task_class, task_names
from maxrl_rs.tasks.dataset import DatasetOptions, DatasetTask
from maxrl_rs.tasks.jsonl import JsonlOptions, JsonlTask
from maxrl_rs.tasks.maze import MazeOptions, MazeTask

__all__ = [
    "ArithmeticOptions",
    "ArithmeticTask",
    "DatasetOptions",
    "DatasetTask",
    "Example",
    "Graded",
    "JsonlOptions",
    "JsonlTask",
    "MazeOptions",
    "MazeTask",
    "PromptSampler",
    "Task",
    "register_task",
    "task_class",
    "task_names",
]
