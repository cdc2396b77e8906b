"""``python -m graphviz_tools``: see ``graphviz_tools.cli``."""

from graphviz_tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
