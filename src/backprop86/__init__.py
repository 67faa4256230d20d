"""backprop86: backpropagation as in Rumelhart, Hinton & Williams (Nature, 1986), in readable NumPy.

>>> import numpy as np
>>> from backprop86 import Network, TrainConfig, make_task, train
>>> net = Network.mlp([2, 2, 1])
>>> result = train(net, make_task("xor"), TrainConfig(lr=0.5, momentum=0.9, max_sweeps=2000))

Importing the package loads NumPy only; figures import matplotlib when drawn.
"""

from backprop86.analysis.gradcheck import GradcheckReport, gradcheck
from backprop86.config import TrainConfig
from backprop86.errors import (
    Backprop86Error,
    ConfigError,
    DataError,
    DivergenceError,
    FileFormatError,
    ShapeError,
)
from backprop86.init import initialize, read_wts
from backprop86.network import Group, Network, Projection
from backprop86.tasks import Task, make_task
from backprop86.train import Trainer, TrainResult, train
from backprop86.version import __version__

__all__ = [
    "Backprop86Error",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "FileFormatError",
    "GradcheckReport",
    "Group",
    "Network",
    "Projection",
    "ShapeError",
    "Task",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "__version__",
    "gradcheck",
    "initialize",
    "make_task",
    "read_wts",
    "train",
]
