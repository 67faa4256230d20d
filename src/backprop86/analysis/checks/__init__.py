"""Checks: does a trained network show the structure the 1986 papers describe?

One module per task family; each registers its checks (:mod:`.base`) when this
package imports it:

========================  ===================================================================
``mirror_antisymmetry``   symmetry (Nature Fig. 1, PDP Fig. 9): ``w_i = −w_{n+1−i}`` into each
                          hidden unit; residual ``max_i |w_i + w_{n+1−i}| / max_i |w_i|`` < 5 %
``ratio_124``             symmetry: the side magnitudes stand 1 : 2 : 4 (each within ±15 %)
``count_code``            parity (PDP Table 3): which hidden units are on depends only on the
                          number of on inputs, and the on-sets are nested, monotone in that count
``distinct_codes``        encoders (PDP Tables 5, 7): every pattern gets its own hidden code
``carry_units``           addition (PDP Fig. 10): hidden units that compute the carry bits
``local_minimum_11_11``   addition: every sum right except 11 + 11 (PDP's local minimum)
``three_xors``            negation (PDP Fig. 12): each output depends on the flag and its own
                          data bit only, i.e. three separate XORs
``one_place_per_step``    shift register (PDP pp. 354-357): each unit listens only to its
                          neighbour one place along the shift, with wrap-around
``tc_field_kind``         T–C (PDP Fig. 15): the shared 3×3 field is of kind A on-centre, B bar,
                          C diagonal bar or D compactness detector, by its weights' signs
``tc_inhibitory``         T–C: the shared field is mainly inhibitory (its weights sum below 0)
``family_units``          family trees (Nature Fig. 4): units for nationality, generation and
                          branch of the family among the person1 encoding
========================  ===================================================================

An experiment lists the checks to run in ``checks = [...]``; a claim of kind
``check`` (:mod:`backprop86.experiments.claims`) is judged on one of them.
"""

from __future__ import annotations

from backprop86.analysis.checks import (
    addition,
    encoders,
    family,
    fields,
    negation,
    parity,
    recurrent,
    symmetry,
)
from backprop86.analysis.checks.base import CHECKS, ON, CheckResult, register, run_checks

__all__ = ["CHECKS", "ON", "CheckResult", "register", "run_checks"]

#: The family modules (imported for their registrations).
FAMILIES = (addition, encoders, family, fields, negation, parity, recurrent, symmetry)
