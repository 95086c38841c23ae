"""``python -m pipelines`` is the ``scanner`` command."""

from .cli import main

main(prog_name="scanner")
