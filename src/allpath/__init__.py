"""allpath: a computable, cited care pathway for childhood acute lymphoblastic leukemia.

allpath is decision support for clinicians, not a prescription. Every output shows its basis
(the rule, the inputs it saw and the section of the source it rests on) so that a clinician can
check it independently.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
