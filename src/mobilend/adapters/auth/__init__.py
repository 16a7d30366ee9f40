"""Authentication: JWT sessions, staff users and roles, the hash-chained audit log."""

from mobilend.adapters.auth.audit import AuditLog, AuditRecord, InMemoryAuditStore, verify_chain
from mobilend.adapters.auth.randomness import SecretsRandom
from mobilend.adapters.auth.staff import (
    InMemoryStaffUserStore,
    Role,
    StaffDirectory,
    StaffUser,
    sees_full_pii,
)
from mobilend.adapters.auth.tokens import InMemoryRefreshTokenStore, JwtTokenIssuer

__all__ = [
    "AuditLog",
    "AuditRecord",
    "InMemoryAuditStore",
    "InMemoryRefreshTokenStore",
    "InMemoryStaffUserStore",
    "JwtTokenIssuer",
    "Role",
    "SecretsRandom",
    "StaffDirectory",
    "StaffUser",
    "sees_full_pii",
    "verify_chain",
]
