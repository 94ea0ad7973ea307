"""Fuzzing the command line: every drawn override list either runs to completion or stops
with exit code 2, one line on stderr and nothing written.

Override lists are drawn for every available experiment (``experiments.available()``, so
new experiments are covered when they land): a cheap valid base (tiny sizes) plus 1-3
mutations: unknown and misspelt keys, wrong types, lists for scalars and scalars for lists,
NaN, inf, huge, negative and tiny numbers, empty, blank, long and non-ASCII strings, raw
text, +/++/~ prefixes, duplicate keys and group overrides; single runs and sweeps (comma
lists, range, choice). Most draws are rejected by the checks; the accepted ones run at
tiny sizes. They go through ``experiments.run.cli``, the command line's own entry point,
in this process (a few as real subprocesses): 150 single runs, 60 sweeps and 3 processes.
The draws are fixed (derandomized) so that CI runs the same cases in the same time;
NNLAB_FUZZ_EXAMPLES=N draws N fresh ones per test (3,000 of them found nothing more). An
experiment runs its cheapest part (CHEAP): a new one should add its line there.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import experiments
from experiments import run as runner
from experiments.results import RESULTS
from experiments.schema import TOP_SCHEMA

try:  # the tiny sizes of every experiment (the contract test keeps one per experiment)
    from test_contract import TINY
except ImportError:  # pragma: no cover
    TINY = {}

# The cheapest part of each experiment at tiny sizes; a new experiment gets its TINY sizes
# and the first of its parts until it adds a line here.
CHEAP = {
    "article_example": ["exp.part=network"],
    "boolean_width": ["exp.part=[construction,theory]", "exp.n=[2]"],
    "local_minima": ["exp.part=bruteforce", "exp.hidden=[sigmoid]"],
    "deep_vs_flat": ["exp.part=flatten", "exp.flatten_depths=[1]", "exp.flatten_max_width=2"],
    "universal_approximation": ["exp.part=construction", "exp.cons_d=[1]"],
    "depth_separation": ["exp.part=regions", "exp.regions_depths=[1]", "exp.regions_widths=[2]", "exp.regions_draws=1"],
}
NAMES = experiments.available()
EXAMPLES = int(os.environ.get("NNLAB_FUZZ_EXAMPLES", 0))


def base(name: str) -> list[str]:
    """+exp=name, tiny sizes and the cheapest part: a valid override list."""
    module = experiments.get(name)
    cheap = CHEAP.get(name)
    if cheap is None:
        part = module.SCHEMA.get("part")
        cheap = [f"exp.part={part.choices[0]}"] if part is not None and part.choices else []
    return [f"+exp={name}", "progress=false", *TINY.get(name, []), *cheap]


NAN, INF = float("nan"), float("inf")
ODD_VALUES = [
    None, True, False, -1, 0, 1, 2, 3, -(2**63) - 1, -(2**63), 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 10**30,
    NAN, INF, -INF, 0.0, -0.0, 5e-324, 1e-300, 0.5, -0.5, 1.5, 1e30, 1e308, -1e308,
    "", " ", "\t", "ü", "日本語", "Zürich", "a b", "null", "true", "1", "1e3", "nan", "x" * 300, "${seed}",
    [], [1], [2, 3], [0.5] * 12, [NAN], [None], ["a"], [[1]], [1, "a"], [2**63], {"a": 1}, {},
]
RAW_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def render(value) -> str:
    """A Python value in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{render(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def misspell(key: str, how: int, at: int) -> str:
    at = at % max(len(key), 1)
    return [key[:at] + key[at + 1:],                       # a letter missing
            key[:at] + key[at] * 2 + key[at + 1:],         # a letter doubled
            key[:at] + key[at + 1: at + 2] + key[at] + key[at + 2:],  # two letters swapped
            key.upper(),
            key + "s"][how % 5]


@st.composite
def values(draw):
    """A value as override text: an odd Python value, an integer or float from hypothesis's
    edge cases, or raw text."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        return render(draw(st.sampled_from(ODD_VALUES)))
    if kind == 6:
        return render(draw(st.integers(-(2**70), 2**70)))
    if kind == 7:
        return render(draw(st.floats(allow_nan=True, allow_infinity=True)))
    return draw(RAW_TEXT)  # unquoted: the parser's turn


@st.composite
def mutation(draw, name: str) -> list[str]:
    """One or two overrides that change the base."""
    schema = experiments.get(name).SCHEMA
    keys = [f"exp.{k}" for k in schema if k != "part"] + list(TOP_SCHEMA)
    kind = draw(st.integers(0, 11))
    key = draw(st.sampled_from(keys))
    if kind <= 5:                                          # a known key, an odd value
        return [f"{key}={draw(values())}"]
    if kind == 6:                                          # a misspelt key
        return [f"{misspell(key, draw(st.integers(0, 4)), draw(st.integers(0, 50)))}={draw(values())}"]
    if kind == 7:                                          # an unknown key
        other = draw(st.sampled_from(["exp.zz", "exp.", "colour", "hydra.nope", "exp.n.m", "Exp.lr", "exp.part.x"]))
        return [f"{other}={draw(values())}"]
    if kind == 8:                                          # +, ++ or ~
        prefix = draw(st.sampled_from(["+", "++", "~"]))
        return [f"{prefix}{key}" + ("" if prefix == "~" and draw(st.booleans()) else f"={draw(values())}")]
    if kind == 9:                                          # the same key twice
        return [f"{key}={draw(values())}", f"{key}={draw(values())}"]
    if kind == 10:                                         # the part: never a valid new one (cost)
        return [f"exp.part={draw(st.sampled_from(['', 'all', '[]', '[nope]', 'null', '1', 'é', '[[a]]']))}"]
    group = draw(st.sampled_from([f"+exp={name}", f"exp={name}", "~exp", "+exp=nope", "+exp=[a,b]", "+exp=''"]))
    return [group]


@st.composite
def single_runs(draw):
    name = draw(st.sampled_from(NAMES))
    extra = [o for _ in range(draw(st.integers(1, 3))) for o in draw(mutation(name))]
    return base(name) + extra


@st.composite
def sweeps(draw):
    """-m with one or two swept keys of two values each (at most 4 jobs), and mutations."""
    name = draw(st.sampled_from(NAMES))
    schema = experiments.get(name).SCHEMA
    keys = [f"exp.{k}" for k in schema if k != "part"] + list(TOP_SCHEMA)
    swept = []
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True)):
        form = draw(st.integers(0, 3))
        if form <= 1:
            swept.append(f"{key}={draw(values())},{draw(values())}")
        elif form == 2:
            swept.append(f"{key}=range({draw(st.integers(-2, 2))},{draw(st.integers(-1, 3))})")
        else:
            swept.append(f"{key}=choice({draw(values())},{draw(values())})")
    extra = [o for _ in range(draw(st.integers(0, 2))) for o in draw(mutation(name))]
    return ["-m", *base(name), *swept, *extra]


def outcome(argv: list[str], directory: Path, monkeypatch, capsys) -> tuple[int, list[str], str]:
    """Run the command line in this process, in ``directory``: (exit code, stderr lines, stdout)."""
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.chdir(directory)
        m.setattr(sys, "argv", ["experiments.run", *argv])
        try:
            runner.cli()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, [line for line in out.err.splitlines() if line.strip()], out.out


def check_outcome(argv, code, err, out, directory: Path, stats: dict):
    """Exit 2, one line, nothing written; or exit 0 with a results file per job."""
    assert code in (0, 2), (argv, code, err[-5:])
    if code == 2:
        assert len(err) == 1 and err[0].startswith("error: "), (argv, err)
        assert out.strip() == "", (argv, out[-500:])
        assert not list(directory.iterdir()), (argv, sorted(map(str, directory.rglob("*")))[:5])
        stats["rejected"] += 1
    else:
        results = list(directory.rglob(RESULTS))
        assert results, (argv, err[-5:])
        if "-m" not in argv:
            assert len(results) == 1
        stats["completed"] += 1
        stats["jobs"] += len(results)


@pytest.fixture(scope="module")
def stats():
    counts = {"rejected": 0, "completed": 0, "jobs": 0}
    yield counts
    print(f"\nfuzzed command lines: {counts}")


FUZZ = dict(deadline=None, derandomize=not EXAMPLES, database=None,  # NNLAB_FUZZ_EXAMPLES: fresh draws
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large, HealthCheck.filter_too_much])


def run_and_check(argv, monkeypatch, capsys, stats) -> None:
    """Run ``argv`` in process in a new directory and check what it left there."""
    with tempfile.TemporaryDirectory() as tmp:
        code, err, out = outcome(argv, Path(tmp), monkeypatch, capsys)
        check_outcome(argv, code, err, out, Path(tmp), stats)


@settings(max_examples=EXAMPLES or 150, **FUZZ)
@given(argv=single_runs())
def test_fuzzed_single_runs_complete_or_stop_with_one_line_and_no_file(argv, monkeypatch, capsys, stats):
    run_and_check(argv, monkeypatch, capsys, stats)


@settings(max_examples=EXAMPLES or 60, **FUZZ)
@given(argv=sweeps())
def test_fuzzed_sweeps_complete_or_stop_with_one_line_and_no_file(argv, monkeypatch, capsys, stats):
    run_and_check(argv, monkeypatch, capsys, stats)


@settings(max_examples=EXAMPLES or 3, **FUZZ)
@given(argv=st.one_of(single_runs(), sweeps()))
def test_fuzzed_command_lines_as_real_processes(argv):
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "experiments.run", *argv], cwd=tmp, capture_output=True,
                              text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
        err = [line for line in done.stderr.splitlines() if line.strip()]
        check_outcome(argv, done.returncode, err, "" if done.returncode == 0 else done.stdout, Path(tmp),
                      {"rejected": 0, "completed": 0, "jobs": 0})


@pytest.mark.parametrize("name", NAMES)
def test_every_fuzz_base_is_a_valid_cheap_run(name, tmp_path, monkeypatch):
    """The base the mutations start from is accepted (a renamed key would make every case a
    rejection and the fuzzer blind to runs), and runs one or two cheap parts."""
    monkeypatch.chdir(tmp_path)
    [job] = runner.plan(base(name)).jobs
    assert isinstance(job.config["exp"]["part"], str) or len(job.config["exp"]["part"]) <= 2


def test_the_fuzzer_draws_both_outcomes(monkeypatch, capsys, tmp_path):
    """The strategies reach both sides: a base alone runs, a bad value is rejected."""
    name = NAMES[0]
    stats = {"rejected": 0, "completed": 0, "jobs": 0}
    for i, argv in enumerate([base(name), base(name) + ["seed=-1"], ["-m", *base(name), "seed=0,1"]]):
        directory = tmp_path / str(i)
        directory.mkdir()
        code, err, out = outcome(argv, directory, monkeypatch, capsys)
        check_outcome(argv, code, err, out, directory, stats)
    assert stats == {"rejected": 1, "completed": 2, "jobs": 3}
