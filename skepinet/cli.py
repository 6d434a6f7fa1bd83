"""The ``skepinet`` command: ``skepinet label|demo|bench ...``."""

import sys

__all__ = ["main"]

USAGE = """usage: skepinet COMMAND [ARGS]

commands:
  label   label a file of texts in the browser, the epinet choosing what to ask
  demo    the label-efficiency demo (same as skepinet-demo)
  bench   the benchmarks (same as skepinet-bench)

Run 'skepinet COMMAND --help' for a command's options."""


def main(argv=None):
    """Dispatch to a subcommand; returns its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "label":
        from .label import main as run
    elif command == "demo":
        from .demo import main as run
    elif command == "bench":
        from .benchmarks import main as run
    else:
        print(f"skepinet: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    result = run(rest)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
