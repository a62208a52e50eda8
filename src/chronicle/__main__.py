"""``python -m chronicle`` runs the ``chronicle`` command."""

from chronicle.cli import main

main()
