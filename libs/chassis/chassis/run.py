"""Start nameko with JSON logs from the first line: `python -m chassis.run run --config ... pkg.service`.

Same arguments as the `nameko` command (`run`, `test`, `shell`). Two known
deprecation warnings are silenced by exact message (see chassis/__init__), so
that any other warning still shows, as a JSON log line.
"""
import sys

from chassis import logs  # chassis/__init__ silences the two known warnings


def main():
    logs.configure()
    from nameko.cli.main import main as nameko_main

    nameko_main()


if __name__ == "__main__":
    sys.exit(main())
