"""The operations console's desk: staff sessions, record look-ups, the manual review
queue, maker-checker and analytics, wired once per platform and shared by the console
pages (``mobilend.console``) and the staff API routes (``mobilend.api.ops_*``).

Staff sign in with a password (argon2; locked out after repeated failures); the console
keeps the staff access and refresh tokens in HttpOnly cookies, and the staff API takes
the same access token as a bearer token — or, for reads only, from the cookie, so the
console's charts can fetch the analytics endpoints.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mobilend.adapters.db.analytics_queries import SqlAnalyticsQueries
from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
from mobilend.adapters.db.backoffice_queries import SqlBackofficeQueries
from mobilend.adapters.db.operations_queries import SqlOperationsQueries
from mobilend.adapters.risk_versions import FileRiskVersions
from mobilend.app.analytics.ports import ScoreBaseline
from mobilend.app.analytics.reports import Analytics
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.resolutions import announce_approved
from mobilend.app.onboarding.ports import TokenPair
from mobilend.app.operations.approvals import ApprovalDesk, Executor
from mobilend.app.operations.backoffice import Backoffice
from mobilend.app.operations.executors import platform_executors
from mobilend.app.operations.ports import OperationsQueries, StaffActor
from mobilend.app.operations.promotions import ModelPromotionExecutor, PolicyPromotionExecutor
from mobilend.app.operations.settlement import SettlementExecutor
from mobilend.bootstrap.collections import build_platform_collections
from mobilend.bootstrap.operations import OperationsDesk, build_operations_desk
from mobilend.bootstrap.platform import Platform
from mobilend.config import Settings
from mobilend.domain.approvals import ApprovalKind, ApprovalRequest
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.ports import DecisionRecordStore

#: The ``kind`` claim of staff tokens (the staff API's too).
STAFF_KIND = "staff"
#: Cookies of a console session: the access token (sent to the staff API's reads as
#: well, so path ``/``) and the refresh token (only the console rotates it).
STAFF_ACCESS_COOKIE = "mobilend_staff"
STAFF_REFRESH_COOKIE = "mobilend_staff_refresh"
#: A referred application approved above this limit needs a second person.
SINGLE_PERSON_LIMIT = Money("5000")


@dataclass
class ConsoleDesk:
    platform: Platform
    operations: OperationsDesk
    backoffice: Backoffice
    approvals: ApprovalDesk
    analytics: Analytics
    refresher: SqlAnalyticsRefresher
    ops_queries: OperationsQueries
    single_person_limit: Money = SINGLE_PERSON_LIMIT
    _replay_engines: list[RiskDecisionEngine] = field(default_factory=list, repr=False)

    def now(self) -> dt.datetime:
        return self.operations.now()

    # -- decision replay ---------------------------------------------------------------
    def decision_records(self) -> DecisionRecordStore:
        from mobilend.bootstrap.risk import build_decision_records

        platform = self.platform
        return build_decision_records(platform.settings, db=platform.engine, vault=platform.vault)

    def replay_engine(self) -> RiskDecisionEngine:
        """Built on first use (it loads every model a record may name), then kept."""
        from mobilend.bootstrap.risk import build_replay_engine

        with _lock:
            if not self._replay_engines:
                self._replay_engines.append(build_replay_engine(self.platform.settings))
            return self._replay_engines[0]

    def today(self) -> dt.date:
        return self.operations.today()

    # -- sessions ----------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> tuple[StaffActor, TokenPair]:
        """Check the password (lock-out included); audit the sign-in either way."""
        desk, now = self.operations, self.now()
        name = username.strip().lower()[:64]
        try:
            user = desk.staff.authenticate(name, password, now)
        except Unauthenticated:
            desk.record(f"staff_login:{name}", "staff.sign_in_refused", f"staff_login:{name}")
            raise
        roles = tuple(sorted(r.value for r in user.roles))
        pair = desk.tokens.issue(user.user_id, STAFF_KIND, roles, now)
        desk.record(f"staff:{user.user_id}", "staff.signed_in", f"staff:{user.user_id}",
                    {"via": "console"})  # fmt: skip
        return StaffActor(user.user_id, user.username, frozenset(roles)), pair

    def staff_for(self, access_token: str) -> StaffActor:
        """The staff member behind an access token, with their roles as they are now (a
        revoked role or a disabled account stops at once)."""
        desk = self.operations
        claims = desk.tokens.verify_access(access_token, self.now())
        if claims.kind != STAFF_KIND:
            raise Unauthenticated("not a staff token")
        user = desk.staff_store.by_id(claims.subject)
        if user is None or not user.active:
            raise Unauthenticated("staff account disabled")
        return StaffActor(user.user_id, user.username, frozenset(r.value for r in user.roles))

    def refresh(self, refresh_token: str) -> tuple[StaffActor, TokenPair]:
        pair = self.operations.tokens.refresh(refresh_token, self.now())
        return self.staff_for(pair.access_token), pair

    def sign_out(self, staff: StaffActor, refresh_token: str) -> None:
        if refresh_token:
            with contextlib.suppress(Unauthenticated):
                self.operations.tokens.revoke(refresh_token, self.now())
        self.operations.record(staff.actor, "staff.signed_out", staff.actor)


def build_console_desk(platform: Platform) -> ConsoleDesk:
    operations = build_operations_desk(platform)
    lending = platform.lending
    backoffice = Backoffice(
        SqlBackofficeQueries(platform.engine), platform.vault, operations.audit, lending.clock
    )
    approvals = ApprovalDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        today=lending.today,
        audit=operations.audit,
        cost_caps=lending.cost_caps,
        refund_cash_account=operations.servicing.settings.refund_cash_account,
        executors={**platform_executors(), **feature_executors(platform.settings)},
        after_approval={ApprovalKind.SETTLEMENT: settlement_announcer(platform)},
    )
    analytics = Analytics(
        SqlAnalyticsQueries(platform.engine),
        lending.today,
        baseline=lambda: score_baseline(platform.settings),
    )
    return ConsoleDesk(
        platform,
        operations,
        backoffice,
        approvals,
        analytics,
        SqlAnalyticsRefresher(platform.engine),
        SqlOperationsQueries(platform.engine),
    )


def risk_versions(settings: Settings) -> FileRiskVersions:
    """The policy versions and models in force, kept beside the policy files."""
    from mobilend.bootstrap.risk import policy_book, risk_model_dir

    return FileRiskVersions(
        policy_book(settings).root.resolve(),
        settings.var_path / "models",
        risk_model_dir(settings),
        writable=settings.policy_dir is not None,
    )


def settlement_announcer(platform: Platform) -> Callable[[ApprovalRequest], None]:
    """The borrower is told of a settlement approved in the console as of one approved by
    a collections manager: an SMS through the conduct gate (collections built once, on
    first use)."""
    built: list[CollectionsDesk] = []
    lock = threading.Lock()

    def announce(done: ApprovalRequest) -> None:
        with lock:
            if not built:
                built.append(build_platform_collections(platform).desk)
        announce_approved(built[0], str(done.result["resolution_id"]))

    return announce


def feature_executors(settings: Settings) -> dict[ApprovalKind, Executor]:
    """Maker-checker kinds the features own: a settlement offer on a collection case, and
    policy and model promotion."""
    versions = risk_versions(settings)
    return {
        ApprovalKind.SETTLEMENT: SettlementExecutor(),
        ApprovalKind.POLICY_PROMOTION: PolicyPromotionExecutor(versions),
        ApprovalKind.MODEL_PROMOTION: ModelPromotionExecutor(versions),
    }


def score_baseline(settings: Settings) -> ScoreBaseline | None:
    """The champion model's training score distribution, from its manifest (no model is
    loaded); None when there is no model on disk."""
    from mobilend.bootstrap.risk import risk_model_dir
    from mobilend.risk.model.artifact import ModelArtifactError, read_manifest

    try:
        manifest, version = read_manifest(risk_model_dir(settings))
        bins = manifest["score_bins"]
        return ScoreBaseline(
            version[:12],
            tuple(float(e) for e in bins["edges"]),
            tuple(float(x) for x in bins["expected"]),
        )
    except (ModelArtifactError, KeyError, TypeError, ValueError, OSError):
        return None


_desks: dict[int, tuple[Platform, ConsoleDesk]] = {}
_lock = threading.Lock()


def console_desk_for(platform: Platform) -> ConsoleDesk:
    """One desk per platform, however many entry points ask for it."""
    with _lock:
        found = _desks.get(id(platform))
        if found is None or found[0] is not platform:
            desk = build_console_desk(platform)
            _desks[id(platform)] = (platform, desk)

            def forget() -> None:
                _desks.pop(id(platform), None)

            platform.closers.append(forget)
            return desk
        return found[1]
