"""Training tasks: built-in generated ones (``maze``, ``arithmetic``, ``word_problems``), user data files
(``dataset``, and ``jsonl`` for JSON Lines of ``{prompt, answer, verifier?}``) and GSM8K test problems
(``gsm8k``, for evaluation)."""

from maxrl_rs.tasks.arithmetic import ArithmeticOptions, ArithmeticTask
from maxrl_rs.tasks.base import Example, Graded, PromptSampler, Task, register_task, task_class, task_names
from maxrl_rs.tasks.dataset import DatasetOptions, DatasetTask
from maxrl_rs.tasks.gsm8k import Gsm8kOptions, Gsm8kTask
from maxrl_rs.tasks.jsonl import JsonlOptions, JsonlTask
from maxrl_rs.tasks.maze import MazeOptions, MazeTask
from maxrl_rs.tasks.word_problems import WordProblemsOptions, WordProblemsTask

__all__ = [
    "ArithmeticOptions",
    "ArithmeticTask",
    "DatasetOptions",
    "DatasetTask",
    "Example",
    "Graded",
    "Gsm8kOptions",
    "Gsm8kTask",
    "JsonlOptions",
    "JsonlTask",
    "MazeOptions",
    "MazeTask",
    "PromptSampler",
    "Task",
    "WordProblemsOptions",
    "WordProblemsTask",
    "register_task",
    "task_class",
    "task_names",
]
