"""What every experiment's end-to-end test checks the same way: its yaml against its
schema, a tiny config composed as the command line would, runs through the runner, and
the contract (summarize and figures on compute's own output)."""

from pathlib import Path

import matplotlib.pyplot as plt
import yaml

import experiments.run

CONF = Path(__file__).resolve().parents[1] / "conf"


def assert_yaml_keys_are_the_schema(name: str, schema: dict) -> None:
    """conf/exp/NAME.yaml holds exactly the schema's keys (and the experiment's name)."""
    conf = yaml.safe_load((CONF / "exp" / f"{name}.yaml").read_text())
    assert conf["name"] == name
    assert set(conf) - {"name"} == set(schema)


def compose_tiny(name: str, overrides: list[str]):
    """The config `+exp=NAME progress=false OVERRIDES...` as Hydra composes it."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"+exp={name}", "progress=false", *overrides])


def run_seeds(cfg, root: Path, seeds=(0, 1)) -> Path:
    """Each seed of cfg through the runner, in its own run directory root/seedS."""
    for seed in seeds:
        one = cfg.copy()
        one.seed = seed
        assert experiments.run.run(one, root / f"seed{seed}", verbose=False) is not None
    return root


def assert_contract(module, computed, exp, headlines: list[str], figures: set[str]):
    """compute's own output (no runner columns) feeds summarize and figures: one headline
    table per prefix in ``headlines`` (as often as it is listed), a tidy numeric table
    covering every part, exactly the named figures. -> the Summary, for further checks."""
    assert not {"seed", "exp", "run_dir"} & set(computed.columns)
    assert not [c for c in computed.columns if c.startswith("exp.")]
    assert set(computed.part) == set(module.PARTS) and computed.kind.notna().all()
    summary = module.summarize(computed, exp)
    assert all(sum(t.startswith(h) for t in summary.headline) == headlines.count(h) for h in headlines)
    assert len(summary.headline) == len(headlines)
    table = summary.table
    assert list(table.columns[:2]) == ["part", "quantity"] and table.value.dtype == float
    assert set(table.part) == set(module.PARTS)
    figs = module.figures(computed, exp)
    assert set(figs) == figures
    for fig in figs.values():
        plt.close(fig)
    return summary
