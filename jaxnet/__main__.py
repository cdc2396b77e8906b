"""``python -m jaxnet``: the tour of the seeds' examples, and training from the command line."""

from jaxnet.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
