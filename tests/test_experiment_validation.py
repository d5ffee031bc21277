"""Experiment files and device names: every malformed value is refused at load time with the file, the
key and the expected form in the message; device names resolve through the one model registry."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.devices import MODELS, VTEAM, make_device, resolve_device
from cosim.experiment import Experiment
from cosim.netlist.description import check_device_name



def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, exc, words", [
    ('[array]\nrows = 2\ncols = 2\n[steps]\nkind = "read"\n', TypeError,
     r"steps must be an array of tables, written as \[\[steps\]\] sections .*; got a table \(\[steps\]\)"),
    ('[array]\nrows = 2\ncols = 2\nsteps = [1, 2]\n', ValueError, r"\[array\]: unknown key\(s\) \['steps'\]"),
    ('steps = [1, 2]\n[array]\nrows = 2\ncols = 2\n', TypeError,
     r"steps\[0\] must be a table with a kind \(a \[\[steps\]\] section\); got int 1"),
    ('[array]\nrows = "8"\ncols = 2\n', TypeError, r"\[array\] rows must be an integer >= 1; got str '8'"),
    ('[array]\nrows = 0\ncols = 2\n', ValueError, r"\[array\] rows must be an integer >= 1; got 0"),
    ('[array]\nrows = 2\ncols = 2.5\n', TypeError, r"\[array\] cols must be an integer"),
    ('[array]\nrows = 2\ncols = 2\nr_wl = -1.0\n', ValueError, r"\[array\] r_wl must be >= 0 \(ohm\)"),
    ('[array]\nrows = 2\ncols = 2\nr_bl = nan\n', ValueError, r"\[array\] r_bl must not be NaN"),
    ('[array]\nrows = 2\ncols = 2\ncell = "2T2R"\n', ValueError, r'\[array\] cell must be "1R" or "1T1R"'),
    ('[array]\nrows = 2\ncols = 2\ndevice = "Normal"\n', ValueError, r"\[array\] device: unknown device model 'Normal'"),
    ('[array]\nrows = 2\ncols = 2\ndevice = "DeviceArray"\n', ValueError, "unknown device model 'DeviceArray'"),
    ('[array]\nrows = 2\ncols = 2\ndevice = "VTEAM:Pt/Hf/Tx"\n', ValueError, "unknown VTEAM preset 'Pt/Hf/Tx'"),
    ('[array]\nrows = 2\ncols = 2\ndevice = 3\n', TypeError, "device must be a string 'MODEL' or 'MODEL:PRESET'"),
    ('engine = 5\n[array]\nrows = 2\ncols = 2\n', TypeError, r"\[engine\] must be a table"),
    ('[engine]\ntemperature = -3.0\n[array]\nrows = 2\ncols = 2\n', ValueError, r"\[engine\] temperature must be > 0"),
    ('[array]\nrows = 2\ncols = 2\n[program]\nscheme = "write-verify"\ntolerance = 2.0\n', ValueError,
     r"\[program\] tolerance must be a fraction in \(0, 1\)"),
    ('[array]\nrows = 2\ncols = 2\n[[steps]]\nkind = "bake"\nseconds = "1h"\n', TypeError,
     r"steps\[0\] \(bake\) seconds must be a real number \(s\); got str '1h'"),
    ('[array]\nrows = 2\ncols = 2\n[[steps]]\nkind = "cycle"\nn = 10000000000000000000\n', ValueError,
     r"steps\[0\] \(cycle\) n must be <= 9223372036854775807"),
    ('[array]\nrows = 2\ncols = 2\n[[steps]]\nkind = "cycle"\nn = 1.5\n', TypeError, r"steps\[0\] \(cycle\) n must be an integer"),
    ('[array]\nrows = 2\ncols = 2\n[[steps]]\nkind = "read"\nvoltage = inf\n', ValueError,
     r"steps\[0\] \(read\) voltage must be finite"),
])
def test_malformed_experiment_files_name_the_file_the_key_and_the_form(tmp_path, body, exc, words):
    path = write(tmp_path, body)
    with pytest.raises(exc, match=words) as info:
        Experiment.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_non_utf8_file_names_the_file_and_the_byte(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[array]\nrows = 2\ncols = 2\n# température\n'.encode("latin-1"))
    with pytest.raises(ValueError, match=rf"experiment file '{path}' is not UTF-8 text \(byte 32: b'\\xe9'\)"):
        Experiment.load(path)


def test_a_valid_file_still_loads(tmp_path):
    path = write(tmp_path, '[engine]\ntemperature = 320\n[array]\nrows = 3\ncols = 2\ndevice = "VTEAM:Pt/Hf/Ti"\n'
                           '[[steps]]\nkind = "cycle"\nn = 5\n[[steps]]\nkind = "idle"\nseconds = 2\n')
    exp = Experiment.load(path)
    assert exp.temperature == 320.0 and [s["kind"] for s in exp.steps] == ["cycle", "idle"]
    eng, arr = exp.build()
    assert isinstance(arr.device, VTEAM) and arr.device.n == 6


# ----------------------------------------------------------------------------- one model registry
def test_one_registry_decides_what_a_device_model_is():
    assert resolve_device("VTEAM") == (VTEAM, None) and resolve_device("VTEAM:Pt/Hf/Ti") == (VTEAM, "Pt/Hf/Ti")
    assert set(MODELS) == {"VTEAM", "LinearIonDrift", "StanfordPKU", "DataDriven"}
    for name in ("Normal", "DeviceArray", "Nonidealities", "WeakResetHfOx", "vteam", ""):
        with pytest.raises(ValueError, match="unknown device model"):
            resolve_device(name)
        with pytest.raises(ValueError, match="unknown device model|device must be a string"):
            check_device_name(name)          # array descriptions use the same registry
    with pytest.raises(ValueError, match="unknown LinearIonDrift preset 'x'; known: default, seed003"):
        check_device_name("LinearIonDrift:x")
    dev = make_device("LinearIonDrift:seed003", 4, rng=0)
    assert dev.n == 4 and dev.cell_params["r_on"][0] == 1000.0      # the seed003 preset's R_on


_toml_values = st.sampled_from(['"x"', "-1", "0", "1.5", "nan", "inf", "-inf", "true", "[1, 2]", "{a = 1}",
                                "1979-05-27", "1e400", "99999999999999999999"])
_keys = st.sampled_from([
    ("[array]", "rows"), ("[array]", "cols"), ("[array]", "seed"), ("[array]", "r_wl"), ("[array]", "r_sense"),
    ("[array]", "device"), ("[array]", "cell"), ("[engine]", "temperature"), ("steps:bake", "seconds"),
    ("steps:bake", "kelvin"), ("steps:cycle", "n"), ("steps:read", "voltage"), ("[program]", "tolerance"),
])
# the values of _toml_values that are legitimate for each key (everything else must be refused)
VALID = {"seed": {"0", "99999999999999999999"}, "r_wl": {"0", "1.5"}, "r_sense": {"0", "1.5"},
         "temperature": {"1.5"}, "seconds": {"0", "1.5"}, "kelvin": {"1.5"}, "n": {"0"},
         "voltage": {"-1", "0", "1.5"}}


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=_keys, value=_toml_values)
def test_random_malformed_values_are_refused_naming_the_key(tmp_path, key, value):
    section, name = key
    array = {"rows": "2", "cols": "2"}
    lines = ["[engine]"] + ([f"{name} = {value}"] if section == "[engine]" else [])
    lines += ["[array]"] + [f"{k} = {v}" for k, v in array.items() if not (section == "[array]" and k == name)]
    if section == "[array]":
        lines.append(f"{name} = {value}")
    if section == "[program]":
        lines += ["[program]", 'scheme = "write-verify"', f"{name} = {value}"]
    if section.startswith("steps:"):
        lines += ["[[steps]]", f'kind = "{section[6:]}"', f"{name} = {value}"]
        if section == "steps:bake" and name == "kelvin":
            lines.append("seconds = 1.0")
    path = tmp_path / "exp.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        Experiment.load(path)
    except (ValueError, TypeError) as err:
        assert str(err).startswith(f"{path}: "), err
        assert name in str(err) or "TOML" in str(err), err       # invalid TOML is named as such
        return
    except MemoryError as err:                                   # 10^20 rows: refused with an estimate
        assert name in ("rows", "cols") and "needs about" in str(err) and str(err).startswith(f"{path}: ")
        return
    assert value in VALID.get(name, set()), f"{section} {name} = {value} was accepted"
