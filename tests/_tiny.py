"""Config overrides for a maze run small enough for a test (seconds on 2 CPU cores)."""

TINY = [
    "task.maze.size=5",
    "task.eval_size=8",
    "model.hidden_size=32",
    "model.num_layers=2",
    "model.num_heads=2",
    "model.intermediate_size=64",
    "sft.steps=150",
    "sft.batch_size=32",
    "sft.lr=3e-3",
    "train.prompts_per_step=4",
    "rollout.n=4",
    "eval.samples=2",
    "log.progress=false",
    "log.tensorboard=false",
]
