"""Setiono's bound, built: n-bit parity with floor(n/2) + 1 sigmoid hidden units (nnlab.parity)."""

import numpy as np
import pytest

import nnlab
from nnlab import boolean as B
from nnlab import parity as P


@pytest.mark.parametrize("n", range(1, 13))
def test_witness_computes_parity_on_every_input_with_margin(n):
    params = P.setiono_parity(n)
    k = n // 2 + 1
    assert P.setiono_width(n) == k
    assert [layer["W"].shape for layer in params] == [(n, k), (k, 1)]
    assert [layer["b"].shape for layer in params] == [(k,), (1,)]
    correct, margin = P.check(params, n)  # float64, nnlab.forward on all 2^n inputs
    assert correct
    assert P.MARGIN - 1e-9 < margin <= P.MARGIN + 1e-12  # exact value 0.4: outputs 0.9 and 0.1
    # the same, read independently: the truth table of the net at 1/2 is parity's
    out = np.asarray(nnlab.forward(params, B.inputs(n).astype(np.float64), "sigmoid", "sigmoid"))[:, 0]
    assert B.from_bits(out >= 0.5) == B.parity(n)
    np.testing.assert_allclose(out, np.where(B.bits(B.parity(n), n) == 1, 0.9, 0.1), atol=1e-9)


def test_float32_keeps_every_sign_up_to_twelve_bits():
    for n in range(1, 13):
        correct, margin = P.check(P.setiono_parity(n), n, np.float32)
        assert correct and margin > 0.39


def test_hidden_units_read_the_sum_with_distinct_slopes_and_the_margin_is_a_parameter():
    params = P.setiono_parity(8, margin=0.25)
    W1 = params[0]["W"]
    assert np.all(W1 == W1[0]) and len(set(W1[0])) == W1.shape[1]  # one slope per unit, the same for every input
    correct, margin = P.check(params, 8)
    assert correct and margin == pytest.approx(0.25, abs=1e-9)
    assert P.condition(8) < 1e4
    with pytest.raises(ValueError, match="margin"):
        P.setiono_parity(4, margin=0.5)


def test_experiment_rows_table_and_figure_line(compose_exp):
    """boolean_width: the theory part's setiono rows (witness checked on all inputs), the
    parity table against training, and the line in Figure 1."""
    import experiments.boolean_width as E

    exp = compose_exp("boolean_width", "exp.part=[theory,learned]", "exp.n=[2,3,4]", "exp.family=parity",
                      "exp.widths=[2,3]", "exp.restarts=2", "exp.steps=20").exp
    df = E.compute(exp, 0, False)
    s = df[(df.part == "theory") & (df.bound == "setiono")].set_index("n")
    assert s.width.tolist() == [2, 2, 3]
    assert s.verified.astype(bool).all() and s.verified_float32.astype(bool).all()
    assert (s.margin > 0.4 - 1e-9).all() and (s.margin_float32 > 0.39).all()
    summary = E.summarize(df, exp)
    table = next(t for title, t in summary.headline.items() if title.startswith("parity: Setiono"))
    assert table["Setiono width"].tolist() == [2, 2, 3] and table["threshold minimum"].tolist() == [2, 3, 4]
    assert {"training found", "training reached Setiono", "margin (float64)"} <= set(table.columns)
    tidy = summary.table.set_index(["quantity", "n"]).value
    assert tidy[("Setiono witness: correct on all inputs (float64)", 4)] == 1
    fig = E.figures(df, exp)["widths"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Setiono: floor(n/2)+1 sigmoid units (parity, built and verified)" in labels
