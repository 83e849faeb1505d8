"""Where a sweep's model-build groups are measured: one interface (``base.Backend``), one driver
(``harness.sweep.Sweep``) for all of them.

- ``in_process.InProcess``: this process (``tts-harness run``'s default and the pytest plugin's);
- ``local_gpus.LocalGpus``: a worker process per GPU of this host (``run --gpus``);
- ``ray_backend.RayBackend``: a Ray task per group (``run --ray``).

A Slurm backend (submitit's ``AutoExecutor``: ``submit`` an ``in_process.measure_group`` job,
``done()``/``result()`` in ``wait``, ``cancel`` on Ctrl-C) would be one more file of the same methods.
"""
