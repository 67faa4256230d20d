"""One module per subcommand of the ``backprop86`` command line (see :mod:`backprop86.cli`)."""
