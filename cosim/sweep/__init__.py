"""cosim.sweep: parameter studies on Dask distributed, resumable Parquet results, and reports.

    from cosim.sweep import Sweep
    run = Sweep.from_toml("examples/studies/seed003_fig6.toml").run(client=None)   # local cluster
    print(run.ran, run.failed, run.table.num_rows)

Modules: ``spec`` (the TOML spec and its points), ``study`` (study functions, the registry),
``results`` (one Parquet row per point, the journal that makes sweeps resumable), ``runner`` (the
sweep on a cluster, progress), ``report`` (HTML and Markdown with the study's figure), ``studies``
(the seed papers' studies).
"""
from cosim.sweep.results import load_rows, load_table
from cosim.sweep.runner import Sweep, SweepRun
from cosim.sweep.spec import SweepSpec, load_spec, parse_spec
from cosim.sweep.study import REGISTERED, Study, resolve_study

__all__ = ["Sweep", "SweepRun", "SweepSpec", "load_spec", "parse_spec", "Study", "REGISTERED", "resolve_study",
           "load_rows", "load_table"]
