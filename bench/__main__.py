"""`python -m bench stats [--rows N] [--engines sqlite,postgres]`: prints figures and ratios."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from pathlib import Path

from bot.app import load_rules
from bot.config import Settings


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="which", required=True)
    stats = sub.add_parser("stats", help="/stats latency over N seeded submissions")
    stats.add_argument("--rows", type=int, default=2_000_000)
    stats.add_argument("--engines", default="sqlite,postgres")
    stats.add_argument(
        "--pg",
        default=os.environ.get(
            "SANGKIEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    campaign, catalog = load_rules(Settings())
    from bench.stats_bench import GOAL_MS, run

    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(
            run(args.engines.split(","), args.rows, campaign, catalog, Path(workdir), args.pg)
        )
    print(f"machine: {_machine()}")
    ratios = ", ".join(
        f"{r.engine} country {statistics.median(r.country_ms) / GOAL_MS:.2f}, "
        f"province {statistics.median(r.province_ms) / GOAL_MS:.2f}"
        for r in results
    )
    print(
        f"RESULT /stats p50 as a fraction of the {GOAL_MS:.0f} ms goal (lower is better): {ratios}"
    )


if __name__ == "__main__":
    main()
