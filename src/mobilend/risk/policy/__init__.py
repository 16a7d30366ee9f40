"""Credit policy as data: knock-outs, score bands, limit and price tables per scenario."""

from mobilend.risk.policy.loader import (
    FILES_DIR,
    STAGES,
    BandResult,
    KnockoutHit,
    PolicyBook,
    PolicyError,
    PolicyParams,
    PolicySet,
    UnknownProduct,
)

__all__ = [
    "FILES_DIR",
    "STAGES",
    "BandResult",
    "KnockoutHit",
    "PolicyBook",
    "PolicyError",
    "PolicyParams",
    "PolicySet",
    "UnknownProduct",
]
