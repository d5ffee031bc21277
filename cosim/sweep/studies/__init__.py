"""The seed papers' studies, registered by name in :data:`cosim.sweep.study.REGISTERED`."""
