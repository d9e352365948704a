"""The study's analysis: Student's t, paired differences by seed, thresholds, the generated verdict, adequacy."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aacn.report.study import (
    adequate_epochs,
    below_adequacy,
    format_below_adequacy,
    paired_difference,
    scored_top1,
    smallest_size_reaching,
    study_analysis,
    t_quantile_975,
    verdict,
)


def test_t_quantiles_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 4, 9, 29, 30, 31, 50, 200):
        assert t_quantile_975(df) == pytest.approx(float(stats.t.ppf(0.975, df)), abs=1e-4)
    with pytest.raises(ValueError, match="degrees of freedom must be >= 1, got 0"):
        t_quantile_975(0)


def _runs(values: dict[int, float]) -> list[dict]:
    return [{"seed": seed, "top1": top1} for seed, top1 in values.items()]


def test_paired_difference_pairs_by_seed_and_gives_the_t_interval() -> None:
    plain = _runs({0: 0.50, 1: 0.60, 2: 0.55, 3: 0.70})
    aa = _runs({3: 0.80, 1: 0.65, 0: 0.58, 2: 0.57, 9: 0.99})  # another order, and a seed plain lacks
    d = paired_difference(1000, plain, aa)
    assert d.seeds == [0, 1, 2, 3] and d.differences == pytest.approx([0.08, 0.05, 0.02, 0.10])
    mean = sum(d.differences) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in d.differences) / 3)
    assert d.mean == pytest.approx(mean)
    assert (d.low, d.high) == pytest.approx((mean - 3.1824 * sd / 2, mean + 3.1824 * sd / 2))
    assert d.excludes_zero
    single = paired_difference(10, _runs({0: 0.5}), _runs({0: 0.6}))
    assert single.low is None and not single.excludes_zero
    with pytest.raises(ValueError, match="no seed was run by both models at 10 training images"):
        paired_difference(10, _runs({0: 0.5}), _runs({1: 0.6}))


def test_thresholds_are_the_smallest_size_reaching_the_mean() -> None:
    means = {2000: 0.93, 250: 0.6, 500: 0.81, 1000: 0.79}
    assert smallest_size_reaching(means, 0.8) == 500, "the first size at or above, not the first from the top"
    assert smallest_size_reaching(means, 0.9) == 2000
    assert smallest_size_reaching(means, 0.95) is None


def test_the_verdict_is_generated_from_the_numbers() -> None:
    runs = {
        250: {"plain": _runs({0: 0.50, 1: 0.52, 2: 0.49}), "aa": _runs({0: 0.51, 1: 0.50, 2: 0.50})},
        2000: {"plain": _runs({0: 0.70, 1: 0.72, 2: 0.71}), "aa": _runs({0: 0.91, 1: 0.92, 2: 0.93})},
    }
    analysis = study_analysis(runs, "plain", "aa")
    text = analysis["verdict"]
    # differences 0.21, 0.20, 0.22: mean 0.21, sd 0.01, half-width 4.3027 * 0.01 / sqrt(3) = 0.0248
    assert text.startswith("At 2,000 training images aa scores higher than plain: +21.0 points (95% CI +18.5 to +23.5")
    assert "At 250 training images the 95% confidence interval of aa minus plain includes zero" in text
    assert "Mean test top-1 of plain: not 80% by N = 2,000 and not 90% by N = 2,000." in text
    assert "Mean test top-1 of aa: 80% at N = 2,000 and 90% at N = 2,000." in text
    assert analysis["thresholds"] == {"plain": {"0.8": None, "0.9": None}, "aa": {"0.8": 2000, "0.9": 2000}}
    same = {n: {"plain": by["plain"], "aa": by["plain"]} for n, by in runs.items()}
    assert study_analysis(same, "plain", "aa")["verdict"].startswith("At every training-set size the 95% confidence")
    one_seed = [paired_difference(250, _runs({0: 0.5}), _runs({0: 0.6}))]
    assert verdict("plain", "aa", one_seed, {"plain": {}, "aa": {}}).startswith("One seed per size")


def _diverged(seed: int) -> dict:
    return {"model": "aa", "seed": seed, "top1": None, "diverged": {"epoch": 4, "step": 79, "loss": "nan"}}


def test_a_diverged_run_scores_chance_and_its_pair_is_left_out_beside() -> None:
    runs = {
        250: {"plain": _runs({0: 0.50, 1: 0.52, 2: 0.49}), "aa": _runs({0: 0.51, 1: 0.50, 2: 0.50})},
        # without seed 2 the differences are 0.21 and 0.20; with it scored at 0.5, -0.21: the interval spans zero
        2000: {"plain": _runs({0: 0.70, 1: 0.72, 2: 0.71}), "aa": [*_runs({0: 0.91, 1: 0.92}), _diverged(2)]},
    }
    with pytest.raises(ValueError, match="the aa run of seed 2 diverged: give the chance level to score it"):
        study_analysis(runs, "plain", "aa")
    analysis = study_analysis(runs, "plain", "aa", chance=0.5)
    scored = analysis["paired_differences"][1]
    assert scored["seeds"] == [0, 1, 2] and scored["differences"] == pytest.approx([0.21, 0.20, -0.21])
    assert analysis["diverged"] == {"250": {"plain": [], "aa": []}, "2000": {"plain": [], "aa": [2]}}
    sensitivity = analysis["sensitivity"]
    assert sensitivity["left_out"] == {"2000": [2]}
    without = sensitivity["paired_differences"]
    assert [d["train_size"] for d in without] == [250, 2000]
    assert without[0] == analysis["paired_differences"][0], "sizes without a diverged run are unchanged"
    assert without[1]["seeds"] == [0, 1] and without[1]["differences"] == pytest.approx([0.21, 0.20])
    half = 12.7062 * math.sqrt(0.00005) / math.sqrt(2)  # sd of (0.21, 0.20) is sqrt(0.00005)
    assert (without[1]["low"], without[1]["high"]) == pytest.approx((0.205 - half, 0.205 + half))
    assert without[1]["low"] > 0, "without the pair, the interval excludes zero"
    text = analysis["verdict"]
    assert text.startswith("At every training-set size the 95% confidence interval"), "the verdict scores at chance"
    assert text.endswith(
        "Leaving out the pairs with a diverged run (N = 2,000: seed 2), the two analyses disagree: at 2,000 training "
        f"images, with diverged runs at chance +6.7 points, 95% CI {100 * scored['low']:+.1f} to "
        f"{100 * scored['high']:+.1f}, includes zero; without their pairs +20.5 points, 95% CI "
        f"{100 * (0.205 - half):+.1f} to {100 * (0.205 + half):+.1f}, excludes zero."
    )
    assert scored_top1(runs[2000]["aa"][2], 0.5) == 0.5 and scored_top1(runs[2000]["aa"][0], 0.5) == 0.91


def test_a_diverged_run_that_changes_nothing_is_said_so() -> None:
    runs = {
        500: {"plain": [*_runs({0: 0.50, 1: 0.52}), _diverged(2)], "aa": _runs({0: 0.51, 1: 0.50, 2: 0.53})},
        1000: {"plain": _runs({0: 0.50, 1: 0.52}), "aa": [_diverged(0), _diverged(1)]},  # no pair left here
    }
    analysis = study_analysis(runs, "plain", "aa", chance=0.5)
    assert analysis["sensitivity"]["left_out"] == {"500": [2], "1000": [0, 1]}
    assert [d["train_size"] for d in analysis["sensitivity"]["paired_differences"]] == [500]
    assert analysis["verdict"].endswith(
        "Leaving out the pairs with a diverged run (N = 500: seed 2; N = 1,000: seeds 0, 1) changes the conclusion "
        "at no size."
    )
    clean = study_analysis({500: {"plain": _runs({0: 0.5, 1: 0.6}), "aa": _runs({0: 0.6, 1: 0.6})}}, "plain", "aa")
    assert "sensitivity" not in clean and "diverged run" not in clean["verdict"]


def test_adequate_epochs_reads_every_run_at_each_rung() -> None:
    curves = {
        (250, "plain", 100): {7: 0.995, 11: 1.0, 15: 1.0},
        (2000, "plain", 100): {7: 0.93, 11: 0.991, 15: 1.0},
        (2000, "aa", 100): {7: 0.97, 11: 0.985, 15: 0.999},
    }
    assert adequate_epochs(curves, (8, 12, 16)) == 16, "the slowest run decides"
    curves[(2000, "aa", 100)][15] = 0.98
    assert adequate_epochs(curves, (8, 12, 16)) is None
    with pytest.raises(ValueError, match="no pilot run to read"):
        adequate_epochs({}, (8, 12, 16))


def test_the_runs_that_end_below_the_adequacy_level_are_named() -> None:
    """The fallback budget (no rung adequate) makes the report name every run whose last epoch's training top-1 is
    below 99%; a diverged run is reported as diverged, not here."""
    curves = {
        (1000, "aa", 3): {0: 0.6, 31: 0.988},
        (1000, "plain", 3): {0: 0.6, 31: 0.999},
        (250, "aa", 0): {0: 0.5, 15: 0.995, 31: 0.97},  # the last epoch counts, not the best
        (500, "aa", 2): {0: 0.5, 3: 0.6},  # diverged at epoch 4
        (500, "plain", 2): {},  # nothing logged
    }
    below = below_adequacy(curves, diverged={(500, "aa", 2)})
    assert below == [(250, "aa", 0, 0.97), (1000, "aa", 3, 0.988)]
    assert format_below_adequacy(below) == (
        "Runs that ended with a training top-1 (the last epoch's running accuracy) below 99%, the adequacy rule's "
        "level: aa seed 0 at N = 250 (97.0%); aa seed 3 at N = 1,000 (98.8%)."
    )
    assert format_below_adequacy([]).startswith("No run that did not diverge ended with a training top-1")


def test_a_test_after_the_last_epoch_is_plotted_at_the_last_epoch(tmp_path: Path) -> None:
    """Lightning logs a validation run after fit at the next epoch's index; curves put it at the last epoch."""
    from aacn.report.run_files import read_curves

    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "epoch,step,train/loss_epoch,train/top1,val/top1\n0,3,0.9,0.5,\n0,3,,,0.55\n1,7,0.4,0.8,\n2,8,,,0.75\n"
    )
    curves = read_curves(metrics)
    assert curves["train_loss"] == {0: 0.9, 1: 0.4}
    assert curves["val_top1"] == {0: 0.55, 1: 0.75}
