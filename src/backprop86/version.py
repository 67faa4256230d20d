"""The package's version, in a module of its own so that every layer can read it.

:mod:`backprop86.io` writes it into every result's manifest; importing the
package's front door (``backprop86/__init__.py``) from below would be an import
cycle.
"""

__version__ = "0.2.0"
