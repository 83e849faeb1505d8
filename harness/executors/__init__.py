"""Where a sweep's model-build groups run, beyond the in-process sweep and ``run --gpus``.

``cluster.ClusterSweep`` is the one driver: it submits each group of the suite not yet in
results.json, writes every record as its group finishes, records lost groups and submits them once
more, and cancels what is in flight on Ctrl-C. A backend (``cluster.Backend``) is what differs:
``ray_backend.RayBackend`` today; a Slurm backend (submitit's ``AutoExecutor``: ``submit`` a
``measure_group`` job, ``done()``/``result()`` to collect, ``cancel`` on Ctrl-C) would be one more
file of the same four methods.
"""
