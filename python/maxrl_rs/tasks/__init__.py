"""Training tasks: built-in generated ones (``maze``, ``arithmetic``, ``word_problems``), GSM8K test problems
(``gsm8k``) and user JSONL data (``jsonl``)."""

from maxrl_rs.tasks.arithmetic import ArithmeticOptions, ArithmeticTask
from maxrl_rs.tasks.base import Example, Graded, PromptSampler, Task, register_task, task_class, task_names
from maxrl_rs.tasks.gsm8k import Gsm8kOptions, Gsm8kTask
from maxrl_rs.tasks.jsonl import JsonlOptions, JsonlTask
from maxrl_rs.tasks.maze import MazeOptions, MazeTask
from maxrl_rs.tasks.word_problems import WordProblemsOptions, WordProblemsTask

__all__ = [
    "ArithmeticOptions",
    "ArithmeticTask",
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
