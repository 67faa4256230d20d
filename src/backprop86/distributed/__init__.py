"""Sweeps on Dask: chunks of seeds trained by the same trainer on many processes or machines.

``backprop86 sweep ... --workers N`` (a :class:`distributed.LocalCluster` of ``N``
processes here) or ``--scheduler ADDRESS`` (a Dask cluster the user runs) splits
every grid point's seeds into chunks and trains each chunk as one batch of
replicas on a worker, through :func:`backprop86.experiments.runner.run`, the
function a local sweep calls. Replica ``r`` of a batch is the single run with
seed ``r`` (DESIGN §5), and every chunk of a point is trained by the engine the
whole point would have been (:func:`~.chunks.engine_for`), so joining the
chunks' per-seed numbers gives, seed for seed, the numbers of the point trained
as one batch; the summary, failure kinds, checks and verdicts are computed from
them by the same functions.

* :mod:`.chunks`: the plan: chunk size, chunks of every point, the engine of each point;
* :mod:`.work`: what a worker runs, :func:`~.work.train_chunk`, and what it sends back;
* :mod:`.join`: the chunks of a point joined into one :class:`~backprop86.experiments.runner.Run`;
* :mod:`.journal`: every finished chunk appended to a journal (JSON lines), for ``--resume``;
* :mod:`.cluster`: the Dask client: connect, submit, collect, retry, progress.

Dask is an optional extra (``pip install "backprop86[distributed]"``), imported
only by :mod:`.cluster`, and only when a sweep asks for a cluster.
"""
