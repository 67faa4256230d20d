"""What trained networks show: statistics, failures, gradient checks, traces and checks.

One idea per module; each is imported by its full name (this package imports
none of them):

* :mod:`.statistics`: Wilson intervals, the exact binomial test, quantiles;
* :mod:`.summary`: the summary every run reports, from a ``TrainResult``;
* :mod:`.failures`: what an unsolved network answers, in words;
* :mod:`.gradcheck`: the backward pass against central differences;
* :mod:`.trace`: one update with every number labelled by its equation;
* :mod:`.checks`: does a trained network show the structure the papers describe
  (one module per task family).

Analysis reads networks and training results; it imports the trainer and the
paper's modules, never the experiments or the command line.
"""
