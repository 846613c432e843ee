"""``python -m carekey``: the same command line as ``carekey``."""

from carekey.cli.main import run

if __name__ == "__main__":
    run()
