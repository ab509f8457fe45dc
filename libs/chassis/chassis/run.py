"""Start nameko with JSON logs from the first line: `python -m chassis.run run --config ... pkg.service`.

Same arguments as the `nameko` command. Two known deprecation warnings are
silenced by exact message (eventlet's bugfix-only notice, nameko's use of
pkg_resources), so that any other warning still shows, as a JSON log line.
"""
import sys
import warnings


def quiet_known_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated", category=UserWarning)


def main():
    quiet_known_warnings()
    from chassis import logs

    logs.configure()
    from nameko.cli.main import main as nameko_main

    nameko_main()


if __name__ == "__main__":
    sys.exit(main())
