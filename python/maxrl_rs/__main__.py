"""``python -m maxrl_rs ...`` is the ``maxrl`` command (what ``torchrun -m maxrl_rs train ...`` starts)."""

from maxrl_rs.cli import main

if __name__ == "__main__":
    main()
