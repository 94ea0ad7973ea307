"""``python -m experiments.bench [--quick] [--repeats R] [--only W1,W4] [--out DIR]``."""

import argparse
from pathlib import Path

from experiments.bench import OUT, run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench",
                                     description="nnlab.train against a hand-written JAX reference")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under a minute")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 3; quick 2)")
    parser.add_argument("--only", default=None, help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--out", default=str(OUT), help="directory for bench.csv")
    args = parser.parse_args(argv)
    only = [s.strip().upper() for s in args.only.split(",")] if args.only else None
    run(args.quick, args.repeats, only, Path(args.out))


if __name__ == "__main__":
    main()
