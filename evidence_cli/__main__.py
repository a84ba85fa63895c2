"""``python -m evidence_cli``."""

from evidence_cli.cli import main

# The guard matters: worker processes (forkserver/spawn) import the main module again.
if __name__ == "__main__":
    main()
