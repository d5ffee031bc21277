"""The ``cosim`` command: solve / export-spice numbers against Crossbar.read, the demo's figures, errors."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cosim.cli import main
from cosim.demo import DEMO_SIZE, DEMO_V_READ, circuit_section, demo_arrays
from cosim.solve.files import load_description

NETLISTS = os.path.join(os.path.dirname(__file__), "..", "netlists")


def printed_currents(text: str) -> np.ndarray:
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return np.array([[float(x) for x in line.split(",")] for line in rows])


def test_solve_default_inputs_equal_crossbar_read(capsys):
    path = os.path.join(NETLISTS, "small_1r.toml")
    assert main(["solve", path]) == 0
    xb, _ = load_description(path)
    expected = xb.read(np.full(8, 0.2))
    np.testing.assert_allclose(printed_currents(capsys.readouterr().out), expected[None, :], rtol=1e-10)


def test_solve_inputs_csv_and_out_file(tmp_path, capsys):
    path = os.path.join(NETLISTS, "broken_line.toml")
    rng = np.random.default_rng(0)
    V = rng.uniform(0, 0.3, (5, 16))
    np.savetxt(tmp_path / "in.csv", V, delimiter=",", fmt="%.17g", header="five input vectors")
    assert main(["solve", path, "--inputs", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]) == 0
    xb, _ = load_description(path)
    expected = xb.read(V)
    np.testing.assert_allclose(printed_currents(capsys.readouterr().out), expected, rtol=1e-10)
    assert np.array_equal(np.loadtxt(tmp_path / "out.csv", delimiter=","), expected)   # full precision


def test_export_spice_then_solve_the_deck(tmp_path, capsys):
    path = os.path.join(NETLISTS, "small_1r.toml")
    V = np.linspace(0.1, 0.3, 8)
    np.savetxt(tmp_path / "v.csv", V[None, :], delimiter=",", fmt="%.17g")
    deck = tmp_path / "small.cir"
    assert main(["export-spice", path, str(deck), "--inputs", str(tmp_path / "v.csv")]) == 0
    capsys.readouterr()
    assert main(["solve", str(deck), "--out", str(tmp_path / "out.csv")]) == 0   # the deck's own voltages
    xb, _ = load_description(path)
    assert np.array_equal(np.loadtxt(tmp_path / "out.csv", delimiter=",", ndmin=2), xb.read(V)[None, :])


def test_solve_general_deck_voltage_divider(tmp_path, capsys):
    deck = tmp_path / "div.cir"
    deck.write_text("divider\nVa a 0 DC 2.0\nVb b 0 DC 0\nR1 a m 1k\nR2 m b 3k\n.op\n.end\n")
    assert main(["solve", str(deck)]) == 0
    out = capsys.readouterr().out
    assert "columns: a,b" in out
    np.testing.assert_allclose(printed_currents(out), [[-5e-4, 5e-4]], rtol=1e-12)   # 2 V / 4 kohm


def test_console_script_runs():
    exe = shutil.which("cosim")
    command = [exe] if exe else [sys.executable, "-m", "cosim.cli"]
    done = subprocess.run(command + ["solve", os.path.join(NETLISTS, "ideal_wires.toml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(printed_currents(done.stdout), np.full((1, 16), 16 * 0.2 * 1e-4), rtol=1e-12)


@pytest.mark.parametrize("args,message", [
    (["solve", "no/such/file.toml"], "no such netlist"),
    (["export-spice", "no/such.cir", "out.cir"], "no such netlist"),
    (["solve", os.path.join(NETLISTS, "small_1r.toml"), "--inputs", "missing.csv"], "no such inputs file"),
])
def test_missing_files_exit_2(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_bad_inputs_exit_2(tmp_path, capsys):
    path = os.path.join(NETLISTS, "small_1r.toml")
    (tmp_path / "short.csv").write_text("0.1,0.2\n")
    assert main(["solve", path, "--inputs", str(tmp_path / "short.csv")]) == 2
    assert "each input row needs 8 values; got shape (1, 2)" in capsys.readouterr().err
    (tmp_path / "words.csv").write_text("a,b,c,d,e,f,g,h\n")
    assert main(["solve", path, "--inputs", str(tmp_path / "words.csv")]) == 2
    assert "inputs must be numbers" in capsys.readouterr().err
    (tmp_path / "two.csv").write_text("0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1\n" * 2)
    assert main(["export-spice", path, str(tmp_path / "x.cir"), "--inputs", str(tmp_path / "two.csv")]) == 2
    assert "export-spice takes one input vector" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text("rows = 2\ncols = 2\nshape = 3\n")
    assert main(["solve", str(tmp_path / "bad.toml")]) == 2
    assert "unknown key 'shape'" in capsys.readouterr().err
    (tmp_path / "bad.cir").write_text("title\nV1 a 0 1\nL1 a b 1u\n.end\n")
    assert main(["solve", str(tmp_path / "bad.cir")]) == 2
    assert "line 3: unsupported card 'L1'" in capsys.readouterr().err


def test_unknown_subcommand_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_demo_figures_against_closed_forms(tmp_path):
    lines = []
    results = circuit_section(tmp_path, lines.append)
    assert results["figure"].is_file() and results["figure"].stat().st_size > 10_000
    arrays = demo_arrays(np.random.default_rng(0))
    v = np.full(DEMO_SIZE, DEMO_V_READ)
    for cell, xb in arrays.items():
        r = results[cell]
        # ideal wires: I = V @ G_eff, G_eff = 1 / (1/G + r_on) for 1T1R
        g_eff = xb.conductances if cell == "1R" else 1.0 / (1.0 / xb.conductances + 1e3)
        assert r["ideal_total_A"] == pytest.approx(float((v @ g_eff).sum()), rel=1e-12)
        assert r["actual_total_A"] == pytest.approx(float(xb.read(v).sum()), rel=1e-10)
        assert 0 < r["actual_total_A"] < r["ideal_total_A"]          # IR drop only takes current away
        assert 0 < r["far_cell_v"] < DEMO_V_READ and r["conservation"] < 1e-10
        assert r["power_W"] == pytest.approx(DEMO_V_READ * r["actual_total_A"], rel=1e-9)  # P = V * I_in
    assert any(line.startswith("1R: IR-drop error") for line in lines)


def test_demo_command(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "[circuit] 1T1R: total sense current" in out
    assert (tmp_path / "demo" / "circuit_cell_voltages.png").is_file()
